package testgraph

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Upload is a file of a GraphQL multipart request as resolvers see it in
// their arguments: what arrived, digested.
type Upload struct {
	Filename    string
	ContentType string
	Size        int64
	SHA256      string
}

// readMultipart reads a GraphQL multipart request as a server of the spec
// does: operations, then map, then the files, each put in the variables at
// the places the map gives.
func readMultipart(r *http.Request) (gqlRequest, error) {
	var req gqlRequest
	mr, err := r.MultipartReader()
	if err != nil {
		return req, err
	}
	var places map[string][]string
	for i, field := range []string{"operations", "map"} {
		part, err := mr.NextPart()
		if err != nil {
			return req, fmt.Errorf("read %s: %w", field, err)
		}
		if part.FormName() != field {
			return req, fmt.Errorf("part %d is %q, want %q", i, part.FormName(), field)
		}
		var into any = &req
		if field == "map" {
			into = &places
		}
		if err := json.NewDecoder(part).Decode(into); err != nil {
			return req, fmt.Errorf("decode %s: %w", field, err)
		}
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return req, err
		}
		paths, ok := places[part.FormName()]
		if !ok {
			return req, fmt.Errorf("file %q is not in the map", part.FormName())
		}
		h := sha256.New()
		n, err := io.Copy(h, part)
		if err != nil {
			return req, err
		}
		up := Upload{Filename: part.FileName(), ContentType: part.Header.Get("Content-Type"), Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}
		for _, p := range paths {
			if err := place(req.Variables, p, up); err != nil {
				return req, err
			}
		}
		delete(places, part.FormName())
	}
	if len(places) > 0 {
		return req, fmt.Errorf("files in the map were not sent: %v", places)
	}
	return req, nil
}

// place sets the value at a spec path ("variables.files.0"), which must hold null.
func place(vars map[string]any, path string, v any) error {
	segs := strings.Split(path, ".")
	if len(segs) < 2 || segs[0] != "variables" {
		return fmt.Errorf("path %q is not in the variables", path)
	}
	var at any = vars
	for i, seg := range segs[1:] {
		last := i == len(segs)-2
		switch c := at.(type) {
		case map[string]any:
			cur, ok := c[seg]
			if !ok {
				return fmt.Errorf("path %q: no %q", path, seg)
			}
			if last {
				if cur != nil {
					return fmt.Errorf("path %q does not hold null", path)
				}
				c[seg] = v
				return nil
			}
			at = cur
		case []any:
			n, err := strconv.Atoi(seg)
			if err != nil || n < 0 || n >= len(c) {
				return fmt.Errorf("path %q: no index %q", path, seg)
			}
			if last {
				if c[n] != nil {
					return fmt.Errorf("path %q does not hold null", path)
				}
				c[n] = v
				return nil
			}
			at = c[n]
		default:
			return fmt.Errorf("path %q leads nowhere", path)
		}
	}
	return nil
}
