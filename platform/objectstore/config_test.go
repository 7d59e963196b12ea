package objectstore_test

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"supergraph/platform/config"
	"supergraph/platform/objectstore"
)

// serviceConfig is how a service embeds the media settings.
type serviceConfig struct {
	config.Service
	Media objectstore.Config
}

func TestConfigDefaults(t *testing.T) {
	var c objectstore.Config
	config.Defaults(&c)
	assert.Equal(t, objectstore.Config{
		Store: "fs", Dir: ".dev/media", PublicBaseURL: objectstore.RoutePath,
		S3: objectstore.S3Config{Region: "us-east-1", UseSSL: true},
	}, c)
	require.NoError(t, c.Validate())
	assert.Equal(t, "/media/products/1/a.jpg", c.PublicURL("products/1/a.jpg"))
}

func TestConfigFromEnvironment(t *testing.T) {
	for k, v := range map[string]string{
		"SHOP_HTTP_ADDR":              "127.0.0.1:1",
		"SHOP_MEDIA_STORE":            "s3",
		"SHOP_MEDIA_PUBLIC_URL":       "https://cdn.example.com/images",
		"SHOP_MEDIA_S3_ENDPOINT":      "s3.example.com:9000",
		"SHOP_MEDIA_S3_BUCKET":        "images",
		"SHOP_MEDIA_S3_ACCESS_KEY":    "AKIA123",
		"SHOP_MEDIA_S3_SECRET_KEY":    "hunter2",
		"SHOP_MEDIA_S3_PATH_STYLE":    "true",
		"SHOP_MEDIA_S3_USE_SSL":       "false",
		"SHOP_MEDIA_S3_CREATE_BUCKET": "true",
	} {
		t.Setenv(k, v)
	}
	var c serviceConfig
	require.NoError(t, config.Load(&c, "SHOP_"))
	assert.Equal(t, objectstore.Config{
		Store: "s3", Dir: ".dev/media", PublicBaseURL: "https://cdn.example.com/images",
		S3: objectstore.S3Config{
			Endpoint: "s3.example.com:9000", Bucket: "images", AccessKey: "AKIA123", SecretKey: "hunter2",
			Region: "us-east-1", UseSSL: false, PathStyle: true, CreateBucket: true,
		},
	}, c.Media)
	require.NoError(t, c.Media.Validate())
	assert.Equal(t, "https://cdn.example.com/images/products/1/a.jpg", c.Media.PublicURL("products/1/a.jpg"))

	var out bytes.Buffer
	config.Log(slog.New(slog.NewTextHandler(&out, nil)), &c, "SHOP_")
	assert.Contains(t, out.String(), "SHOP_MEDIA_S3_SECRET_KEY=***")
	assert.Contains(t, out.String(), "SHOP_MEDIA_S3_BUCKET=images")
	assert.NotContains(t, out.String(), "hunter2")
}

func TestConfigValidate(t *testing.T) {
	valid := func() objectstore.Config {
		var c objectstore.Config
		config.Defaults(&c)
		return c
	}
	s3 := func() objectstore.Config {
		c := valid()
		c.Store = "s3"
		c.S3 = objectstore.S3Config{Endpoint: "127.0.0.1:8333", Bucket: "b", AccessKey: "a", SecretKey: "s"}
		return c
	}
	require.NoError(t, s3().Validate())
	for name, tc := range map[string]struct {
		change func(*objectstore.Config)
		want   string
	}{
		"unknown store":   {func(c *objectstore.Config) { c.Store = "gcs" }, "MEDIA_STORE must be fs or s3"},
		"no dir":          {func(c *objectstore.Config) { c.Dir = "" }, "MEDIA_DIR is required"},
		"relative URL":    {func(c *objectstore.Config) { c.PublicBaseURL = "media/" }, "MEDIA_PUBLIC_URL"},
		"other scheme":    {func(c *objectstore.Config) { c.PublicBaseURL = "ftp://cdn/x" }, "MEDIA_PUBLIC_URL"},
		"query":           {func(c *objectstore.Config) { c.PublicBaseURL = "https://cdn/x?sig=1" }, "no query"},
		"no endpoint":     {func(c *objectstore.Config) { *c = s3(); c.S3.Endpoint = "" }, "MEDIA_S3_ENDPOINT is required"},
		"endpoint is URL": {func(c *objectstore.Config) { *c = s3(); c.S3.Endpoint = "https://s3.example.com" }, "without a scheme"},
		"no bucket":       {func(c *objectstore.Config) { *c = s3(); c.S3.Bucket = "" }, "MEDIA_S3_BUCKET is required"},
		"no secret":       {func(c *objectstore.Config) { *c = s3(); c.S3.SecretKey = "" }, "MEDIA_S3_SECRET_KEY are required"},
	} {
		t.Run(name, func(t *testing.T) {
			c := valid()
			tc.change(&c)
			assert.ErrorContains(t, c.Validate(), tc.want)
			_, err := c.Open(t.Context())
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func TestConfigOpensFS(t *testing.T) {
	var c objectstore.Config
	config.Defaults(&c)
	c.Dir = filepath.Join(t.TempDir(), "media")
	s, err := c.Open(t.Context())
	require.NoError(t, err)
	require.IsType(t, &objectstore.FS{}, s)
	assert.Equal(t, c.Dir, s.(*objectstore.FS).Dir())
	assert.DirExists(t, c.Dir)
}
