package router

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/redis/go-redis/v9"

	"supergraph/router/internal/engine"
)

// Automatic persisted queries, the protocol Apollo Client, urql and others
// speak: a client sends extensions.persistedQuery {version: 1, sha256Hash}
// without the query text; an unknown hash is answered PersistedQueryNotFound,
// the client sends hash and query once, and from then on the hash alone
// suffices (small requests, cacheable GETs). Queries are kept in Redis DB 0,
// shared by every replica, for persistedQueryTTL after they were last sent,
// and in a small local cache. A hash can only ever name the query it is the
// SHA-256 of, so nobody can plant a query under someone else's hash.
const (
	codePersistedQueryNotFound = "PERSISTED_QUERY_NOT_FOUND"
	persistedQueryTTL          = 24 * time.Hour
	persistedQueryLocal        = 4096
	persistedQueryKeyPrefix    = "router:apq:"
)

// clientRequest is an operation as read from the wire, with the persisted-query
// hash its query is to be stored under once the router admits it (so only
// valid operations their sender may run are kept).
type clientRequest struct {
	engine.Request
	persistAs string
}

type persistedQueries struct {
	rdb   *redis.Client // nil: this replica's cache only
	local *lru.Cache[string, string]
	log   *slog.Logger
}

func newPersistedQueries(rdb *redis.Client, log *slog.Logger) *persistedQueries {
	local, _ := lru.New[string, string](persistedQueryLocal)
	return &persistedQueries{rdb: rdb, local: local, log: log}
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
		return engine.NewRequestError(http.StatusBadRequest, engine.CodeBadRequest, "unsupported persisted query version %d: only version 1 is supported", pq.Version)
	}
	hash := strings.ToLower(pq.SHA256Hash)
	if b, err := hex.DecodeString(hash); err != nil || len(b) != sha256.Size {
		return engine.NewRequestError(http.StatusBadRequest, engine.CodeBadRequest, "persistedQuery.sha256Hash must be a SHA-256 hash in 64 hexadecimal digits")
	}
	if gr.Query == "" {
		q, ok := p.lookup(ctx, hash)
		if !ok {
			// The message is what clients look for before sending the query.
			return engine.NewRequestError(http.StatusBadRequest, codePersistedQueryNotFound, "PersistedQueryNotFound")
		}
		gr.Query = q
		return nil
	}
	sum := sha256.Sum256([]byte(gr.Query))
	if hex.EncodeToString(sum[:]) != hash {
		return engine.NewRequestError(http.StatusBadRequest, engine.CodeBadRequest, "provided sha does not match query")
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
	if err := p.rdb.Set(context.WithoutCancel(ctx), persistedQueryKeyPrefix+hash, query, persistedQueryTTL).Err(); err != nil {
		p.log.WarnContext(ctx, "persisted query store failed", "err", err)
	}
}
