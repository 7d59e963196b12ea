package shop

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"supergraph/platform/apperr"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// Caches (Redis DB 5). Product rows by id (platform/rowcache), and whole
// search answers (a page, or the facets) keyed by their canonical arguments
// and a generation every product change bumps, so no answer outlives a
// change that could alter it; Redis being down costs speed, never answers.

// productRows reads products by id through the cache.
func (s *Service) productRows(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]Product, error) {
	out, err := s.products.Get(ctx, ids, func(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]Product, error) {
		rows, err := s.q.GetProducts(ctx, ids)
		if err != nil {
			return nil, err
		}
		m := make(map[uuid.UUID]Product, len(rows))
		for _, r := range rows {
			m[r.ID] = toProduct(r)
		}
		return m, nil
	})
	return out, apperr.Wrap("products", err)
}

// productChanged invalidates a product and every cached search after a
// change to it commits.
func (s *Service) productChanged(ctx context.Context, id uuid.UUID) {
	s.products.Invalidate(ctx, id)
	s.searchChanged(ctx)
}

const searchGenKey = "marketplace:search:gen"

// searchChanged retires every cached search answer.
func (s *Service) searchChanged(ctx context.Context) {
	if err := s.rdb.Incr(context.WithoutCancel(ctx), searchGenKey).Err(); err != nil {
		s.log.WarnContext(ctx, "search cache invalidation failed", "err", err)
	}
}

// searchKey is everything that decides a search answer.
type searchKey struct {
	Kind   string  `json:"k"`
	Filter Filter  `json:"f"`
	Sort   Sort    `json:"s,omitempty"`
	First  int     `json:"n,omitempty"`
	After  *string `json:"a,omitempty"`
}

// cached answers from the search cache, or computes and stores the answer
// under the generation read before computing it (a change committed
// meanwhile leaves it under a generation nobody reads any more).
func cached[T any](ctx context.Context, s *Service, key searchKey, compute func(context.Context) (T, error)) (T, error) {
	raw, _ := json.Marshal(key) // plain values
	sum := sha256.Sum256(raw)
	var zero T
	gen, err := s.rdb.Get(ctx, searchGenKey).Int64()
	ok := err == nil || errors.Is(err, redis.Nil)
	var cacheKey string
	if ok {
		cacheKey = "marketplace:search:" + strconv.FormatInt(gen, 10) + ":" + hex.EncodeToString(sum[:16])
		if b, err := s.rdb.Get(ctx, cacheKey).Bytes(); err == nil {
			var v T
			if json.Unmarshal(b, &v) == nil {
				return v, nil
			}
		}
	}
	v, err := compute(ctx)
	if err != nil {
		return zero, err
	}
	if ok {
		if b, err := json.Marshal(v); err == nil {
			if err := s.rdb.Set(ctx, cacheKey, b, s.cfg.CacheTTL).Err(); err != nil {
				s.log.WarnContext(ctx, "search cache write failed", "err", err)
			}
		}
	}
	return v, nil
}
