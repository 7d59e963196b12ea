// Package community is the content service's domain: channels and their
// members, posts, threaded comments, likes and moderation. Resolvers call it;
// it owns the transactions, the authorization rules, the outbox events and
// the live events.
package community

import (
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"supergraph/platform/apperr"
	"supergraph/platform/identity"
	"supergraph/platform/rowcache"
	"supergraph/subgraphs/content/store"
)

// Config tunes the service.
type Config struct {
	// FanOutBatch is how many members one step of a new post's notification
	// fan-out reaches.
	FanOutBatch int
	// CacheTTL bounds how long a channel or post row stays cached; changes
	// invalidate it at once.
	CacheTTL time.Duration
}

// Service implements the content domain.
type Service struct {
	pool *pgxpool.Pool
	q    *store.Queries
	rdb  *redis.Client
	cfg  Config
	log  *slog.Logger
	now  func() time.Time
	hubs *Hubs
	// Rows by id, cached in Redis (cache.go).
	channelCache *rowcache.Cache[Channel]
	postCache    *rowcache.Cache[Post]
}

// New returns a Service. rdb carries the live events (pub/sub).
func New(pool *pgxpool.Pool, rdb *redis.Client, cfg Config, log *slog.Logger) *Service {
	if cfg.FanOutBatch <= 0 {
		cfg.FanOutBatch = 500
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = 5 * time.Minute
	}
	return &Service{pool: pool, q: store.New(pool), rdb: rdb, cfg: cfg, log: log,
		channelCache: rowcache.New[Channel](rdb, "content:channel", cfg.CacheTTL, log),
		postCache:    rowcache.New[Post](rdb, "content:post", cfg.CacheTTL, log),
		// Microseconds: what PostgreSQL stores, so a value read back equals
		// the one written (cursors compare them).
		now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
}

// DefaultFirst is the page size of a list when the client gives none.
const DefaultFirst = 20

// IsModerator reports whether p moderates every channel: MODERATOR and
// STAFF read every channel and hide anything in it.
func IsModerator(p identity.Principal) bool {
	return p.IsStaff() || p.HasRole(identity.RoleModerator)
}

func ptr[T any](v T) *T { return &v }

// asNotFound reports a NOT_FOUND error.
func asNotFound(err error) (*apperr.Error, bool) {
	e, ok := apperr.As(err)
	if ok && e.Code == apperr.CodeNotFound {
		return e, true
	}
	return nil, false
}
