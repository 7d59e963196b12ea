// Package rowcache is a read-through Redis cache of values by id (a row and
// what it needs to be served), with invalidation that no interleaving of
// readers and writers can undo.
//
// Each id has a generation counter, and entries are keyed by generation. A
// writer bumps the generation after its change commits; a reader reads the
// generation before it queries the database and stores what it read under
// that generation. A value read before the latest commit therefore lands
// under a generation nobody reads any more: no stale entry survives an
// invalidation. Redis being unreachable costs speed, never answers: every id
// is then loaded from the database.
package rowcache

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// Cache caches values of type V by id under a key prefix.
type Cache[V any] struct {
	rdb    *redis.Client
	prefix string
	ttl    time.Duration
	log    *slog.Logger
}

// New returns a cache of V under prefix (e.g. "content:post"), whose entries
// live for ttl at most.
func New[V any](rdb *redis.Client, prefix string, ttl time.Duration, log *slog.Logger) *Cache[V] {
	return &Cache[V]{rdb: rdb, prefix: prefix, ttl: ttl, log: log}
}

// genTTL outlives every entry, so a generation counter never expires and
// restarts at a number an entry still lives under.
const genTTL = 7 * 24 * time.Hour

func (c *Cache[V]) genKey(id uuid.UUID) string { return c.prefix + ":gen:" + id.String() }
func (c *Cache[V]) key(id uuid.UUID, gen int64) string {
	return c.prefix + ":" + id.String() + ":" + strconv.FormatInt(gen, 10)
}

// Get returns the values of ids: cached ones, and for the rest what load
// returns (ids it leaves out have no value), which it caches.
func (c *Cache[V]) Get(ctx context.Context, ids []uuid.UUID, load func(context.Context, []uuid.UUID) (map[uuid.UUID]V, error)) (map[uuid.UUID]V, error) {
	out := make(map[uuid.UUID]V, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	gens, missing, ok := c.lookup(ctx, ids, out)
	if len(missing) == 0 {
		return out, nil
	}
	loaded, err := load(ctx, missing)
	if err != nil {
		return nil, err
	}
	var pipe redis.Pipeliner
	if ok {
		pipe = c.rdb.Pipeline()
	}
	for _, id := range missing {
		v, found := loaded[id]
		if !found {
			continue
		}
		out[id] = v
		if pipe != nil {
			if data, err := json.Marshal(v); err == nil {
				pipe.Set(ctx, c.key(id, gens[id]), data, c.ttl)
			}
		}
	}
	if pipe != nil {
		if _, err := pipe.Exec(ctx); err != nil {
			c.log.WarnContext(ctx, "cache write failed", "cache", c.prefix, "err", err)
		}
	}
	return out, nil
}

// lookup fills out with the cached values and returns every id's
// generation, the ids to load, and whether Redis answered.
func (c *Cache[V]) lookup(ctx context.Context, ids []uuid.UUID, out map[uuid.UUID]V) (map[uuid.UUID]int64, []uuid.UUID, bool) {
	gens := make(map[uuid.UUID]int64, len(ids))
	genKeys := make([]string, len(ids))
	for i, id := range ids {
		genKeys[i] = c.genKey(id)
	}
	vals, err := c.rdb.MGet(ctx, genKeys...).Result()
	if err != nil {
		c.log.WarnContext(ctx, "cache unavailable", "cache", c.prefix, "err", err)
		return gens, ids, false
	}
	keys := make([]string, len(ids))
	for i, v := range vals {
		if s, ok := v.(string); ok {
			gens[ids[i]], _ = strconv.ParseInt(s, 10, 64)
		}
		keys[i] = c.key(ids[i], gens[ids[i]])
	}
	cached, err := c.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		c.log.WarnContext(ctx, "cache unavailable", "cache", c.prefix, "err", err)
		return gens, ids, false
	}
	var missing []uuid.UUID
	for i, v := range cached {
		var val V
		if s, ok := v.(string); ok && json.Unmarshal([]byte(s), &val) == nil {
			out[ids[i]] = val
			continue
		}
		missing = append(missing, ids[i])
	}
	return gens, missing, true
}

// Invalidate bumps the generation of ids; call it after the change that
// made their entries stale has committed. A failure is logged: the entries
// then live out their TTL.
func (c *Cache[V]) Invalidate(ctx context.Context, ids ...uuid.UUID) {
	if len(ids) == 0 {
		return
	}
	pipe := c.rdb.TxPipeline()
	for _, id := range ids {
		pipe.Incr(ctx, c.genKey(id))
		pipe.Expire(ctx, c.genKey(id), genTTL)
	}
	if _, err := pipe.Exec(context.WithoutCancel(ctx)); err != nil {
		c.log.WarnContext(ctx, "cache invalidation failed", "cache", c.prefix, "err", err)
	}
}
