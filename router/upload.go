package router

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"supergraph/platform/apperr"
	"supergraph/router/internal/engine"
)

// File uploads: the GraphQL multipart request spec
// (github.com/jaydenseric/graphql-multipart-request-spec), what Apollo's and
// urql's upload clients send. A multipart/form-data POST carries, in this
// order, an "operations" field (the JSON request, or a batch, with null where
// files go), a "map" field ({"0": ["variables.file"]}: which file goes where)
// and then the files, one part each.
//
// The operations and the map are read first; the files only once an
// operation that takes them has been prepared, its map paths checked and the
// operation admitted, so a request that is refused anyway costs no disk.
// Files are spooled to the upload directory, each within its size limit,
// and deleted when the request ends; each subgraph fetch that takes a file
// opens it (see engine.Upload).

const mediaMultipart = "multipart/form-data"

// preflightHeaders: a multipart request must carry one of them, not empty.
// multipart/form-data is a content type an HTML form on any site may send
// without a CORS preflight; these headers can only be set by scripts, which
// need a preflight, which the CORS allow-list decides (CSRF protection, as
// Apollo Server does it).
var preflightHeaders = []string{"Apollo-Require-Preflight", "X-Apollo-Operation-Name", "GraphQL-Preflight"}

// maxFileNameBytes bounds a file name as sent (file systems allow 255).
const maxFileNameBytes = 255

// multipartUploads is a multipart request's files: where the map says they
// go, and, once received, their spooled copies.
type multipartUploads struct {
	r   *Router
	mr  *multipart.Reader
	dir string
	max int64
	// bulk: the operations field is a batch (of items operations), and map
	// paths start with an operation's index.
	bulk  bool
	items int
	// places lists each file field's paths, as the map gave them.
	places map[string][]string
	// files are the received files by field name; spooled lists every file
	// written to disk, which cleanup removes.
	files    map[string]*engine.File
	spooled  []string
	received bool
	err      *engine.RequestError
}

// fromMultipart reads a multipart request's operations and map; the files
// stay unread until receive.
func (r *Router) fromMultipart(w http.ResponseWriter, req *http.Request, params map[string]string) ([]clientRequest, bool, *multipartUploads, *engine.RequestError) {
	if r.cfg.MaxUploadFiles == 0 {
		return nil, false, nil, engine.NewRequestError(http.StatusUnsupportedMediaType, apperr.CodeBadRequest,
			"file uploads are turned off (ROUTER_MAX_UPLOAD_FILES=0): send the request as application/json")
	}
	if !slices.ContainsFunc(preflightHeaders, func(h string) bool { return strings.TrimSpace(req.Header.Get(h)) != "" }) {
		return nil, false, nil, engine.NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest,
			"a multipart request needs a non-empty %s header: a cross-site form can send multipart/form-data without a CORS preflight (CSRF protection)",
			strings.Join(preflightHeaders, ", "))
	}
	boundary := params["boundary"]
	if boundary == "" {
		return nil, false, nil, engine.NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest, "the multipart/form-data Content-Type has no boundary")
	}
	// One deadline for the whole body, files included: BodyReadTimeout is
	// meant for JSON bodies.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(r.cfg.UploadReadTimeout))
	up := &multipartUploads{
		r:      r,
		mr:     multipart.NewReader(http.MaxBytesReader(w, req.Body, r.cfg.MaxUploadRequestBytes), boundary),
		dir:    r.cfg.UploadDir,
		max:    r.cfg.MaxUploadBytes,
		places: map[string][]string{},
		files:  map[string]*engine.File{},
	}
	operations, rerr := up.field("operations")
	if rerr != nil {
		return nil, false, nil, rerr
	}
	fileMap, rerr := up.field("map")
	if rerr != nil {
		return nil, false, nil, rerr
	}
	reqs, batch, rerr := r.parseOperations(req.Context(), operations)
	if rerr != nil {
		return nil, batch, nil, rerr
	}
	up.bulk, up.items = batch, len(reqs)
	if rerr := up.readMap(fileMap); rerr != nil {
		return nil, batch, nil, rerr
	}
	for i := range reqs {
		reqs[i].uploads, reqs[i].item = up, i
	}
	return reqs, batch, up, nil
}

// field reads the next part, which must be the named field, within
// MaxRequestBytes.
func (up *multipartUploads) field(name string) ([]byte, *engine.RequestError) {
	part, err := up.mr.NextPart()
	if err != nil {
		return nil, up.readError(err, fmt.Sprintf("the %q field is missing", name))
	}
	defer func() { _ = part.Close() }()
	if part.FormName() != name {
		return nil, engine.NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest,
			"the multipart request must begin with the operations field, then the map field, then the files; got %q where %q belongs", part.FormName(), name)
	}
	limit := up.r.cfg.MaxRequestBytes
	body, err := io.ReadAll(io.LimitReader(part, limit+1))
	if err != nil {
		return nil, up.readError(err, "")
	}
	if int64(len(body)) > limit {
		return nil, tooLarge("request", "ROUTER_MAX_REQUEST_BYTES", limit, fmt.Sprintf("the %s field exceeds %d bytes", name, limit))
	}
	return body, nil
}

// readMap reads the map field: every file field and the paths it goes to.
// Paths are checked against the operations later (see bind), once they are
// prepared; here only their form, the count of files, and that no path is
// named twice.
func (up *multipartUploads) readMap(raw []byte) *engine.RequestError {
	bad := func(format string, args ...any) *engine.RequestError {
		return engine.NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest, "map: "+format, args...)
	}
	if err := json.Unmarshal(raw, &up.places); err != nil || up.places == nil {
		return bad(`must be a JSON object naming each file field's paths: {"0": ["variables.file"]}`)
	}
	if n, limit := len(up.places), up.r.cfg.MaxUploadFiles; n > limit {
		rerr := tooLarge("upload files", "ROUTER_MAX_UPLOAD_FILES", int64(limit), fmt.Sprintf("the request carries %d files, more than %d", n, limit))
		rerr.Errors[0].Extensions["limit"].(map[string]any)["actual"] = n
		return rerr
	}
	seen := map[string]bool{}
	for _, field := range slices.Sorted(maps.Keys(up.places)) {
		paths := up.places[field]
		switch {
		case field == "" || field == "operations" || field == "map":
			return bad("%q cannot name a file field", field)
		case len(paths) == 0:
			return bad("file %q goes nowhere: list at least one path", field)
		}
		for _, p := range paths {
			if seen[p] {
				return bad("the path %q is given twice", p)
			}
			seen[p] = true
			if _, rest, ok := up.split(p); !ok || !strings.HasPrefix(rest, "variables.") {
				want := "variables.<name>"
				if up.bulk {
					want = "<index>.variables.<name>"
				}
				return bad("file %q: the path %q is not of the form %s (a variable of the operation)", field, p, want)
			}
		}
	}
	return nil
}

// split takes a batch path's operation index off ("1.variables.file"); a
// single operation's paths are its own.
func (up *multipartUploads) split(path string) (item int, rest string, ok bool) {
	if !up.bulk {
		return 0, path, true
	}
	idx, rest, ok := strings.Cut(path, ".")
	n, err := strconv.Atoi(idx)
	if !ok || err != nil || n < 0 || n >= up.items || strconv.Itoa(n) != idx {
		return 0, "", false
	}
	return n, rest, true
}

// bind checks that every path the map gives for operation item points at
// a place the prepared operation takes a file: a null of type Upload that
// it passes to a field argument.
func (up *multipartUploads) bind(op *engine.Operation, item int) *engine.RequestError {
	for _, field := range slices.Sorted(maps.Keys(up.places)) {
		for _, p := range up.places[field] {
			i, rest, ok := up.split(p)
			if !ok || i != item {
				continue
			}
			if len(op.UploadTargets(rest)) == 0 {
				return engine.NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest,
					"map: file %q: %q is not a place for a file: the path must name a null value of type Upload that the operation passes to a field", field, p)
			}
		}
	}
	return nil
}

// attach receives the files (once for the whole request) and gives
// operation item those the map sends to it.
func (up *multipartUploads) attach(op *engine.Operation, item int) *engine.RequestError {
	if rerr := up.receive(); rerr != nil {
		return rerr
	}
	for _, field := range slices.Sorted(maps.Keys(up.places)) {
		for _, p := range up.places[field] {
			i, rest, ok := up.split(p)
			if !ok || i != item {
				continue
			}
			for _, target := range op.UploadTargets(rest) {
				op.Uploads = append(op.Uploads, engine.Upload{VariablePath: target, File: up.files[field]})
			}
		}
	}
	return nil
}

// receive reads the rest of the body: one part per file of the map, each
// spooled within the size limit. It runs once; later calls return its outcome.
func (up *multipartUploads) receive() *engine.RequestError {
	if up.received {
		return up.err
	}
	up.received = true
	up.err = up.readFiles()
	return up.err
}

func (up *multipartUploads) readFiles() *engine.RequestError {
	bad := func(format string, args ...any) *engine.RequestError {
		return engine.NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest, format, args...)
	}
	for {
		part, err := up.mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return up.readError(err, "")
		}
		field := part.FormName()
		switch _, mapped := up.places[field]; {
		case !mapped:
			return bad("unexpected part %q: the map names no such file", field)
		case up.files[field] != nil:
			return bad("file %q is sent twice", field)
		}
		f, rerr := up.spool(part)
		_ = part.Close()
		if rerr != nil {
			return rerr
		}
		up.files[field] = f
	}
	for _, field := range slices.Sorted(maps.Keys(up.places)) {
		if up.files[field] == nil {
			return bad("file %q is in the map but was not sent", field)
		}
	}
	return nil
}

// spool writes one file part to the upload directory.
func (up *multipartUploads) spool(part *multipart.Part) (*engine.File, *engine.RequestError) {
	name := part.FileName()
	switch {
	case len(name) > maxFileNameBytes:
		return nil, engine.NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest, "file %q: the file name exceeds %d bytes", part.FormName(), maxFileNameBytes)
	case !utf8.ValidString(name) || strings.ContainsFunc(name, isControl):
		// It is forwarded in a part header of the subgraph request.
		return nil, engine.NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest, "file %q: the file name must be UTF-8 without control characters", part.FormName())
	}
	tmp, err := os.CreateTemp(up.dir, "upload-*")
	if err != nil {
		up.r.log.Error("spool uploaded file", "err", err)
		return nil, engine.NewRequestError(http.StatusInternalServerError, apperr.CodeInternal, "internal server error")
	}
	up.spooled = append(up.spooled, tmp.Name())
	n, err := io.Copy(tmp, io.LimitReader(part, up.max+1))
	if cerr := tmp.Close(); err == nil && cerr != nil {
		up.r.log.Error("spool uploaded file", "err", cerr)
		return nil, engine.NewRequestError(http.StatusInternalServerError, apperr.CodeInternal, "internal server error")
	}
	if err != nil {
		var pathErr *os.PathError
		if errors.As(err, &pathErr) { // the disk, not the client
			up.r.log.Error("spool uploaded file", "err", err)
			return nil, engine.NewRequestError(http.StatusInternalServerError, apperr.CodeInternal, "internal server error")
		}
		return nil, up.readError(err, "")
	}
	if n > up.max {
		return nil, tooLarge("upload size", "ROUTER_MAX_UPLOAD_BYTES", up.max, fmt.Sprintf("file %q exceeds %d bytes", part.FormName(), up.max))
	}
	return &engine.File{Name: name, ContentType: contentType(part.Header.Get("Content-Type")), Size: n, Path: tmp.Name()}, nil
}

// contentType is a part's media type as it is forwarded: well-formed, else
// application/octet-stream (what a part without one means).
func contentType(ct string) string {
	mt, params, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil {
		return "application/octet-stream"
	}
	if out := mime.FormatMediaType(mt, params); out != "" {
		return out
	}
	return "application/octet-stream"
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// readError says why the body could not be read: too large (413), too slow
// (408), or cut short or malformed (400).
func (up *multipartUploads) readError(err error, missing string) *engine.RequestError {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return tooLarge("upload request size", "ROUTER_MAX_UPLOAD_REQUEST_BYTES", tooBig.Limit,
			fmt.Sprintf("the multipart request body exceeds %d bytes", tooBig.Limit))
	case errors.Is(err, os.ErrDeadlineExceeded):
		return engine.NewRequestError(http.StatusRequestTimeout, apperr.CodeBadRequest,
			"the request body did not arrive within %v (ROUTER_UPLOAD_READ_TIMEOUT)", up.r.cfg.UploadReadTimeout)
	case errors.Is(err, io.EOF) && missing != "":
		return engine.NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest, "%s", missing)
	}
	return engine.NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest, "malformed multipart body: %s", clipError(err))
}

// clipError is a read error as a client may see it: short, without
// anything of the router's.
func clipError(err error) string {
	msg := err.Error()
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return msg
}

// cleanup deletes every spooled file; the request is over.
func (up *multipartUploads) cleanup() {
	if up == nil {
		return
	}
	for _, p := range up.spooled {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			up.r.log.Error("remove uploaded file", "err", err, "path", p)
		}
	}
	up.spooled = nil
}
