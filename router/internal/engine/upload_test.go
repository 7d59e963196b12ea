package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/wundergraph/astjson"
)

// TestUploadTargets: where a file the client maps to a path goes in the
// prepared operation's variables, for fresh and remembered preparations alike.
func TestUploadTargets(t *testing.T) {
	t.Parallel()
	g, err := ReadGraph("../../testdata/config.json")
	require.NoError(t, err)
	e, err := New(g, Options{})
	require.NoError(t, err)
	t.Cleanup(e.Close)

	cases := []struct {
		query string
		vars  string
		path  string
		want  int // targets expected (each holds null in the operation's variables)
	}{
		{`mutation($file: Upload!) { uploadFile(file: $file) { size } }`, `{"file":null}`, "variables.file", 1},
		{`mutation($files: [Upload!]!) { uploadFiles(files: $files) { size } }`, `{"files":[null,null]}`, "variables.files.1", 1},
		{`mutation($files: [Upload!]!) { uploadFiles(files: $files) { size } }`, `{"files":[null]}`, "variables.files.1", 0},
		{`mutation($in: AttachmentInput!) { uploadAttachment(input: $in) { size } }`, `{"in":{"caption":"c","file":null}}`, "variables.in.file", 1},
		{`mutation($in: AttachmentInput!) { uploadAttachment(input: $in) { size } }`, `{"in":{"caption":"c","file":null}}`, "variables.in.caption", 0},
		// Moved by normalization into a variable of its own.
		{`mutation($f: Upload!) { uploadAttachment(input: {caption: "c", file: $f}) { size } }`, `{"f":null}`, "variables.f", 1},
		{`mutation($f: Upload!) { a: uploadFile(file: $f) { size } b: uploadAttachment(input: {caption: "c", file: $f}) { size } }`, `{"f":null}`, "variables.f", 2},
		{`mutation($file: Upload!) { uploadFile(file: $file) { size } }`, `{"file":"x"}`, "variables.file", 0},
		{`mutation($f: Upload, $note: String) { uploadMaybe(file: $f, note: $note) { size } }`, `{"f":null,"note":null}`, "variables.note", 0},
		{`query { latestReview { id } }`, `{}`, "variables.file", 0},
	}
	// Twice: the second round is answered from the prepared-document cache.
	for round := range 2 {
		for _, tc := range cases {
			op, err := e.Prepare(Request{Query: tc.query, Variables: []byte(tc.vars)})
			require.NoError(t, err, tc.query)
			targets := op.UploadTargets(tc.path)
			require.Len(t, targets, tc.want, "round %d: %s %s: %v", round, tc.query, tc.vars, targets)
			vars, err := astjson.ParseBytes(op.Variables)
			require.NoError(t, err)
			for _, target := range targets {
				at := vars.Get(strings.Split(strings.TrimPrefix(target, "variables."), ".")...)
				require.NotNil(t, at, "%s in %s", target, op.Variables)
				require.Equal(t, astjson.TypeNull, at.Type(), "%s in %s", target, op.Variables)
			}
		}
	}
	// The library's variables normalizer keeps every upload place it ever
	// found: many documents later, each still gets its own.
	for i := range maxUploadsSeen + 50 {
		q := fmt.Sprintf(`mutation($f%d: Upload!) { uploadFile(file: $f%d) { size } }`, i, i)
		op, err := e.Prepare(Request{Query: q, Variables: fmt.Appendf(nil, `{"f%d":null}`, i)})
		require.NoError(t, err)
		require.Equal(t, []uploadSlot{{fmt.Sprintf("variables.f%d", i), fmt.Sprintf("variables.f%d", i)}}, op.uploadSlots)
	}
}

// TestWithFiles: a fetch whose variables take files becomes a multipart
// request carrying those files only, replayable; any other fetch stays as it was.
func TestWithFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := func(name, content, ct string) *File {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return &File{Name: name, ContentType: ct, Size: int64(len(content)), Path: p}
	}
	a, b, c := file(`a "quoted".txt`, "alpha", "text/plain"), file("b.png", "bravo!", "image/png"), file("c", "charlie", "application/octet-stream")
	ups := []Upload{
		{VariablePath: "variables.file", File: a},
		{VariablePath: "variables.files.1", File: b},
		{VariablePath: "variables.again", File: a},
		{VariablePath: "variables.elsewhere", File: c}, // not in this fetch
	}
	body := `{"query":"mutation($file: Upload!, $files: [Upload], $again: Upload){x}","variables":{"file":null,"files":["keep",null],"again":null}}`
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, "http://sub/graphql", bytes.NewReader([]byte(body)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")

	out, err := withFiles(req, ups)
	require.NoError(t, err)
	require.Equal(t, "application/json", req.Header.Get("Content-Type"), "the original request is left alone")
	for attempt := range 2 { // the retry of a query reads the body again
		if attempt > 0 {
			out.Body, err = out.GetBody()
			require.NoError(t, err)
		}
		raw, err := io.ReadAll(out.Body)
		require.NoError(t, err)
		require.NoError(t, out.Body.Close())
		require.EqualValues(t, len(raw), out.ContentLength)
		mt, params, err := mime.ParseMediaType(out.Header.Get("Content-Type"))
		require.NoError(t, err)
		require.Equal(t, "multipart/form-data", mt)
		require.NotEmpty(t, out.Header.Get("Apollo-Require-Preflight"))

		mr := multipart.NewReader(bytes.NewReader(raw), params["boundary"])
		var got []string
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
			content, err := io.ReadAll(p)
			require.NoError(t, err)
			got = append(got, fmt.Sprintf("%s|%s|%s|%s", p.FormName(), p.FileName(), p.Header.Get("Content-Type"), content))
		}
		var fileMap map[string][]string
		require.NoError(t, json.Unmarshal([]byte(got[1][len("map|||"):]), &fileMap))
		require.Equal(t, map[string][]string{"0": {"variables.file", "variables.again"}, "1": {"variables.files.1"}}, fileMap)
		require.Equal(t, []string{
			"operations|||" + body,
			got[1],
			`0|a "quoted".txt|text/plain|alpha`,
			"1|b.png|image/png|bravo!",
		}, got)
	}

	// A fetch that takes none of the files (an entity fetch) stays JSON.
	other := `{"query":"query($representations: [_Any!]!){x}","variables":{"representations":[{"__typename":"User","id":"1"}]}}`
	req, err = http.NewRequestWithContext(context.Background(), http.MethodPost, "http://sub/graphql", bytes.NewReader([]byte(other)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	out, err = withFiles(req, ups)
	require.NoError(t, err)
	raw, err := io.ReadAll(out.Body)
	require.NoError(t, err)
	require.Equal(t, other, string(raw))
	require.Equal(t, "application/json", out.Header.Get("Content-Type"))
}
