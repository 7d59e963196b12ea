package objectstore_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"supergraph/platform/objectstore"
	"supergraph/platform/objectstore/objectstoretest"
)

// TestS3 runs everything against one real SeaweedFS server, a bucket per
// test.
func TestS3(t *testing.T) {
	srv := objectstoretest.StartS3Server(t)

	t.Run("Conformance", func(t *testing.T) {
		objectstoretest.Run(t, srv.NewStore)
	})

	t.Run("FailedMultipartUploadIsAborted", func(t *testing.T) {
		s := srv.NewStore(t)
		bucket := s.(*objectstore.S3).Bucket()
		const size = 3 * objectstore.S3PartSize
		err := s.Put(t.Context(), "big", &failingReader{left: 2*objectstore.S3PartSize + 1}, size, "")
		require.Error(t, err)
		var incomplete []string
		for u := range srv.Client(t).ListIncompleteUploads(t.Context(), bucket, "", true) {
			require.NoError(t, u.Err)
			incomplete = append(incomplete, u.Key+" "+u.UploadID)
		}
		assert.Empty(t, incomplete, "parts of the failed upload are kept")
	})

	t.Run("CreateBucket", func(t *testing.T) {
		cfg := srv.Config(objectstoretest.NewBucketName())
		cfg.CreateBucket = true
		_, err := objectstore.NewS3(t.Context(), cfg)
		require.NoError(t, err)
		s, err := objectstore.NewS3(t.Context(), cfg)
		require.NoError(t, err, "an existing bucket is fine")
		require.NoError(t, s.Put(t.Context(), "k", strings.NewReader("v"), 1, ""))
		ok, err := srv.Client(t).BucketExists(t.Context(), cfg.Bucket)
		require.NoError(t, err)
		assert.True(t, ok)
	})

	t.Run("MissingBucketFailsTheStart", func(t *testing.T) {
		cfg := srv.Config(objectstoretest.NewBucketName())
		_, err := objectstore.NewS3(t.Context(), cfg)
		require.ErrorContains(t, err, "does not exist")
		ok, err := srv.Client(t).BucketExists(t.Context(), cfg.Bucket)
		require.NoError(t, err)
		assert.False(t, ok, "made without CreateBucket")
	})

	t.Run("WrongSecretFailsTheStart", func(t *testing.T) {
		cfg := srv.Config(objectstoretest.NewBucketName())
		cfg.SecretKey = "not-" + cfg.SecretKey
		cfg.CreateBucket = true
		_, err := objectstore.NewS3(t.Context(), cfg)
		var resp minio.ErrorResponse
		require.ErrorAs(t, err, &resp)
		assert.Equal(t, 403, resp.StatusCode, "%v", err)
	})
}

// failingReader yields left zero bytes, then fails.
type failingReader struct{ left int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, errors.New("reader broke")
	}
	n := min(len(p), r.left)
	clear(p[:n])
	r.left -= n
	return n, nil
}
