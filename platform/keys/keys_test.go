package keys

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// Services starting together agree on one generated key.
func TestLoadOrCreateConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "k.pem")
	got := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			k, err := LoadOrCreate(path)
			require.NoError(t, err)
			got[i] = []byte(k)
		})
	}
	wg.Wait()
	for _, k := range got[1:] {
		require.Equal(t, got[0], k)
	}
	again, err := LoadOrCreate(path)
	require.NoError(t, err)
	require.Equal(t, got[0], []byte(again))
}

func TestParseRejectsGarbage(t *testing.T) {
	_, err := ParsePrivate([]byte("not pem"))
	require.Error(t, err)
	_, err = ParsePublic([]byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"))
	require.Error(t, err)
}
