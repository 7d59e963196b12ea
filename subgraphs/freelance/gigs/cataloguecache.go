package gigs

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"supergraph/platform/paging"
	"supergraph/subgraphs/freelance/store"
)

// The catalogue's first pages are the same for every viewer (ACTIVE gigs
// only) and asked for far more often than gigs change, so each replica keeps
// the pages it read in memory, tagged with the catalogue's generation: a
// counter in Redis that every change to a gig, its packages or its rating
// bumps once it commits. A page is served from memory only while the
// generation it was read under is still current (one GET per request, in
// place of a statement), and for at most CatalogueCacheTTL should an
// invalidation be lost. Without Redis every request reads PostgreSQL.

// catalogueGenKey is the catalogue's generation in the service's Redis.
const catalogueGenKey = "freelance:catalogue:gen"

// maxCataloguePages bounds the pages kept; past it the cache starts over.
const maxCataloguePages = 512

type optInt32 struct {
	set bool
	v   int32
}

type optID struct {
	set bool
	v   uuid.UUID
}

type optString struct {
	set bool
	v   string
}

// catalogueKey is a first page's normalized arguments.
type catalogueKey struct {
	sort                            string
	lim                             int32
	search, tag                     optString
	category, freelancer            optID
	minPrice, maxPrice, maxDelivery optInt32
}

func newCatalogueKey(p store.SearchGigsParams) catalogueKey {
	k := catalogueKey{sort: p.Sort, lim: p.Lim}
	if p.Search != nil {
		k.search = optString{true, *p.Search}
	}
	if p.Tag != nil {
		k.tag = optString{true, *p.Tag}
	}
	if p.CategoryID != nil {
		k.category = optID{true, *p.CategoryID}
	}
	if p.FreelancerID != nil {
		k.freelancer = optID{true, *p.FreelancerID}
	}
	if p.MinPriceCents != nil {
		k.minPrice = optInt32{true, *p.MinPriceCents}
	}
	if p.MaxPriceCents != nil {
		k.maxPrice = optInt32{true, *p.MaxPriceCents}
	}
	if p.MaxDeliveryDays != nil {
		k.maxDelivery = optInt32{true, *p.MaxDeliveryDays}
	}
	return k
}

type cataloguePage struct {
	gen  string
	read time.Time
	page paging.Page[Listing]
}

// catalogueCache holds first pages; the pages it returns are shared and
// must not be modified.
type catalogueCache struct {
	mu    sync.RWMutex
	pages map[catalogueKey]cataloguePage
}

func (c *catalogueCache) get(k catalogueKey, gen string, now time.Time, ttl time.Duration) (paging.Page[Listing], bool) {
	c.mu.RLock()
	e, ok := c.pages[k]
	c.mu.RUnlock()
	if !ok || e.gen != gen || now.Sub(e.read) >= ttl {
		return paging.Page[Listing]{}, false
	}
	return e.page, true
}

func (c *catalogueCache) put(k catalogueKey, gen string, now time.Time, p paging.Page[Listing]) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pages == nil || len(c.pages) >= maxCataloguePages {
		c.pages = make(map[catalogueKey]cataloguePage)
	}
	c.pages[k] = cataloguePage{gen: gen, read: now, page: p}
}

func (c *catalogueCache) clear() {
	c.mu.Lock()
	c.pages = nil
	c.mu.Unlock()
}

// catalogueGen reads the catalogue's generation; false when Redis cannot
// say, and the cache must be bypassed.
func (s *Service) catalogueGen(ctx context.Context) (string, bool) {
	gen, err := s.rdb.Get(ctx, catalogueGenKey).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return "0", true
	case err != nil:
		s.warn(ctx, "catalogue cache unavailable", "err", err)
		return "", false
	}
	return gen, true
}

// invalidateCatalogue bumps the catalogue's generation; call it after a
// change to a gig, its packages or its rating commits. This replica forgets
// its pages at once; others see the new generation on their next request,
// or, should Redis fail here, within the TTL.
func (s *Service) invalidateCatalogue(ctx context.Context) {
	s.catalogue.clear()
	if err := s.rdb.Incr(context.WithoutCancel(ctx), catalogueGenKey).Err(); err != nil {
		s.warn(ctx, "catalogue cache invalidation failed", "err", err)
	}
}
