package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"strconv"
	"strings"

	"github.com/wundergraph/astjson"
)

// File uploads (the GraphQL multipart request spec). The router spools a
// request's files; the operation carries them as Uploads, and each subgraph
// fetch whose variables hold one of their places (a null where the file
// goes) is sent as a multipart request with those files only.
//
// The library's own path for this (resolve.Context.Files) is not used: in
// this version it sends every file with every fetch of the operation, to
// every subgraph involved, as application/octet-stream, and deletes the files
// after the first fetch, so a mutation whose result reaches a second
// subgraph fails there (graphql-go-tools issue #1162).

// File is a file a client sent with an operation, kept by the router for as
// long as the request runs.
type File struct {
	// Name and ContentType are what the client sent (made safe to forward).
	Name        string
	ContentType string
	Size        int64
	// Path is the spooled copy; every fetch that takes the file opens it.
	Path string
}

// Upload puts a file at one place in an operation's variables.
type Upload struct {
	// VariablePath is the place in the operation's normalized variables, in
	// the spec's spelling: "variables.file", "variables.files.0".
	VariablePath string
	File         *File
}

// uploadSlot is a place where a file may go: a null of type Upload the
// operation passes to an argument. Client is the place in the variables the
// client sent; Normalized the one in the operation's variables, which
// differs when normalization moved a variable used inside an object literal
// (`input: {file: $f}`) into a variable of its own.
type uploadSlot struct {
	Client, Normalized string
}

// UploadTargets returns where a file the client mapped to path (in its
// request's variables, "variables.file") goes in the operation's variables;
// none when path is not a null Upload value the operation passes to a field.
func (o *Operation) UploadTargets(path string) []string {
	var out []string
	for _, s := range o.uploadSlots {
		if s.Client == path {
			out = append(out, s.Normalized)
		}
	}
	return out
}

type uploadsKey struct{}

func withUploads(ctx context.Context, ups []Upload) context.Context {
	if len(ups) == 0 {
		return ctx
	}
	return context.WithValue(ctx, uploadsKey{}, ups)
}

func uploadsFrom(ctx context.Context) []Upload {
	ups, _ := ctx.Value(uploadsKey{}).([]Upload)
	return ups
}

// withFiles returns the fetch as a GraphQL multipart request carrying the
// files its variables take (a null at an upload's place), or unchanged
// (its body buffered) when it takes none. The body is replayable (GetBody)
// and has a known length: each attempt reopens the spooled files.
func withFiles(req *http.Request, ups []Upload) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, nil
	}
	operations, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return nil, err
	}
	out := req.Clone(req.Context())
	taken := takenUploads(operations, ups)
	if len(taken) == 0 {
		out.Body, out.ContentLength = io.NopCloser(bytes.NewReader(operations)), int64(len(operations))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(operations)), nil }
		return out, nil
	}
	body, err := newMultipartBody(operations, taken)
	if err != nil {
		return nil, err
	}
	out.Header.Set("Content-Type", body.contentType)
	// Apollo Server (and others) refuse multipart requests without it as
	// possible CSRF; the router is no browser.
	out.Header.Set("Apollo-Require-Preflight", "true")
	out.ContentLength = body.length
	out.GetBody = body.open
	if out.Body, err = body.open(); err != nil {
		return nil, err
	}
	return out, nil
}

// takenUploads are the uploads whose place holds null in the fetch's variables.
func takenUploads(operations []byte, ups []Upload) []Upload {
	v, err := astjson.ParseBytes(operations)
	if err != nil {
		return nil
	}
	var out []Upload
	for _, u := range ups {
		if at := v.Get(strings.Split(u.VariablePath, ".")...); at != nil && at.Type() == astjson.TypeNull {
			out = append(out, u)
		}
	}
	return out
}

// multipartBody is a fetch's multipart request body: the operations and
// map fields and each file's part header in memory (segments), the files'
// contents read from disk between them.
type multipartBody struct {
	contentType string
	length      int64
	// segments[i] precedes files[i]; the last segment closes the body.
	segments [][]byte
	files    []*File
}

func newMultipartBody(operations []byte, taken []Upload) (*multipartBody, error) {
	// One part per file, its map entry listing every place it goes.
	var files []*File
	places := map[*File][]string{}
	for _, u := range taken {
		if _, ok := places[u.File]; !ok {
			files = append(files, u.File)
		}
		places[u.File] = append(places[u.File], u.VariablePath)
	}
	fileMap := make(map[string][]string, len(files))
	for i, f := range files {
		fileMap[strconv.Itoa(i)] = places[f]
	}
	mapJSON, err := json.Marshal(fileMap)
	if err != nil {
		return nil, err
	}

	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	b := &multipartBody{contentType: w.FormDataContentType(), files: files}
	for _, field := range []struct {
		name  string
		value []byte
	}{{"operations", operations}, {"map", mapJSON}} {
		fw, err := w.CreateFormField(field.name)
		if err != nil {
			return nil, err
		}
		_, _ = fw.Write(field.value)
	}
	for i, f := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%d"; filename="%s"`, i, quoteEscaper.Replace(f.Name)))
		h.Set("Content-Type", f.ContentType)
		if _, err := w.CreatePart(h); err != nil {
			return nil, err
		}
		b.segments = append(b.segments, bytes.Clone(buf.Bytes()))
		b.length += int64(buf.Len()) + f.Size
		buf.Reset()
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	b.segments = append(b.segments, bytes.Clone(buf.Bytes()))
	b.length += int64(buf.Len())
	return b, nil
}

var quoteEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// open returns a reader of the whole body; closing it closes the files.
func (b *multipartBody) open() (io.ReadCloser, error) {
	rc := &filesReader{}
	readers := make([]io.Reader, 0, 2*len(b.files)+1)
	for i, f := range b.files {
		fh, err := os.Open(f.Path)
		if err != nil {
			_ = rc.Close()
			return nil, fmt.Errorf("open uploaded file: %w", err)
		}
		rc.open = append(rc.open, fh)
		// Exactly the size announced in Content-Length, whatever happens to the file.
		readers = append(readers, bytes.NewReader(b.segments[i]), io.NewSectionReader(fh, 0, f.Size))
	}
	rc.Reader = io.MultiReader(append(readers, bytes.NewReader(b.segments[len(b.segments)-1]))...)
	return rc, nil
}

type filesReader struct {
	io.Reader
	open []*os.File
}

func (r *filesReader) Close() error {
	var errs []error
	for _, f := range r.open {
		errs = append(errs, f.Close())
	}
	r.open = nil
	return errors.Join(errs...)
}
