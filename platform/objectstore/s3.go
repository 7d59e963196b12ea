package objectstore

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3PartSize is the part size of multipart uploads: the S3 store holds one
// part in memory at a time for an object larger than this (or of unknown
// size), and sends a smaller one in a single streamed request. S3's minimum
// part size is 5 MiB.
const S3PartSize = 8 << 20

// S3 stores objects in a bucket of a server that speaks the S3 API (AWS S3,
// SeaweedFS, MinIO, Ceph, R2...), through minio-go.
type S3 struct {
	client *minio.Client
	bucket string
}

// NewS3 connects to the server cfg names and checks that the bucket is
// there, creating it when missing with cfg.CreateBucket: a service with a
// wrong endpoint, credentials or bucket fails at start, not at its first
// upload.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("objectstore: %w", err)
	}
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       cfg.UseSSL,
		Region:       cfg.Region,
		BucketLookup: lookup,
	})
	if err != nil {
		return nil, fmt.Errorf("objectstore: S3 client for %s: %w", cfg.Endpoint, err)
	}
	s := &S3{client: client, bucket: cfg.Bucket}
	if err := s.checkBucket(ctx, cfg); err != nil {
		return nil, err
	}
	return s, nil
}

// Bucket is the bucket the store keeps its objects in.
func (s *S3) Bucket() string { return s.bucket }

func (s *S3) checkBucket(ctx context.Context, cfg S3Config) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	switch {
	case err != nil:
		return fmt.Errorf("objectstore: bucket %q on %s: %w", s.bucket, cfg.Endpoint, err)
	case ok:
		return nil
	case !cfg.CreateBucket:
		return fmt.Errorf("objectstore: bucket %q does not exist on %s (MEDIA_S3_CREATE_BUCKET=true creates it)", s.bucket, cfg.Endpoint)
	}
	err = s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: cfg.Region})
	if minio.ToErrorResponse(err).Code == "BucketAlreadyOwnedByYou" {
		return nil // another replica made it first
	}
	if err != nil {
		return fmt.Errorf("objectstore: create bucket %q on %s: %w", s.bucket, cfg.Endpoint, err)
	}
	return nil
}

// Put implements Store. An object up to S3PartSize goes in one streamed
// PUT; a larger one (or one of unknown size) in parts, and a failed upload
// is aborted, so nothing of it is kept.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := checkPut(key, size, contentType); err != nil {
		return err
	}
	// ctxReader also hides the reader's own type: minio-go uploads an
	// io.ReaderAt (an *os.File, a multipart upload's file) in parallel
	// parts, several part buffers at once; this keeps it to one.
	_, err := s.client.PutObject(ctx, s.bucket, key, ctxReader{ctx, r}, size, minio.PutObjectOptions{
		ContentType: contentTypeOrDefault(contentType),
		PartSize:    S3PartSize,
	})
	if err != nil {
		return fmt.Errorf("put %q: %w", key, err)
	}
	return nil
}

// Get implements Store.
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	if err := ValidKey(key); err != nil {
		return nil, Info{}, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, Info{}, s3Err("get", key, err)
	}
	// The first call on the object sends the GET: its answer says whether
	// the object exists, and the body is then read as it streams.
	st, err := obj.Stat()
	if err != nil {
		_ = obj.Close() // nothing read yet; the Stat error is the one to report
		return nil, Info{}, s3Err("get", key, err)
	}
	return obj, s3Info(key, st), nil
}

// Stat implements Store.
func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	if err := ValidKey(key); err != nil {
		return Info{}, err
	}
	st, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return Info{}, s3Err("stat", key, err)
	}
	return s3Info(key, st), nil
}

func s3Info(key string, st minio.ObjectInfo) Info {
	return Info{Key: key, Size: st.Size, ContentType: contentTypeOrDefault(st.ContentType), ModTime: st.LastModified}
}

// Exists implements Store.
func (s *S3) Exists(ctx context.Context, key string) (bool, error) {
	return exists(s.Stat(ctx, key))
}

// Delete implements Store (S3's DELETE already succeeds on a missing key).
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return s3Err("delete", key, err)
	}
	return nil
}

// s3Err maps a missing key to ErrNotFound. A missing bucket stays an error of
// its own where the server says so (a HEAD's answer has no body to say it:
// NewS3 checks the bucket for that reason).
func s3Err(op, key string, err error) error {
	resp := minio.ToErrorResponse(err)
	if resp.Code == "NoSuchKey" || (resp.StatusCode == http.StatusNotFound && resp.Code != "NoSuchBucket") {
		return fmt.Errorf("%s %q: %w", op, key, ErrNotFound)
	}
	return fmt.Errorf("%s %q: %w", op, key, err)
}
