// Package gigs is the freelance service's domain: the category tree, gigs and
// their packages, the catalogue search, orders and their state machine,
// reviews, portfolios and freelancer statistics. Resolvers call it; it owns
// the transactions, the authorization rules, the outbox events and the
// statistics cache.
package gigs

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"supergraph/platform/rowcache"
	"supergraph/subgraphs/freelance/store"
)

// Config tunes the service.
type Config struct {
	// StatsCacheTTL bounds how long freelancer statistics stay cached;
	// invalidation on every order and review change makes them exact before that.
	StatsCacheTTL time.Duration
	// AutoCompleteAfter is how long an order may stay DELIVERED before the
	// platform completes it for the buyer.
	AutoCompleteAfter time.Duration
	// CatalogueCacheTTL bounds how long a replica serves a catalogue first
	// page from memory; changes invalidate it at once. Zero disables it.
	CatalogueCacheTTL time.Duration
}

// Service implements the freelance domain.
type Service struct {
	pool *pgxpool.Pool
	q    *store.Queries
	rdb  *redis.Client
	cfg  Config
	log  *slog.Logger
	now  func() time.Time
	// catalogue holds the catalogue's first pages (see cataloguecache.go).
	catalogue catalogueCache
	// stats caches freelancer statistics in Redis.
	stats *rowcache.Cache[Stats]
}

// New returns a Service.
func New(pool *pgxpool.Pool, rdb *redis.Client, cfg Config, log *slog.Logger) *Service {
	if cfg.StatsCacheTTL <= 0 {
		cfg.StatsCacheTTL = 10 * time.Minute
	}
	if cfg.AutoCompleteAfter <= 0 {
		cfg.AutoCompleteAfter = 3 * 24 * time.Hour
	}
	return &Service{pool: pool, q: store.New(pool), rdb: rdb, cfg: cfg, log: log,
		stats: rowcache.New[Stats](rdb, "freelance:stats", cfg.StatsCacheTTL, log),
		// Microseconds: what PostgreSQL stores, so a value read back equals
		// the one written (cursors and tests compare them).
		now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
}

// DefaultFirst is the page size of a list when the client gives none.
const DefaultFirst = 20

// Config returns the service's settings (defaults filled in).
func (s *Service) Config() Config { return s.cfg }

func ptr[T any](v T) *T { return &v }

// mapBy indexes rows by a key.
func mapBy[K comparable, V any](rows []V, key func(V) K) map[K]V {
	m := make(map[K]V, len(rows))
	for _, r := range rows {
		m[key(r)] = r
	}
	return m
}

// groupBy groups rows by a key, keeping their order.
func groupBy[K comparable, V any](rows []V, key func(V) K) map[K][]V {
	m := make(map[K][]V)
	for _, r := range rows {
		k := key(r)
		m[k] = append(m[k], r)
	}
	return m
}

// Ctx-free helper for callers that log.
func (s *Service) warn(ctx context.Context, msg string, args ...any) {
	s.log.WarnContext(ctx, msg, args...)
}
