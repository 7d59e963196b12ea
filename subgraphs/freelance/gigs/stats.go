package gigs

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"supergraph/platform/identity"
)

// Stats are a freelancer's figures.
type Stats struct {
	CompletedOrders int32   `json:"completed"`
	ActiveOrders    int32   `json:"active"`
	CancelledOrders int32   `json:"cancelled"`
	Earnings        []Money `json:"earnings"`
	RatingSum       int32   `json:"ratingSum"`
	ReviewCount     int32   `json:"reviews"`
	DeliveredOrders int32   `json:"delivered"`
	OnTimeOrders    int32   `json:"onTime"`
}

// Money is an amount in minor units of one currency.
type Money struct {
	AmountCents int64  `json:"cents"`
	Currency    string `json:"currency"`
}

// AverageRating is nil before the first review.
func (st Stats) AverageRating() *float64 { return Rating(st.RatingSum, st.ReviewCount) }

// OnTimeRate is nil before the first delivery.
func (st Stats) OnTimeRate() *float64 {
	if st.DeliveredOrders == 0 {
		return nil
	}
	return ptr(float64(st.OnTimeOrders) / float64(st.DeliveredOrders))
}

// The statistics cache (Redis DB 4). Every change to a freelancer's orders
// or reviews bumps their generation after commit; entries are keyed by
// generation. A reader reads the generation before it queries PostgreSQL and
// stores its result under that generation, so a result computed from data
// older than the latest commit lands under a generation nobody reads any
// more: no stale entry survives an invalidation, whatever the interleaving.
func statsGenKey(id uuid.UUID) string { return "freelance:stats:gen:" + id.String() }
func statsKey(id uuid.UUID, gen int64) string {
	return "freelance:stats:" + id.String() + ":" + strconv.FormatInt(gen, 10)
}

// genTTL outlives every entry (StatsCacheTTL), so a generation counter never
// expires and restarts at a number an entry still lives under.
const genTTL = 7 * 24 * time.Hour

// FreelancerStats returns the figures of these freelancers, from the cache
// where present and otherwise computed in three statements for all misses
// and cached. Redis being down costs speed, not answers.
func (s *Service) FreelancerStats(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]Stats, error) {
	out := make(map[uuid.UUID]Stats, len(ids))
	gens := make([]int64, len(ids))
	cacheOK := true
	genKeys := make([]string, len(ids))
	for i, id := range ids {
		genKeys[i] = statsGenKey(id)
	}
	vals, err := s.rdb.MGet(ctx, genKeys...).Result()
	if err != nil {
		s.warn(ctx, "stats cache unavailable", "err", err)
		cacheOK = false
	}
	var missing []uuid.UUID
	if cacheOK {
		keys := make([]string, len(ids))
		for i, v := range vals {
			if str, ok := v.(string); ok {
				gens[i], _ = strconv.ParseInt(str, 10, 64)
			}
			keys[i] = statsKey(ids[i], gens[i])
		}
		cached, err := s.rdb.MGet(ctx, keys...).Result()
		if err != nil {
			s.warn(ctx, "stats cache unavailable", "err", err)
			cacheOK = false
			cached = make([]any, len(ids))
		}
		for i, v := range cached {
			var st Stats
			if str, ok := v.(string); ok && json.Unmarshal([]byte(str), &st) == nil {
				out[ids[i]] = st
				continue
			}
			missing = append(missing, ids[i])
		}
	} else {
		missing = ids
	}
	if len(missing) == 0 {
		return out, nil
	}
	computed, err := s.computeStats(ctx, missing)
	if err != nil {
		return nil, err
	}
	var pipe redis.Pipeliner
	if cacheOK {
		pipe = s.rdb.Pipeline()
	}
	for i, id := range ids {
		st, ok := computed[id]
		if !ok {
			continue
		}
		out[id] = st
		if pipe != nil {
			data, _ := json.Marshal(st)
			pipe.Set(ctx, statsKey(id, gens[i]), data, s.cfg.StatsCacheTTL)
		}
	}
	if pipe != nil {
		if _, err := pipe.Exec(ctx); err != nil {
			s.warn(ctx, "stats cache write failed", "err", err)
		}
	}
	return out, nil
}

func (s *Service) computeStats(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]Stats, error) {
	orders, err := s.q.FreelancerOrderStats(ctx, ids)
	if err != nil {
		return nil, wrap("order stats", err)
	}
	earnings, err := s.q.FreelancerEarnings(ctx, ids)
	if err != nil {
		return nil, wrap("earnings", err)
	}
	ratings, err := s.q.FreelancerRatings(ctx, ids)
	if err != nil {
		return nil, wrap("ratings", err)
	}
	out := make(map[uuid.UUID]Stats, len(ids))
	for _, o := range orders {
		out[o.FreelancerID] = Stats{
			CompletedOrders: o.CompletedOrders, ActiveOrders: o.ActiveOrders, CancelledOrders: o.CancelledOrders,
			DeliveredOrders: o.DeliveredOrders, OnTimeOrders: o.OnTimeOrders, Earnings: []Money{},
		}
	}
	for _, e := range earnings {
		st := out[e.FreelancerID]
		st.Earnings = append(st.Earnings, Money{AmountCents: e.AmountCents, Currency: e.Currency})
		out[e.FreelancerID] = st
	}
	for _, r := range ratings {
		st := out[r.FreelancerID]
		st.RatingSum, st.ReviewCount = r.RatingSum, r.ReviewCount
		out[r.FreelancerID] = st
	}
	return out, nil
}

// invalidateStats bumps a freelancer's statistics generation; call it after
// the change commits. A failure is logged: the entry then lives out its TTL.
func (s *Service) invalidateStats(ctx context.Context, freelancer uuid.UUID) {
	pipe := s.rdb.TxPipeline()
	pipe.Incr(ctx, statsGenKey(freelancer))
	pipe.Expire(ctx, statsGenKey(freelancer), genTTL)
	if _, err := pipe.Exec(context.WithoutCancel(ctx)); err != nil {
		s.warn(ctx, "stats cache invalidation failed", "freelancer", freelancer, "err", err)
	}
}

// MaySeeEarnings reports whether p may read a freelancer's earnings: the
// freelancer themself and STAFF; the other statistics are public.
func MaySeeEarnings(p identity.Principal, freelancer uuid.UUID) bool {
	return ownsOrStaff(p, freelancer)
}
