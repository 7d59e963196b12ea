// Package shop is the marketplace service's domain: the product category
// tree, sellers' products, search with facets, favourites and reviews.
// Resolvers call it; it owns the transactions, the authorization rules, the
// outbox events and the caches.
package shop

import (
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"supergraph/platform/rowcache"
	"supergraph/subgraphs/marketplace/store"
)

// Config tunes the service.
type Config struct {
	// ReviewEditWindow is how long after writing it a review can be changed.
	ReviewEditWindow time.Duration
	// CacheTTL bounds how long a product row or a search answer stays
	// cached; changes invalidate them at once.
	CacheTTL time.Duration
	// FanOutBatch is how many users one step of a price drop's
	// notification fan-out reaches.
	FanOutBatch int
}

// Service implements the marketplace domain.
type Service struct {
	pool *pgxpool.Pool
	q    *store.Queries
	rdb  *redis.Client
	cfg  Config
	log  *slog.Logger
	now  func() time.Time
	// products caches rows by id; searches caches whole answers (cache.go).
	products *rowcache.Cache[Product]
}

// New returns a Service.
func New(pool *pgxpool.Pool, rdb *redis.Client, cfg Config, log *slog.Logger) *Service {
	if cfg.ReviewEditWindow <= 0 {
		cfg.ReviewEditWindow = 48 * time.Hour
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = time.Minute
	}
	if cfg.FanOutBatch <= 0 {
		cfg.FanOutBatch = 500
	}
	return &Service{pool: pool, q: store.New(pool), rdb: rdb, cfg: cfg, log: log,
		now:      func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
		products: rowcache.New[Product](rdb, "marketplace:product", cfg.CacheTTL, log),
	}
}

// DefaultFirst is the page size of a list when the client gives none.
const DefaultFirst = 20

func ptr[T any](v T) *T { return &v }
