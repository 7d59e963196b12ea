package objectstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Config chooses a store and says where its objects are served from. A
// service embeds it in its own configuration (platform/config), so its
// variables take the service's prefix: MARKETPLACE_MEDIA_STORE, ...
type Config struct {
	// Store is "fs" (a directory: development) or "s3".
	Store string `env:"MEDIA_STORE" envDefault:"fs"`
	// Dir is the FS store's directory.
	Dir string `env:"MEDIA_DIR" envDefault:".dev/media"`
	// PublicBaseURL is where clients fetch objects: PublicURL(key) is it
	// followed by the key. An absolute path (the default) is on the
	// router's own origin, which serves RoutePath from the store in
	// development; production sets the CDN's or the bucket's URL.
	PublicBaseURL string `env:"MEDIA_PUBLIC_URL" envDefault:"/media/"`
	// S3 configures the s3 store.
	S3 S3Config `envPrefix:"MEDIA_S3_"`
}

// RoutePath is the path under which the router serves objects in
// development (the default PublicBaseURL).
const RoutePath = "/media/"

// S3Config names an S3 server, a bucket and the credentials for it.
type S3Config struct {
	// Endpoint is host[:port], without a scheme (UseSSL picks it).
	Endpoint  string `env:"ENDPOINT"`
	Bucket    string `env:"BUCKET"`
	AccessKey string `env:"ACCESS_KEY"`
	SecretKey string `env:"SECRET_KEY" secret:"true"`
	Region    string `env:"REGION" envDefault:"us-east-1"`
	UseSSL    bool   `env:"USE_SSL" envDefault:"true"`
	// PathStyle addresses the bucket as endpoint/bucket/key rather than
	// bucket.endpoint/key: most self-hosted servers need it.
	PathStyle bool `env:"PATH_STYLE" envDefault:"false"`
	// CreateBucket creates the bucket at start when missing (otherwise a
	// missing bucket fails the start).
	CreateBucket bool `env:"CREATE_BUCKET" envDefault:"false"`
}

// Validate checks the settings the chosen store needs.
func (c Config) Validate() error {
	var errs []error
	switch c.Store {
	case "fs":
		if c.Dir == "" {
			errs = append(errs, errors.New("MEDIA_DIR is required for MEDIA_STORE=fs"))
		}
	case "s3":
		if err := c.S3.Validate(); err != nil {
			errs = append(errs, err)
		}
	default:
		errs = append(errs, fmt.Errorf("MEDIA_STORE must be fs or s3, got %q", c.Store))
	}
	if err := validBaseURL(c.PublicBaseURL); err != nil {
		errs = append(errs, fmt.Errorf("MEDIA_PUBLIC_URL: %w", err))
	}
	return errors.Join(errs...)
}

func validBaseURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return err
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return fmt.Errorf("%q: no query, fragment or user info", raw)
	case u.Scheme == "" && u.Host == "" && strings.HasPrefix(u.Path, "/"):
		return nil // a path on the router's origin
	case (u.Scheme == "http" || u.Scheme == "https") && u.Host != "":
		return nil
	default:
		return fmt.Errorf("%q is neither an http(s) URL nor an absolute path", raw)
	}
}

// Validate checks that the S3 settings name a server, a bucket and
// credentials.
func (c S3Config) Validate() error {
	var errs []error
	if c.Endpoint == "" {
		errs = append(errs, errors.New("MEDIA_S3_ENDPOINT is required for MEDIA_STORE=s3"))
	} else if strings.Contains(c.Endpoint, "/") {
		errs = append(errs, fmt.Errorf("MEDIA_S3_ENDPOINT is host[:port] without a scheme or path (MEDIA_S3_USE_SSL picks https), got %q", c.Endpoint))
	}
	if c.Bucket == "" {
		errs = append(errs, errors.New("MEDIA_S3_BUCKET is required for MEDIA_STORE=s3"))
	}
	if c.AccessKey == "" || c.SecretKey == "" {
		errs = append(errs, errors.New("MEDIA_S3_ACCESS_KEY and MEDIA_S3_SECRET_KEY are required for MEDIA_STORE=s3"))
	}
	return errors.Join(errs...)
}

// Open returns the store the configuration chooses.
func (c Config) Open(ctx context.Context) (Store, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("objectstore: %w", err)
	}
	if c.Store == "s3" {
		return NewS3(ctx, c.S3)
	}
	return NewFS(c.Dir)
}

// PublicURL is the URL clients fetch the object with key from (a path when
// PublicBaseURL is one). A valid key needs no escaping; any other is escaped
// segment by segment all the same.
func (c Config) PublicURL(key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.TrimSuffix(c.PublicBaseURL, "/") + "/" + strings.Join(segs, "/")
}
