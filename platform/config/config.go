// Package config loads a service's typed configuration from environment
// variables (service discovery by env, as in the seed) and prints it at start
// with secrets masked.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"

	"supergraph/platform/health"
)

// Service is the part of the configuration every service has. A service
// embeds it in its own struct and pre-fills the defaults that differ per
// service (address, database, Redis DB) before calling Load.
type Service struct {
	// HTTPAddr is the listen address. Only the router's default is on every
	// interface: subgraphs and the worker default to loopback (reached
	// directly, a subgraph serves anonymous queries without the router's
	// limits), and deployments that put them on a network set it.
	HTTPAddr    string `env:"HTTP_ADDR"`
	DatabaseURL string `env:"DATABASE_URL" secret:"url"`
	RedisURL    string `env:"REDIS_URL" secret:"url"`
	// LogFormat is text for development, json for production.
	LogFormat       string        `env:"LOG_FORMAT" envDefault:"text"`
	LogLevel        string        `env:"LOG_LEVEL" envDefault:"info"`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"15s"`
	// DevDir holds development state such as generated keys (git-ignored).
	DevDir string `env:"DEV_DIR" envDefault:".dev"`
	// DebugAddr serves Go's profiler (net/http/pprof) on its own listener when
	// set; keep it on loopback. Empty, the default, serves nothing.
	DebugAddr string `env:"DEBUG_ADDR"`
	// GCHeadroomMiB keeps the garbage collector's heap goal at least this far
	// above the live heap (platform/gctune); GOGC, when set, wins; 0 leaves
	// Go's default.
	GCHeadroomMiB int `env:"GC_HEADROOM_MIB" envDefault:"64"`
}

// Validate checks the fields every service needs.
func (s Service) Validate() error {
	var errs []error
	if s.HTTPAddr == "" {
		errs = append(errs, errors.New("HTTP_ADDR is required"))
	}
	if s.LogFormat != "text" && s.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("LOG_FORMAT must be text or json, got %q", s.LogFormat))
	}
	if s.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("SHUTDOWN_TIMEOUT must be positive"))
	}
	return errors.Join(errs...)
}

// Validator is implemented by configurations with rules beyond parsing.
type Validator interface{ Validate() error }

// Load fills cfg, a pointer to a struct, from the environment variables named
// prefix + a field's env tag. Fields left unset keep their pre-filled value,
// or else take their envDefault. It then runs Validate when cfg has one.
func Load(cfg any, prefix string) error {
	// Precedence: a set variable, then a value the caller pre-filled (a
	// service's port, say), then the envDefault tag.
	fillZeroFromDefaults(reflect.ValueOf(cfg).Elem())
	if err := env.ParseWithOptions(cfg, env.Options{Prefix: prefix, DefaultValueTagName: "envDefaultNotInLoad"}); err != nil {
		return fmt.Errorf("parse environment: %w", err)
	}
	if v, ok := cfg.(Validator); ok {
		if err := v.Validate(); err != nil {
			return fmt.Errorf("invalid configuration: %w", err)
		}
	}
	return nil
}

// Log prints every setting of cfg on one line, keyed by its variable name.
// Fields tagged secret:"true" are masked; secret:"url" masks a URL's password.
func Log(log *slog.Logger, cfg any, prefix string) {
	var attrs []any
	walk(reflect.ValueOf(cfg), prefix, func(name string, f reflect.StructField, v reflect.Value) {
		attrs = append(attrs, slog.String(name, display(f, v)))
	})
	log.Info("configuration", attrs...)
}

func walk(v reflect.Value, prefix string, visit func(string, reflect.StructField, reflect.Value)) {
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name := f.Tag.Get("env")
		if f.Type.Kind() == reflect.Struct && name == "" && f.Type != reflect.TypeFor[time.Time]() {
			walk(v.Field(i), prefix+f.Tag.Get("envPrefix"), visit)
			continue
		}
		if name == "" || name == "-" {
			continue
		}
		visit(prefix+strings.Split(name, ",")[0], f, v.Field(i))
	}
}

func display(f reflect.StructField, v reflect.Value) string {
	s := fmt.Sprint(v.Interface())
	switch f.Tag.Get("secret") {
	case "true":
		if s == "" {
			return ""
		}
		return "***"
	case "url":
		return maskURL(s)
	}
	return s
}

func maskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "***"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "***")
	}
	return u.String()
}

// Subgraph is the configuration every subgraph shares.
type Subgraph struct {
	Service
	// AssertionPublicKey is the router's public key (PEM) for verifying the
	// internal assertion; when empty it is read from AssertionPublicKeyFile
	// (default: where the router publishes it in DevDir, for development).
	AssertionPublicKey     string `env:"ASSERTION_PUBLIC_KEY"`
	AssertionPublicKeyFile string `env:"ASSERTION_PUBLIC_KEY_FILE"`
	// QueueRedisURL is the task queue's Redis (asynq), where the outbox relay
	// hands events to the worker.
	QueueRedisURL string `env:"QUEUE_REDIS_URL" secret:"url"`
	// TaskCheckInterval is how long the service's own task queue waits
	// before looking again when it found nothing; shutting down waits for
	// that pause to end.
	TaskCheckInterval time.Duration `env:"TASK_CHECK_INTERVAL" envDefault:"1s"`
}

// Validate checks the fields every subgraph needs.
func (s Subgraph) Validate() error {
	errs := []error{s.Service.Validate()}
	if s.TaskCheckInterval < 10*time.Millisecond || s.TaskCheckInterval > time.Minute {
		errs = append(errs, errors.New("TASK_CHECK_INTERVAL must be between 10ms and 1m"))
	}
	return errors.Join(errs...)
}

// Defaults sets every field of cfg (a pointer to a struct) that has an
// envDefault tag to that default, ignoring the environment. Services call it
// first in their DefaultConfig so tests that build a configuration in code get
// the same defaults as a process that read an empty environment.
func Defaults(cfg any) {
	if err := env.ParseWithOptions(cfg, env.Options{Environment: map[string]string{}}); err != nil {
		panic(fmt.Sprintf("config: invalid envDefault tag: %v", err)) // a programming error, caught by any test
	}
}

// fillZeroFromDefaults sets every zero field of v (a struct) to its envDefault.
func fillZeroFromDefaults(v reflect.Value) {
	defaults := reflect.New(v.Type())
	Defaults(defaults.Interface())
	copyIntoZero(v, defaults.Elem())
}

func copyIntoZero(dst, src reflect.Value) {
	for i := range dst.NumField() {
		f := dst.Field(i)
		if !f.CanSet() {
			continue
		}
		if f.Kind() == reflect.Struct && dst.Type().Field(i).Tag.Get("env") == "" && f.Type() != reflect.TypeFor[time.Time]() {
			copyIntoZero(f, src.Field(i))
			continue
		}
		if f.IsZero() {
			f.Set(src.Field(i))
		}
	}
}

// LogSettings returns the log format and level (for server.Main).
func (s Service) LogSettings() (format, level string) { return s.LogFormat, s.LogLevel }

// HealthEndpoint is the listen address and path of the service's health
// report, which its `health` command asks (server.Main).
func (s Service) HealthEndpoint() (listen, path string) { return s.HTTPAddr, health.Path }

// DebugListen tells where to serve the profiler ("" for nowhere).
func (s Service) DebugListen() string { return s.DebugAddr }

// GCHeadroom is the heap headroom in bytes server.Main keeps (0: none).
func (s Service) GCHeadroom() uint64 { return uint64(max(s.GCHeadroomMiB, 0)) << 20 }
