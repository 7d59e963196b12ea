package engine

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"supergraph/platform/apperr"
	"unicode/utf8"
)

// CheckJSON refuses request JSON that parsers could read in more than one
// way: text that is not UTF-8 (decoders substitute what they cannot read)
// and objects with a key twice (decoders keep one, a proxy in front may have
// judged the other). Malformed JSON is left to the caller's decoder, which
// says where it went wrong.
func CheckJSON(raw []byte) *RequestError {
	if !utf8.Valid(raw) {
		return NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest, "the request is not valid UTF-8")
	}
	if key, ok := duplicateKey(raw); ok {
		return NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest, "the request JSON has the key %q twice in one object", key)
	}
	return nil
}

// duplicateKey finds a key that occurs twice in one object of raw. It walks
// the tokens with an explicit stack, so deep nesting costs memory, not
// recursion.
func duplicateKey(raw []byte) (string, bool) {
	type frame struct {
		object, expectKey bool
		keys              map[string]struct{}
	}
	var stack []frame
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].expectKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			// io.EOF: done; anything else is malformed JSON: not ours to report.
			return "", false
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, frame{object: true, expectKey: true})
			case '[':
				stack = append(stack, frame{})
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
			continue
		case string:
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].expectKey {
				top := &stack[n-1]
				if _, seen := top.keys[t]; seen {
					return t, true
				}
				if top.keys == nil {
					top.keys = map[string]struct{}{}
				}
				top.keys[t] = struct{}{}
				top.expectKey = false
				continue
			}
		}
		valueDone()
	}
}

// checkQueryText refuses query text that is not UTF-8 or holds a NUL
// character: the lexer would stop at the NUL and ignore the rest, so the
// router would run another document than the one a proxy in front inspected.
func checkQueryText(q string) *RequestError {
	if !utf8.ValidString(q) {
		return NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest, "the query is not valid UTF-8")
	}
	if strings.IndexByte(q, 0) >= 0 {
		return NewRequestError(http.StatusBadRequest, apperr.CodeParseFailed, "the query contains a NUL character")
	}
	return nil
}
