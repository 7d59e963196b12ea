package objectstore

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"syscall"
)

// FS stores objects as files under a directory, for development: the object
// with key "products/1/a.jpg" is the file products/1/a.jpg, and its content
// type is kept beside it in the hidden file products/1/.a.jpg.meta.json
// (ValidKey forbids hidden names, so no key can collide with one).
//
// Every file operation goes through an os.Root, which refuses any path, ".."
// or symlink that leads out of the directory, on top of ValidKey.
//
// A Put writes a hidden temporary file, syncs it and renames it over the key,
// so readers see the old object or the new one, never a part. The content
// type is renamed into place right after the data: a reader racing an
// overwrite of the same key may, for that instant, see the new bytes with the
// old content type (upload keys are unique, so overwrites are rare).
type FS struct {
	dir string
}

// NewFS returns a store under dir, creating it if needed.
func NewFS(dir string) (*FS, error) {
	if dir == "" {
		return nil, errors.New("objectstore: FS needs a directory")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("objectstore: create %s: %w", dir, err)
	}
	return &FS{dir: dir}, nil
}

// Dir is the directory the store keeps its files in.
func (s *FS) Dir() string { return s.dir }

type fsMeta struct {
	ContentType string `json:"contentType"`
}

func metaName(key string) string {
	dir, name := path.Split(key)
	return dir + "." + name + ".meta.json"
}

func tempName(key string) string {
	dir, name := path.Split(key)
	return dir + "." + name + ".tmp-" + rand.Text()
}

// open opens the directory as an os.Root for one operation: holding none
// between calls leaves nothing to close, and the directory may be recreated.
func (s *FS) open() (*os.Root, error) {
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		return nil, fmt.Errorf("objectstore: open %s: %w", s.dir, err)
	}
	return root, nil
}

// closeRoot closes a directory handle: nothing was written through it, so
// its Close has nothing to lose.
func closeRoot(root *os.Root) { _ = root.Close() }

// Put implements Store.
func (s *FS) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := checkPut(key, size, contentType); err != nil {
		return err
	}
	root, err := s.open()
	if err != nil {
		return err
	}
	defer closeRoot(root)

	dataTmp, err := writeTemp(root, key, func(f *os.File) error {
		src := io.Reader(ctxReader{ctx, r})
		if size >= 0 {
			src = io.LimitReader(src, size)
		}
		n, err := io.Copy(f, src)
		if err != nil {
			return err
		}
		if size >= 0 && n != size {
			return fmt.Errorf("%w: read %d of %d bytes", io.ErrUnexpectedEOF, n, size)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("put %q: %w", key, err)
	}
	meta, err := json.Marshal(fsMeta{ContentType: contentTypeOrDefault(contentType)})
	if err != nil {
		_ = root.Remove(dataTmp) // our own temporary file; the Put's error is what matters
		return fmt.Errorf("put %q: %w", key, err)
	}
	metaTmp, err := writeTemp(root, key, func(f *os.File) error {
		_, err := f.Write(meta)
		return err
	})
	if err != nil {
		_ = root.Remove(dataTmp) // as above
		return fmt.Errorf("put %q: content type: %w", key, err)
	}
	if err := root.Rename(dataTmp, key); err != nil {
		_ = root.Remove(dataTmp) // as above
		_ = root.Remove(metaTmp) // as above
		if isDir(root, key) {
			return fmt.Errorf("put %q: the key is a folder of other objects: %w", key, err)
		}
		return fmt.Errorf("put %q: %w", key, err)
	}
	if err := root.Rename(metaTmp, metaName(key)); err != nil {
		_ = root.Remove(metaTmp) // as above
		return fmt.Errorf("put %q: content type: %w", key, err)
	}
	return nil
}

// writeTemp creates a new hidden file beside key, fills it with write and
// syncs it, and returns its name; on failure it leaves no file.
func writeTemp(root *os.Root, key string, write func(*os.File) error) (name string, err error) {
	var f *os.File
	// A Delete removes folders it empties, possibly between our MkdirAll
	// and OpenFile: then make the folder again.
	for range 3 {
		if dir := path.Dir(key); dir != "." {
			if err = root.MkdirAll(dir, 0o755); err != nil {
				if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, fs.ErrExist) {
					return "", fmt.Errorf("a folder of the key is an object: %w", err)
				}
				return "", err
			}
		}
		name = tempName(key)
		f, err = root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if err != nil {
		return "", err
	}
	err = write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = root.Remove(name) // our own partial file; err says what went wrong
		return "", err
	}
	return name, nil
}

func isDir(root *os.Root, name string) bool {
	fi, err := root.Lstat(name)
	return err == nil && fi.IsDir()
}

// Get implements Store.
func (s *FS) Get(_ context.Context, key string) (io.ReadCloser, Info, error) {
	if err := ValidKey(key); err != nil {
		return nil, Info{}, err
	}
	root, err := s.open()
	if err != nil {
		return nil, Info{}, err
	}
	defer closeRoot(root)
	f, err := root.Open(key)
	if err != nil {
		return nil, Info{}, fsErr("get", key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close() // read-only; the Stat error is the one to report
		return nil, Info{}, fmt.Errorf("get %q: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		_ = f.Close() // read-only
		return nil, Info{}, fmt.Errorf("get %q: %w", key, ErrNotFound)
	}
	info, err := fsInfo(root, key, fi)
	if err != nil {
		_ = f.Close() // read-only
		return nil, Info{}, err
	}
	return f, info, nil
}

// Stat implements Store.
func (s *FS) Stat(_ context.Context, key string) (Info, error) {
	if err := ValidKey(key); err != nil {
		return Info{}, err
	}
	root, err := s.open()
	if err != nil {
		return Info{}, err
	}
	defer closeRoot(root)
	fi, err := root.Lstat(key)
	if err != nil {
		return Info{}, fsErr("stat", key, err)
	}
	if !fi.Mode().IsRegular() {
		return Info{}, fmt.Errorf("stat %q: %w", key, ErrNotFound)
	}
	return fsInfo(root, key, fi)
}

func fsInfo(root *os.Root, key string, fi fs.FileInfo) (Info, error) {
	info := Info{Key: key, Size: fi.Size(), ModTime: fi.ModTime(), ContentType: DefaultContentType}
	b, err := root.ReadFile(metaName(key))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// Only a Put that failed between its two renames leaves data
		// without its content type.
	case err != nil:
		return Info{}, fmt.Errorf("%q: content type: %w", key, err)
	default:
		var m fsMeta
		if err := json.Unmarshal(b, &m); err != nil {
			return Info{}, fmt.Errorf("%q: content type: %w", key, err)
		}
		info.ContentType = contentTypeOrDefault(m.ContentType)
	}
	return info, nil
}

// Exists implements Store.
func (s *FS) Exists(ctx context.Context, key string) (bool, error) {
	return exists(s.Stat(ctx, key))
}

func exists(_ Info, err error) (bool, error) {
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrNotFound):
		return false, nil
	default:
		return false, err
	}
}

// Delete implements Store. It also removes the folders it leaves empty, as
// S3 has none: a later Put may then use a removed folder's name as a key.
func (s *FS) Delete(_ context.Context, key string) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	root, err := s.open()
	if err != nil {
		return err
	}
	defer closeRoot(root)
	fi, err := root.Lstat(key)
	if err != nil {
		if err := fsErr("delete", key, err); !errors.Is(err, ErrNotFound) {
			return err
		}
		return nil
	}
	if fi.IsDir() {
		return nil // a folder of other objects, not an object
	}
	if err := root.Remove(key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	if err := root.Remove(metaName(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %q: content type: %w", key, err)
	}
	for dir := path.Dir(key); dir != "."; dir = path.Dir(dir) {
		if root.Remove(dir) != nil {
			break // not empty (or just refilled): keep it and its parents
		}
	}
	return nil
}

// fsErr maps a missing file, or a path through a file ("a/b" where "a" is an
// object), to ErrNotFound.
func fsErr(op, key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("%s %q: %w", op, key, ErrNotFound)
	}
	return fmt.Errorf("%s %q: %w", op, key, err)
}
