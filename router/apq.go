package router

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"supergraph/platform/apperr"
	"supergraph/router/internal/engine"
	"supergraph/router/internal/sizedlru"
)

// Automatic persisted queries, the protocol Apollo Client, urql and others
// speak: a client sends extensions.persistedQuery {version: 1, sha256Hash}
// without the query text; an unknown hash is answered PersistedQueryNotFound,
// the client sends hash and query once, and from then on the hash alone
// suffices (small requests, cacheable GETs). Queries are kept in Redis DB 0,
// shared by every replica, for a TTL after they were last sent, and in a
// local cache bounded by entries and bytes. A hash can only ever name the
// query it is the SHA-256 of, so nobody can plant a query under someone
// else's hash.
//
// Redis DB 0 shares its server with the deny-list and the task queue, so
// what persisted queries may take there is bounded: every query is within
// ROUTER_MAX_QUERY_BYTES, and the bytes written per TTL window are counted
// in Redis (shared by the replicas) and capped; a query that would pass the
// cap is kept locally only (its clients then send the text again after a
// miss: slower, never wrong). A stored query lives one TTL after its last
// write, so the queries in Redis were written within the current or the
// previous window: at most twice the cap.
const (
	persistedQueryLocal       = 4096
	persistedQueryKeyPrefix   = "router:apq:"
	persistedQueryBytesPrefix = "router:apq-bytes:"
	// persistedQueryOverhead is what an entry weighs besides its text (the
	// key, the local cache's entry and map slot, Redis's per-key overhead).
	persistedQueryOverhead = 128
)

// storePersisted writes a query unless the window's bytes would pass the
// cap: KEYS[1] the window's byte counter, KEYS[2] the query's key; ARGV its
// weight, the cap, the counter's lifetime (ms), the query, its TTL (ms).
var storePersisted = redis.NewScript(`
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return 0 end
redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[5])
return 1
`)

// clientRequest is an operation as read from the wire, with the persisted-query
// hash its query is to be stored under once the router admits it (so only
// valid operations their sender may run are kept).
type clientRequest struct {
	engine.Request
	persistAs string
	// uploads are the files of a multipart request; item is the operation's
	// index in it (its map paths start with it when it is a batch).
	uploads *multipartUploads
	item    int
}

// persistedQueryOptions bound what persisted queries keep.
type persistedQueryOptions struct {
	ttl        time.Duration // in Redis, after the last write
	redisBytes int           // query bytes written to Redis per ttl window
	localBytes int           // the local cache's bound
	// checkQuery refuses a query over the size limit before it is hashed.
	checkQuery func(string) *engine.RequestError
}

type persistedQueries struct {
	rdb   *redis.Client // nil: this replica's cache only
	local *sizedlru.Cache[string, string]
	opts  persistedQueryOptions
	log   *slog.Logger
	// capLogged says so at most once a minute while the cap holds.
	capLogged *rate.Limiter
}

func newPersistedQueries(rdb *redis.Client, opts persistedQueryOptions, log *slog.Logger) *persistedQueries {
	local := sizedlru.New(persistedQueryLocal, opts.localBytes, func(hash, query string) int {
		return persistedQueryOverhead + len(hash) + len(query)
	})
	return &persistedQueries{rdb: rdb, local: local, opts: opts, log: log, capLogged: rate.NewLimiter(rate.Every(time.Minute), 1)}
}

// resolve reads extensions.persistedQuery of a request: with no query it
// fills in the one stored under the hash; with a query, it checks the hash and
// marks the query to be stored (admitted). Requests without it pass untouched.
func (p *persistedQueries) resolve(ctx context.Context, gr *clientRequest, extensions json.RawMessage) *engine.RequestError {
	var ext struct {
		PersistedQuery *struct {
			Version    int    `json:"version"`
			SHA256Hash string `json:"sha256Hash"`
		} `json:"persistedQuery"`
	}
	if len(extensions) == 0 || json.Unmarshal(extensions, &ext) != nil || ext.PersistedQuery == nil {
		return nil
	}
	pq := ext.PersistedQuery
	if pq.Version != 1 {
		return engine.NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest, "unsupported persisted query version %d: only version 1 is supported", pq.Version)
	}
	hash := strings.ToLower(pq.SHA256Hash)
	if b, err := hex.DecodeString(hash); err != nil || len(b) != sha256.Size {
		return engine.NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest, "persistedQuery.sha256Hash must be a SHA-256 hash in 64 hexadecimal digits")
	}
	if gr.Query == "" {
		q, ok := p.lookup(ctx, hash)
		if !ok {
			// The message is what clients look for before sending the query.
			return engine.NewRequestError(http.StatusBadRequest, apperr.CodePersistedQueryNotFound, "PersistedQueryNotFound")
		}
		gr.Query = q
		return nil
	}
	if rerr := p.opts.checkQuery(gr.Query); rerr != nil {
		return rerr
	}
	sum := sha256.Sum256([]byte(gr.Query))
	if hex.EncodeToString(sum[:]) != hash {
		return engine.NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest, "provided sha does not match query")
	}
	gr.persistAs = hash
	return nil
}

// admitted stores gr's query under its hash when it came with one: call it
// once the operation passed validation, its cost and rate limits.
func (p *persistedQueries) admitted(ctx context.Context, gr clientRequest) {
	if gr.persistAs != "" {
		p.store(ctx, gr.persistAs, gr.Query)
	}
}

// lookup finds a stored query; Redis failing is a miss (the client then
// sends the query again).
func (p *persistedQueries) lookup(ctx context.Context, hash string) (string, bool) {
	if q, ok := p.local.Get(hash); ok {
		return q, true
	}
	if p.rdb == nil {
		return "", false
	}
	q, err := p.rdb.Get(ctx, persistedQueryKeyPrefix+hash).Result()
	if err != nil {
		if err != redis.Nil {
			p.log.WarnContext(ctx, "persisted query lookup failed", "err", err)
		}
		return "", false
	}
	p.local.Add(hash, q)
	return q, true
}

func (p *persistedQueries) store(ctx context.Context, hash, query string) {
	p.local.Add(hash, query)
	if p.rdb == nil {
		return
	}
	window := time.Now().UnixMilli() / p.opts.ttl.Milliseconds()
	keys := []string{persistedQueryBytesPrefix + strconv.FormatInt(window, 10), persistedQueryKeyPrefix + hash}
	weight := persistedQueryOverhead + len(keys[1]) + len(query)
	stored, err := storePersisted.Run(context.WithoutCancel(ctx), p.rdb, keys,
		weight, p.opts.redisBytes, (2 * p.opts.ttl).Milliseconds(), query, p.opts.ttl.Milliseconds()).Int()
	switch {
	case err != nil:
		p.log.WarnContext(ctx, "persisted query store failed", "err", err)
	case stored == 0 && p.capLogged.Allow():
		p.log.WarnContext(ctx, "persisted query kept locally only: the bytes written to Redis this window reached ROUTER_PERSISTED_QUERY_REDIS_BYTES",
			"hash", hash, "bytes", len(query), "cap", p.opts.redisBytes)
	}
}

// bytes is what the local cache holds.
func (p *persistedQueries) bytes() int { return p.local.Bytes() }
