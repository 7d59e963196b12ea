// Package objectstore keeps blobs such as product images behind one Store
// interface, with two implementations that pass the same conformance suite
// (objectstoretest): FS, a directory for development, and S3, any server that
// speaks the S3 API. Config picks one from the environment.
package objectstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"time"
)

// ErrNotFound is returned (wrapped) when no object has the key.
var ErrNotFound = errors.New("object not found")

// ErrInvalidKey is returned (wrapped) for a key that ValidKey refuses.
var ErrInvalidKey = errors.New("invalid object key")

// Store keeps objects by key. Implementations are safe for concurrent use.
//
// A Put is all or nothing: a reader that fails, ends before size bytes or a
// cancelled context leaves no object (and an object it would have replaced
// stays as it was). A reader racing a Put of the same key gets the old bytes
// or the new ones, never a mix (FS notes the instant its content type may
// lag). Keys are checked by ValidKey first: every method refuses an invalid
// one with ErrInvalidKey, before reading anything.
type Store interface {
	// Put stores size bytes read from r under key, streaming them: the
	// object is never held in memory whole. size is exact: a reader that
	// ends earlier fails the Put, and bytes past size are not read. A size
	// of -1 reads r to its end (the S3 store then uploads in parts of
	// S3PartSize, each held in memory once). An empty contentType is stored
	// as application/octet-stream.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	// Get opens the object for reading; the caller closes it.
	Get(ctx context.Context, key string) (io.ReadCloser, Info, error)
	// Stat describes the object without reading it.
	Stat(ctx context.Context, key string) (Info, error)
	// Exists reports whether an object has the key.
	Exists(ctx context.Context, key string) (bool, error)
	// Delete removes the object; deleting a missing key is no error.
	Delete(ctx context.Context, key string) error
}

// Info describes a stored object.
type Info struct {
	Key         string
	Size        int64
	ContentType string
	// ModTime is when the object was last written, as the store's clock
	// (or the S3 server's) tells it, to the second at least.
	ModTime time.Time
}

// DefaultContentType is stored for a Put without a content type.
const DefaultContentType = "application/octet-stream"

// MaxKeyLen is the longest key accepted, in bytes (S3 allows 1024; a
// filesystem path must also fit PATH_MAX with the directory in front).
const MaxKeyLen = 512

// MaxSegmentLen is the longest segment of a key (between slashes), in bytes:
// a file name has at most 255, and the FS store's hidden files add to it.
const MaxSegmentLen = 200

// ValidKey checks that key is a relative slash-separated path, at most
// MaxKeyLen long, whose segments are non-empty, at most MaxSegmentLen long,
// start with a letter or digit, and hold only ASCII letters,
// digits, '.', '-' and '_'. So no key can name "..", ".", an absolute path,
// a hidden file (where the FS store keeps its own files), a backslash or any
// character an URL or a shell would treat specially: a key can never leave
// its bucket or directory, and it is its own URL path.
//
// Portable keys also never use one object's key as a folder of another
// ("a" and "a/b"): S3 allows both, a filesystem cannot hold both, and the FS
// store refuses the second.
func ValidKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	}
	if len(key) > MaxKeyLen {
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidKey, MaxKeyLen)
	}
	segStart, segLen := true, 0
	for i := range len(key) {
		c := key[i]
		switch {
		case c == '/':
			if segStart {
				return fmt.Errorf("%w %q: empty path segment or leading '/'", ErrInvalidKey, key)
			}
			segStart, segLen = true, 0
			continue
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.' || c == '-' || c == '_':
			if segStart {
				return fmt.Errorf("%w %q: a path segment must start with a letter or digit", ErrInvalidKey, key)
			}
		default:
			return fmt.Errorf("%w %q: character %q is not allowed", ErrInvalidKey, key, c)
		}
		segStart = false
		if segLen++; segLen > MaxSegmentLen {
			return fmt.Errorf("%w %q: a path segment is longer than %d bytes", ErrInvalidKey, key, MaxSegmentLen)
		}
	}
	if segStart {
		return fmt.Errorf("%w %q: trailing '/'", ErrInvalidKey, key)
	}
	return nil
}

func contentTypeOrDefault(ct string) string {
	if ct == "" {
		return DefaultContentType
	}
	return ct
}

// ctxReader fails a copy as soon as ctx is done, so a Put whose client went
// away stops reading instead of storing the rest.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// checkPut validates a Put's arguments, the same for every store.
func checkPut(key string, size int64, contentType string) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	if size < -1 {
		return fmt.Errorf("put %q: invalid size %d (-1 for unknown)", key, size)
	}
	if contentType != "" {
		// It travels as an HTTP header: refuse what is no media type (a
		// newline above all) rather than let one store keep it and the
		// other fail.
		if _, _, err := mime.ParseMediaType(contentType); err != nil {
			return fmt.Errorf("put %q: content type %q: %w", key, contentType, err)
		}
	}
	return nil
}
