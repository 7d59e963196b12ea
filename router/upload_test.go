package router_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"supergraph/router"
)

// upFile is one file part of a multipart request.
type upFile struct {
	field, name, contentType string
	data                     []byte
	// disposition replaces the Content-Disposition built from field and name.
	disposition string
}

func randomFile(field, name, contentType string, size int) upFile {
	data := make([]byte, size)
	_, _ = rand.Read(data)
	return upFile{field: field, name: name, contentType: contentType, data: data}
}

func digest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// multipartRequest builds a GraphQL multipart request as the spec's clients
// do: operations, map, then the files. operations and fileMap are marshalled
// unless they are strings (sent as they are).
func multipartRequest(t testing.TB, operations, fileMap any, files ...upFile) (body []byte, contentType string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, f := range []struct {
		name  string
		value any
	}{{"operations", operations}, {"map", fileMap}} {
		raw, ok := f.value.(string)
		if !ok {
			b, err := json.Marshal(f.value)
			require.NoError(t, err)
			raw = string(b)
		}
		require.NoError(t, w.WriteField(f.name, raw))
	}
	for _, f := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, f.field, f.name))
		if f.disposition != "" {
			h.Set("Content-Disposition", f.disposition)
		}
		if f.contentType != "" {
			h.Set("Content-Type", f.contentType)
		}
		pw, err := w.CreatePart(h)
		require.NoError(t, err)
		_, _ = pw.Write(f.data)
	}
	require.NoError(t, w.Close())
	return buf.Bytes(), w.FormDataContentType()
}

// preflight is the header Apollo's upload client sends.
var preflight = []string{"Apollo-Require-Preflight", "true"}

// upload sends a multipart request with the preflight header (and modern
// Accept) plus headers.
func (e *env) upload(operations, fileMap any, files []upFile, headers ...string) gqlResult {
	e.t.Helper()
	body, ct := multipartRequest(e.t, operations, fileMap, files...)
	return e.do(http.MethodPost, "/graphql", ct, body, append(append(append([]string{}, modernAccept...), preflight...), headers...)...)
}

// requireNoSpooledFiles waits for the router to have deleted every spooled
// file (it does when the request ends, just after the answer is written).
func (e *env) requireNoSpooledFiles() {
	e.t.Helper()
	var left []string
	require.Eventually(e.t, func() bool {
		entries, err := os.ReadDir(e.uploadDir)
		if err != nil && !os.IsNotExist(err) {
			return false
		}
		left = left[:0]
		for _, en := range entries {
			left = append(left, en.Name())
		}
		return len(left) == 0
	}, 2*time.Second, 10*time.Millisecond, "spooled files left behind: %v", &left)
}

func op(query string, vars map[string]any) map[string]any {
	return map[string]any{"query": query, "variables": vars}
}

func field(t testing.TB, r gqlResult, path ...any) any {
	t.Helper()
	var v any = r.Data
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			require.True(t, ok, "%v in %s", path, r.Raw)
			v = m[k]
		case int:
			l, ok := v.([]any)
			require.True(t, ok && k < len(l), "%v in %s", path, r.Raw)
			v = l[k]
		}
	}
	return v
}

const uploadOne = `mutation($file: Upload!) { uploadFile(file: $file) { name size sha256 contentType uploader { id } } }`

func TestUploadOneFile(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.userIDs()[0]
	tok := bearer(e.issuer.token(id))

	// As apollo-upload-client sends it (its file fields count from 1).
	f := randomFile("1", "report – final.pdf", "application/pdf", 300<<10)
	res := e.upload(op(uploadOne, map[string]any{"file": nil}), map[string][]string{"1": {"variables.file"}}, []upFile{f}, tok...)
	require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
	require.Empty(t, res.Errors, string(res.Raw))
	require.Equal(t, map[string]any{
		"name": f.name, "size": float64(len(f.data)), "sha256": digest(f.data), "contentType": "application/pdf",
		"uploader": map[string]any{"id": id},
	}, res.Data["uploadFile"])
	require.EqualValues(t, 1, e.accounts.MultipartRequests.Load())

	// A file without a content type goes as application/octet-stream; an
	// empty file is a file.
	f = upFile{field: "0", name: "empty"}
	res = e.upload(op(uploadOne, map[string]any{"file": nil}), map[string][]string{"0": {"variables.file"}}, []upFile{f}, tok...)
	require.Empty(t, res.Errors, string(res.Raw))
	require.Equal(t, "application/octet-stream", field(t, res, "uploadFile", "contentType"))
	require.Equal(t, digest(nil), field(t, res, "uploadFile", "sha256"))
	e.requireNoSpooledFiles()
}

func TestUploadSeveralFiles(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tok := bearer(e.issuer.token(e.userIDs()[0]))
	files := []upFile{
		randomFile("0", "a.png", "image/png", 10<<10),
		randomFile("1", "b.txt", "text/plain; charset=utf-8", 1),
		randomFile("2", "c.bin", "application/octet-stream", 200<<10),
	}

	t.Run("a list, files sent in another order than listed", func(t *testing.T) {
		res := e.upload(op(`mutation($files: [Upload!]!) { uploadFiles(files: $files) { name sha256 contentType } }`, map[string]any{"files": []any{nil, nil, nil}}),
			map[string][]string{"0": {"variables.files.0"}, "1": {"variables.files.1"}, "2": {"variables.files.2"}},
			[]upFile{files[2], files[0], files[1]}, tok...)
		require.Empty(t, res.Errors, string(res.Raw))
		for i, f := range files {
			require.Equal(t, map[string]any{"name": f.name, "sha256": digest(f.data), "contentType": f.contentType}, field(t, res, "uploadFiles", i))
		}
	})

	t.Run("two variables, two fields", func(t *testing.T) {
		res := e.upload(op(`mutation($a: Upload!, $b: Upload!) { a: uploadFile(file: $a) { sha256 } b: uploadFile(file: $b) { sha256 } }`, map[string]any{"a": nil, "b": nil}),
			map[string][]string{"x": {"variables.b"}, "y": {"variables.a"}},
			[]upFile{{field: "x", name: "x", data: files[0].data}, {field: "y", name: "y", data: files[1].data}}, tok...)
		require.Empty(t, res.Errors, string(res.Raw))
		require.Equal(t, digest(files[1].data), field(t, res, "a", "sha256"))
		require.Equal(t, digest(files[0].data), field(t, res, "b", "sha256"))
	})

	t.Run("one file in two places", func(t *testing.T) {
		res := e.upload(op(`mutation($a: Upload!, $b: Upload!) { a: uploadFile(file: $a) { sha256 } b: uploadFile(file: $b) { sha256 } }`, map[string]any{"a": nil, "b": nil}),
			map[string][]string{"0": {"variables.a", "variables.b"}}, files[:1], tok...)
		require.Empty(t, res.Errors, string(res.Raw))
		require.Equal(t, digest(files[0].data), field(t, res, "a", "sha256"))
		require.Equal(t, digest(files[0].data), field(t, res, "b", "sha256"))
	})

	t.Run("in an input object variable", func(t *testing.T) {
		res := e.upload(op(`mutation($in: AttachmentInput!) { uploadAttachment(input: $in) { caption sha256 } }`, map[string]any{"in": map[string]any{"caption": "cv", "file": nil}}),
			map[string][]string{"0": {"variables.in.file"}}, files[:1], tok...)
		require.Empty(t, res.Errors, string(res.Raw))
		require.Equal(t, map[string]any{"caption": "cv", "sha256": digest(files[0].data)}, res.Data["uploadAttachment"])
	})

	t.Run("in an object literal", func(t *testing.T) {
		// Normalization moves the literal, $f inside it, into a variable of its own.
		for range 2 {
			res := e.upload(op(`mutation($f: Upload!) { uploadAttachment(input: {caption: "lit", file: $f}) { caption sha256 } }`, map[string]any{"f": nil}),
				map[string][]string{"1": {"variables.f"}}, files[1:2], tok...)
			require.Empty(t, res.Errors, string(res.Raw))
			require.Equal(t, map[string]any{"caption": "lit", "sha256": digest(files[1].data)}, res.Data["uploadAttachment"])
		}
	})

	t.Run("a batch", func(t *testing.T) {
		ops := []any{
			op(uploadOne, map[string]any{"file": nil}),
			op(`query { latestReview { id } }`, nil),
			op(`mutation($files: [Upload!]!) { uploadFiles(files: $files) { sha256 } }`, map[string]any{"files": []any{nil, nil}}),
		}
		res := e.upload(ops, map[string][]string{"0": {"0.variables.file"}, "1": {"2.variables.files.0"}, "2": {"2.variables.files.1"}}, files, tok...)
		require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
		var out []gqlResult
		var items []json.RawMessage
		require.NoError(t, json.Unmarshal(res.Raw, &items), string(res.Raw))
		for _, it := range items {
			var r gqlResult
			require.NoError(t, json.Unmarshal(it, &r))
			r.Raw = it
			require.Empty(t, r.Errors, string(it))
			out = append(out, r)
		}
		require.Len(t, out, 3)
		require.Equal(t, digest(files[0].data), field(t, out[0], "uploadFile", "sha256"))
		require.Equal(t, digest(files[1].data), field(t, out[2], "uploadFiles", 0, "sha256"))
		require.Equal(t, digest(files[2].data), field(t, out[2], "uploadFiles", 1, "sha256"))
	})

	t.Run("a null Upload without a file is just null", func(t *testing.T) {
		res := e.post(`mutation($f: Upload) { uploadMaybe(file: $f) { sha256 } }`, map[string]any{"f": nil}, tok...)
		require.Empty(t, res.Errors, string(res.Raw))
		require.Nil(t, res.Data["uploadMaybe"])
	})
	e.requireNoSpooledFiles()
}

// TestUploadGoesOnlyWhereItIsTaken: a file reaches the fetch whose variables
// take it, and no other: a mutation whose answer reaches a second subgraph
// still works (the library's own upload path sends every file to every
// fetch and deletes them after the first), and that subgraph gets no files.
func TestUploadGoesOnlyWhereItIsTaken(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.userIDs()[1]
	f := randomFile("0", "avatar.jpg", "image/jpeg", 64<<10)
	res := e.upload(op(`mutation($file: Upload!) { uploadFile(file: $file) { sha256 uploader { id username reviews { body } } } }`, map[string]any{"file": nil}),
		map[string][]string{"0": {"variables.file"}}, []upFile{f}, bearer(e.issuer.token(id))...)
	require.Empty(t, res.Errors, string(res.Raw))
	require.Equal(t, digest(f.data), field(t, res, "uploadFile", "sha256"))
	require.Equal(t, "review of "+id, field(t, res, "uploadFile", "uploader", "reviews", 0, "body"))
	require.EqualValues(t, 1, e.accounts.MultipartRequests.Load())
	require.EqualValues(t, 1, e.reviews.EntityRequests.Load())
	require.EqualValues(t, 0, e.reviews.MultipartRequests.Load(), "the reviews subgraph takes no file")
	e.requireNoSpooledFiles()
}

func TestUploadLimits(t *testing.T) {
	t.Parallel()
	e := setup(t, func(_ *env, c *router.Config) {
		c.MaxUploadBytes, c.MaxUploadFiles, c.MaxUploadRequestBytes = 1000, 2, 8000
	})
	tok := bearer(e.issuer.token(e.userIDs()[0]))
	vars := map[string]any{"file": nil}
	one := map[string][]string{"0": {"variables.file"}}

	res := e.upload(op(uploadOne, vars), one, []upFile{randomFile("0", "ok", "", 1000)}, tok...)
	require.Empty(t, res.Errors, "a file of the limit's size passes: %s", res.Raw)

	limit := func(res gqlResult, setting string) {
		t.Helper()
		require.Equal(t, http.StatusRequestEntityTooLarge, res.Status, string(res.Raw))
		require.Equal(t, "PAYLOAD_TOO_LARGE", res.errorCode(), string(res.Raw))
		require.Contains(t, res.errorMessage(), setting)
		ext := res.Errors[0]["extensions"].(map[string]any)
		require.Equal(t, setting, ext["limit"].(map[string]any)["setting"], string(res.Raw))
		require.Nil(t, res.Data)
	}
	before := e.accounts.Requests.Load()
	res = e.upload(op(uploadOne, vars), one, []upFile{randomFile("0", "big", "", 1001)}, tok...)
	limit(res, "ROUTER_MAX_UPLOAD_BYTES")
	require.Contains(t, res.errorMessage(), `file "0" exceeds 1000 bytes`)

	res = e.upload(op(`mutation($files: [Upload!]!) { uploadFiles(files: $files) { sha256 } }`, map[string]any{"files": []any{nil, nil, nil}}),
		map[string][]string{"0": {"variables.files.0"}, "1": {"variables.files.1"}, "2": {"variables.files.2"}},
		[]upFile{randomFile("0", "a", "", 1), randomFile("1", "b", "", 1), randomFile("2", "c", "", 1)}, tok...)
	limit(res, "ROUTER_MAX_UPLOAD_FILES")
	require.EqualValues(t, 3, res.Errors[0]["extensions"].(map[string]any)["limit"].(map[string]any)["actual"])

	// Files within their limits in a body over the request's.
	res = e.upload(op(uploadOne, map[string]any{"file": nil, "pad": strings.Repeat("x", 8000)}), one, []upFile{randomFile("0", "a", "", 10)}, tok...)
	limit(res, "ROUTER_MAX_UPLOAD_REQUEST_BYTES")

	// application/json answers keep 413 too.
	body, ct := multipartRequest(t, op(uploadOne, vars), one, randomFile("0", "big", "", 5000))
	res = e.do(http.MethodPost, "/graphql", ct, body, append([]string{"Accept", "application/json"}, append(preflight, tok...)...)...)
	limit(res, "ROUTER_MAX_UPLOAD_BYTES")

	require.Equal(t, before, e.accounts.Requests.Load(), "refused uploads must not reach subgraphs")
	e.requireNoSpooledFiles()
}

func TestUploadBadRequests(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tok := bearer(e.issuer.token(e.userIDs()[0]))
	file := randomFile("0", "f.txt", "text/plain", 100)
	vars := map[string]any{"file": nil}
	one := map[string][]string{"0": {"variables.file"}}
	raw := func(parts ...string) string { // parts: name, value, …; "--" ends the body
		var b strings.Builder
		for i := 0; i+1 < len(parts); i += 2 {
			fmt.Fprintf(&b, "--B\r\nContent-Disposition: form-data; name=%q\r\n\r\n%s\r\n", parts[i], parts[i+1])
		}
		return b.String()
	}
	opsJSON, _ := json.Marshal(op(uploadOne, vars))
	cases := []struct {
		name        string
		contentType string
		body        string
		headers     []string
		status      int
		message     string
	}{
		{"map not JSON", "", "map:{oops", nil, 400, "map: must be a JSON object"},
		{"map entry not a list", "", `map:{"0":"variables.file"}`, nil, 400, "map: must be a JSON object"},
		{"file going nowhere", "", `map:{"0":[]}`, nil, 400, `file "0" goes nowhere`},
		{"path outside the variables", "", `map:{"0":["file"]}`, nil, 400, `the path "file" is not of the form variables.<name>`},
		{"unknown variable", "", `map:{"0":["variables.nope"]}`, nil, 400, `"variables.nope" is not a place for a file`},
		{"path given twice", "", `map:{"0":["variables.file"],"1":["variables.file"]}`, nil, 400, `the path "variables.file" is given twice`},
		{"map naming operations", "", `map:{"operations":["variables.file"]}`, nil, 400, `"operations" cannot name a file field`},
		{"no map", "", "--", nil, 400, `the "map" field is missing`},
		{"map first", "", "mapfirst", nil, 400, "must begin with the operations field"},
		{"no boundary", "multipart/form-data", "", nil, 400, "has no boundary"},
		{"truncated", "", "truncated", nil, 400, "malformed multipart body"},
		{"event stream", "", "", []string{"Accept", "text/event-stream"}, 406, "answered as JSON"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body string
			switch {
			case strings.HasPrefix(tc.body, "map:"):
				b, _ := multipartRequest(t, op(uploadOne, vars), strings.TrimPrefix(tc.body, "map:"), file)
				body = strings.ReplaceAll(string(b), boundaryOf(b), "B")
			case tc.body == "--":
				body = raw("operations", string(opsJSON)) + "--B--\r\n"
			case tc.body == "mapfirst":
				body = raw("map", `{"0":["variables.file"]}`, "operations", string(opsJSON)) + "--B--\r\n"
			case tc.body == "truncated":
				body = raw("operations", string(opsJSON), "map", `{"0":["variables.file"]}`) + "--B\r\nContent-Disposition: form-data; name=\"0\"; filename=\"f\"\r\n\r\nabc"
			default:
				b, _ := multipartRequest(t, op(uploadOne, vars), one, file)
				body = strings.ReplaceAll(string(b), boundaryOf(b), "B")
			}
			ct := tc.contentType
			if ct == "" {
				ct = "multipart/form-data; boundary=B"
			}
			headers := append(append(append([]string{}, modernAccept...), preflight...), tok...)
			res := e.do(http.MethodPost, "/graphql", ct, []byte(body), append(headers, tc.headers...)...)
			require.Equal(t, tc.status, res.Status, string(res.Raw))
			require.Equal(t, "BAD_REQUEST", res.errorCode(), string(res.Raw))
			require.Contains(t, res.errorMessage(), tc.message)
			require.Nil(t, res.Data)
		})
	}

	// Cases the multipart writer builds.
	for _, tc := range []struct {
		name       string
		operations any
		fileMap    any
		files      []upFile
		message    string
		code       string // BAD_REQUEST unless given
	}{
		{"file not sent", op(uploadOne, vars), one, nil, `file "0" is in the map but was not sent`, ""},
		{"file not in the map", op(uploadOne, vars), one, []upFile{file, randomFile("1", "x", "", 1)}, `unexpected part "1"`, ""},
		{"file sent twice", op(uploadOne, vars), one, []upFile{file, file}, `file "0" is sent twice`, ""},
		{"path at a value that is not null", op(uploadOne, map[string]any{"file": "x"}), one, []upFile{file}, `"variables.file" is not a place for a file`, ""},
		{"path at a null String", op(`mutation($f: Upload, $note: String) { uploadMaybe(file: $f, note: $note) { sha256 } }`, map[string]any{"f": nil, "note": nil}),
			map[string][]string{"0": {"variables.note"}}, []upFile{file}, `"variables.note" is not a place for a file`, ""},
		{"path at an unused variable", op(`mutation($file: Upload!, $other: Upload) { uploadFile(file: $file) { sha256 } }`, map[string]any{"file": nil, "other": nil}),
			map[string][]string{"0": {"variables.file"}, "1": {"variables.other"}}, []upFile{file, randomFile("1", "x", "", 1)}, "never used", "GRAPHQL_VALIDATION_FAILED"},
		{"path past a list's end", op(`mutation($files: [Upload!]!) { uploadFiles(files: $files) { sha256 } }`, map[string]any{"files": []any{nil}}),
			map[string][]string{"0": {"variables.files.1"}}, []upFile{file}, `"variables.files.1" is not a place for a file`, ""},
		{"batch index out of range", []any{op(uploadOne, vars)}, map[string][]string{"0": {"1.variables.file"}}, []upFile{file}, `is not of the form <index>.variables.<name>`, ""},
		{"batch path without index", []any{op(uploadOne, vars)}, one, []upFile{file}, `is not of the form <index>.variables.<name>`, ""},
		{"control characters in the file name", op(uploadOne, vars), one,
			[]upFile{{disposition: `form-data; name="0"; filename*=utf-8''evil%0D%0AX-Injected%3A%201`, data: []byte("x")}}, "without control characters", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := e.upload(tc.operations, tc.fileMap, tc.files, tok...)
			require.Equal(t, http.StatusBadRequest, res.Status, string(res.Raw))
			code := tc.code
			if code == "" {
				code = "BAD_REQUEST"
			}
			require.Equal(t, code, res.errorCode(), string(res.Raw))
			require.Contains(t, res.errorMessage(), tc.message)
		})
	}
	require.EqualValues(t, 0, e.accounts.Requests.Load(), "refused uploads must not reach subgraphs")
	e.requireNoSpooledFiles()
}

func boundaryOf(body []byte) string {
	line, _, _ := bytes.Cut(body, []byte("\r\n"))
	return strings.TrimPrefix(string(line), "--")
}

// TestUploadNeedsPreflightHeader: multipart/form-data is a CORS "simple"
// content type a cross-site form may send; only requests with a header no
// form can set are accepted (CSRF).
func TestUploadNeedsPreflightHeader(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tok := bearer(e.issuer.token(e.userIDs()[0]))
	f := randomFile("0", "f", "text/plain", 10)
	body, ct := multipartRequest(t, op(uploadOne, map[string]any{"file": nil}), map[string][]string{"0": {"variables.file"}}, f)
	for _, h := range [][]string{nil, {"Apollo-Require-Preflight", ""}, {"X-Requested-With", "XMLHttpRequest"}} {
		res := e.do(http.MethodPost, "/graphql", ct, body, append(append([]string{}, tok...), h...)...)
		require.Equal(t, http.StatusBadRequest, res.Status, string(res.Raw))
		require.Equal(t, "BAD_REQUEST", res.errorCode())
		require.Contains(t, res.errorMessage(), "Apollo-Require-Preflight, X-Apollo-Operation-Name, GraphQL-Preflight")
	}
	require.EqualValues(t, 0, e.accounts.Requests.Load())
	for _, h := range []string{"Apollo-Require-Preflight", "X-Apollo-Operation-Name", "GraphQL-Preflight"} {
		res := e.do(http.MethodPost, "/graphql", ct, body, append(append([]string{}, tok...), h, "1")...)
		require.Empty(t, res.Errors, "%s: %s", h, res.Raw)
		require.Equal(t, digest(f.data), field(t, res, "uploadFile", "sha256"))
	}
	e.requireNoSpooledFiles()
}

func TestUploadsTurnedOff(t *testing.T) {
	t.Parallel()
	e := setup(t, func(_ *env, c *router.Config) { c.MaxUploadFiles = 0 })
	res := e.upload(op(uploadOne, map[string]any{"file": nil}), map[string][]string{"0": {"variables.file"}}, []upFile{randomFile("0", "f", "", 1)})
	require.Equal(t, http.StatusUnsupportedMediaType, res.Status, string(res.Raw))
	require.Contains(t, res.errorMessage(), "ROUTER_MAX_UPLOAD_FILES=0")
}

// TestUploadAuthorization: uploads are operations like any other: the
// subgraph decides who may run them, and a bad token is refused before any
// file is read.
func TestUploadAuthorization(t *testing.T) {
	t.Parallel()
	e := setup(t)
	f := randomFile("0", "f", "text/plain", 10)
	one := map[string][]string{"0": {"variables.file"}}

	res := e.upload(op(uploadOne, map[string]any{"file": nil}), one, []upFile{f})
	require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
	require.Equal(t, "UNAUTHENTICATED", res.errorCode(), string(res.Raw))
	require.Nil(t, res.Data)

	for _, tok := range []string{"not-a-token", e.issuer.token(e.userIDs()[0], func(o *tokenOpts) { o.ttl = -time.Minute })} {
		res = e.upload(op(uploadOne, map[string]any{"file": nil}), one, []upFile{f}, bearer(tok)...)
		require.Equal(t, http.StatusUnauthorized, res.Status, string(res.Raw))
		require.Equal(t, "UNAUTHENTICATED", res.errorCode(), string(res.Raw))
	}
	require.EqualValues(t, 1, e.accounts.Requests.Load(), "only the anonymous upload reached the subgraph")

	// A query may take files too, and anyone may run this one.
	res = e.upload(op(`query($f: Upload!) { fileDigest(file: $f) { sha256 uploader { id } } }`, map[string]any{"f": nil}),
		map[string][]string{"0": {"variables.f"}}, []upFile{f})
	require.Empty(t, res.Errors, string(res.Raw))
	require.Equal(t, map[string]any{"sha256": digest(f.data), "uploader": nil}, res.Data["fileDigest"])
	e.requireNoSpooledFiles()
}

// TestUploadsOfConcurrentCallersDoNotMix: many uploads at once with the same
// operation, from different users and from one user (the same query twice
// would be de-duplicated but for its files): every caller gets the digest of
// its own file, and its own identity.
func TestUploadsOfConcurrentCallersDoNotMix(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ids := e.userIDs()
	const perUser = 4
	var wg sync.WaitGroup
	errs := make(chan error, len(ids)*perUser*2)
	check := func(res gqlResult, key, wantUser string, f upFile) {
		got, _ := res.Data[key].(map[string]any)
		var uploader any
		if u, ok := got["uploader"].(map[string]any); ok {
			uploader = u["id"]
		}
		if res.Status != http.StatusOK || len(res.Errors) > 0 || got["sha256"] != digest(f.data) || (wantUser != "" && uploader != wantUser) {
			errs <- fmt.Errorf("%s for %s: got %s", key, wantUser, res.Raw)
		}
	}
	for _, id := range ids {
		tok := bearer(e.issuer.token(id))
		for i := range perUser {
			wg.Add(2)
			go func() {
				defer wg.Done()
				f := randomFile("0", fmt.Sprintf("%s-%d", id, i), "application/octet-stream", 32<<10)
				check(e.upload(op(uploadOne, map[string]any{"file": nil}), map[string][]string{"0": {"variables.file"}}, []upFile{f}, tok...), "uploadFile", id, f)
			}()
			go func() {
				defer wg.Done()
				f := randomFile("0", "q", "application/octet-stream", 8<<10)
				check(e.upload(op(`query($f: Upload!) { fileDigest(file: $f) { sha256 uploader { id } } }`, map[string]any{"f": nil}),
					map[string][]string{"0": {"variables.f"}}, []upFile{f}, tok...), "fileDigest", id, f)
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	e.requireNoSpooledFiles()
}

// TestUploadAbandonedMidwayLeavesNoFile: a client that goes away while
// sending a file leaves nothing behind.
func TestUploadAbandonedMidwayLeavesNoFile(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tok := e.issuer.token(e.userIDs()[0])
	body, ct := multipartRequest(t, op(uploadOne, map[string]any{"file": nil}), map[string][]string{"0": {"variables.file"}}, randomFile("0", "f", "", 256<<10))
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url+"/graphql", pr)
	require.NoError(t, err)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set(preflight[0], preflight[1])
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
	}()
	// Half the file, then wait until the router spooled some of it.
	_, err = pw.Write(body[:len(body)/2])
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		entries, _ := os.ReadDir(e.uploadDir)
		return len(entries) > 0
	}, 5*time.Second, 5*time.Millisecond, "the router never started spooling")
	cancel()
	_ = pw.CloseWithError(io.ErrClosedPipe)
	<-done
	e.requireNoSpooledFiles()
	require.EqualValues(t, 0, e.accounts.Requests.Load())
}
