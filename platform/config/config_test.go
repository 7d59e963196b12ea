package config

import (
	"bytes"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type testConfig struct {
	Service
	Secret string `env:"SIGNING_KEY" secret:"true"`
	Limit  int    `env:"LIMIT" envDefault:"7"`
}

func TestLoadPrefixDefaultsAndOverrides(t *testing.T) {
	t.Setenv("SVC_HTTP_ADDR", ":9999")
	t.Setenv("SVC_SIGNING_KEY", "hunter2")
	t.Setenv("SVC_DATABASE_URL", "postgres://app:pw@db:5432/x")
	var cfg testConfig
	Defaults(&cfg)
	cfg.HTTPAddr, cfg.RedisURL, cfg.LogLevel = ":8000", "redis://127.0.0.1:6379/1", "debug"
	require.NoError(t, Load(&cfg, "SVC_"))
	require.Equal(t, ":9999", cfg.HTTPAddr)
	require.Equal(t, "redis://127.0.0.1:6379/1", cfg.RedisURL, "pre-filled default kept")
	require.Equal(t, 7, cfg.Limit)
	require.Equal(t, "debug", cfg.LogLevel, "a pre-filled value beats the envDefault")
	require.Equal(t, 15*time.Second, cfg.ShutdownTimeout)

	var buf bytes.Buffer
	Log(slog.New(slog.NewTextHandler(&buf, nil)), cfg, "SVC_")
	out := buf.String()
	require.Contains(t, out, "SVC_HTTP_ADDR=:9999")
	require.Contains(t, out, "SVC_SIGNING_KEY=***")
	require.NotContains(t, out, "hunter2")
	require.NotContains(t, out, ":pw@")
	require.Contains(t, out, "SVC_LIMIT=7")
}

func TestLoadRejectsInvalid(t *testing.T) {
	t.Setenv("SVC_LOG_FORMAT", "xml")
	var cfg testConfig
	Defaults(&cfg)
	cfg.HTTPAddr = ":1"
	err := Load(&cfg, "SVC_")
	require.ErrorContains(t, err, "LOG_FORMAT must be text or json")

	t.Setenv("SVC_LOG_FORMAT", "json")
	t.Setenv("SVC_SHUTDOWN_TIMEOUT", "soon")
	require.ErrorContains(t, Load(&cfg, "SVC_"), `invalid duration "soon"`)
}

type bare struct {
	Addr  string `env:"ADDR" envDefault:"127.0.0.1:1025"`
	Level string `env:"LEVEL" envDefault:"info"`
}

// A configuration without a DefaultConfig still gets its envDefaults.
func TestLoadAppliesDefaultsToZeroFields(t *testing.T) {
	t.Setenv("BARE_LEVEL", "debug")
	var cfg bare
	require.NoError(t, Load(&cfg, "BARE_"))
	require.Equal(t, bare{Addr: "127.0.0.1:1025", Level: "debug"}, cfg)
}
