package gigs

import (
	"context"

	"github.com/google/uuid"

	"supergraph/platform/apperr"
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

// FreelancerStats returns the figures of these freelancers, from the cache
// (Redis DB 4, see platform/rowcache) where present and otherwise computed in
// three statements for all misses and cached. Every change to a
// freelancer's orders or reviews invalidates their entry after commit.
func (s *Service) FreelancerStats(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]Stats, error) {
	return s.stats.Get(ctx, ids, s.computeStats)
}

func (s *Service) computeStats(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]Stats, error) {
	orders, err := s.q.FreelancerOrderStats(ctx, ids)
	if err != nil {
		return nil, apperr.Wrap("order stats", err)
	}
	earnings, err := s.q.FreelancerEarnings(ctx, ids)
	if err != nil {
		return nil, apperr.Wrap("earnings", err)
	}
	ratings, err := s.q.FreelancerRatings(ctx, ids)
	if err != nil {
		return nil, apperr.Wrap("ratings", err)
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

// invalidateStats drops a freelancer's statistics; call it after the change
// commits.
func (s *Service) invalidateStats(ctx context.Context, freelancer uuid.UUID) {
	s.stats.Invalidate(ctx, freelancer)
}

// MaySeeEarnings reports whether p may read a freelancer's earnings: the
// freelancer themself and STAFF; the other statistics are public.
func MaySeeEarnings(p identity.Principal, freelancer uuid.UUID) bool {
	return ownsOrStaff(p, freelancer)
}
