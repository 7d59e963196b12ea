package gigs

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"supergraph/platform/apperr"
	"supergraph/platform/identity"
	"supergraph/platform/paging"
	"supergraph/platform/pg"
	"supergraph/platform/tasks"
	"supergraph/subgraphs/freelance/store"
)

// LeaveReview records the buyer's review of a COMPLETED order, once, moves
// the gig's rating counters in the same transaction (so rating and
// reviewCount are exact), and notifies the freelancer (REVIEW_RECEIVED).
func (s *Service) LeaveReview(ctx context.Context, p identity.Principal, orderID uuid.UUID, rating int32, comment string) (Review, error) {
	return s.leaveReview(ctx, p, pg.NewID(), orderID, rating, comment)
}

func (s *Service) leaveReview(ctx context.Context, p identity.Principal, id, orderID uuid.UUID, rating int32, comment string) (Review, error) {
	me, err := p.SignedIn()
	if err != nil {
		return Review{}, err
	}
	if rating < 1 || rating > 5 {
		return Review{}, apperr.BadInput("rating", "rating must be 1 to 5")
	}
	comment = strings.TrimSpace(comment)
	if utf8.RuneCountInString(comment) > maxReviewComment {
		return Review{}, apperr.BadInput("comment", fmt.Sprintf("comment must be at most %d characters", maxReviewComment))
	}
	var r store.Review
	err = pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		// The order lock orders this against a concurrent second review of
		// the same order, which then fails on the unique order_id.
		row, err := q.GetOrderForUpdate(ctx, orderID)
		if err != nil {
			return pg.NotFound(err, "order")
		}
		o := toOrder(row)
		if !CanSeeOrder(p, o) {
			return apperr.NotFound("order")
		}
		if me != o.BuyerID {
			return apperr.Forbidden("only the order's buyer can review it")
		}
		if o.Status != OrderStatusCOMPLETED {
			return apperr.Conflict("orderId", fmt.Sprintf("cannot review an order that is %s", o.Status))
		}
		r, err = q.CreateReview(ctx, store.CreateReviewParams{
			ID: id, OrderID: o.ID, GigID: o.GigID, BuyerID: o.BuyerID, FreelancerID: o.FreelancerID,
			Rating: rating, Comment: comment,
		})
		if _, dup := pg.IsUniqueViolation(err); dup {
			return apperr.Conflict("orderId", "this order has a review already")
		}
		if err != nil {
			return err
		}
		if err := q.AddGigRating(ctx, store.AddGigRatingParams{ID: o.GigID, Rating: rating}); err != nil {
			return err
		}
		body := fmt.Sprintf("Your order for %q got %d of 5 stars.", o.GigTitle, rating)
		if comment != "" {
			body += "\n\n" + comment
		}
		return s.queueNotice(ctx, tx, o.FreelancerID, tasks.KindReviewReceived,
			fmt.Sprintf("New %d-star review: %s", rating, o.GigTitle), body, "/gigs/"+o.GigID.String(),
			map[string]any{"reviewId": r.ID.String(), "orderId": o.ID.String(), "gigId": o.GigID.String(), "rating": rating},
			r.CreatedAt)
	})
	if err != nil {
		return Review{}, apperr.Wrap("leave review", err)
	}
	s.invalidateStats(ctx, r.FreelancerID)
	s.invalidateCatalogue(ctx) // the gig's rating changed
	return toReview(r), nil
}

// ReplyToReview records the reviewed freelancer's public reply, once.
func (s *Service) ReplyToReview(ctx context.Context, p identity.Principal, reviewID uuid.UUID, reply string) (Review, error) {
	me, err := p.SignedIn()
	if err != nil {
		return Review{}, err
	}
	text, err := requireText("reply", reply, maxReviewComment)
	if err != nil {
		return Review{}, err
	}
	var r store.Review
	err = pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		current, err := q.GetReviewForUpdate(ctx, reviewID)
		if err != nil {
			return pg.NotFound(err, "review")
		}
		if me != current.FreelancerID {
			return apperr.Forbidden("only the reviewed freelancer can reply")
		}
		if current.Reply != nil {
			return apperr.Conflict("reviewId", "this review has a reply already")
		}
		r, err = q.SetReviewReply(ctx, store.SetReviewReplyParams{ID: reviewID, Reply: text})
		return err
	})
	return toReview(r), apperr.Wrap("reply to review", err)
}

// ReviewsByOrders returns the reviews of these orders.
func (s *Service) ReviewsByOrders(ctx context.Context, orderIDs []uuid.UUID) (map[uuid.UUID]Review, error) {
	rows, err := s.q.ReviewsByOrders(ctx, orderIDs)
	if err != nil {
		return nil, apperr.Wrap("get reviews", err)
	}
	return mapBy(mapAll(rows, toReview), func(r Review) uuid.UUID { return r.OrderID }), nil
}

// ReviewsByGigs returns one page of reviews for each gig, newest first, in
// one statement.
func (s *Service) ReviewsByGigs(ctx context.Context, gigIDs []uuid.UUID, first int, after *string) (map[uuid.UUID]paging.Page[Review], error) {
	params := store.ReviewsByGigsParams{GigIds: gigIDs, Lim: int32(first + 1)}
	if err := timeCursor(after, &params.AfterCreated, &params.AfterID); err != nil {
		return nil, err
	}
	rows, err := s.q.ReviewsByGigs(ctx, params)
	if err != nil {
		return nil, apperr.Wrap("list reviews", err)
	}
	out := map[uuid.UUID]paging.Page[Review]{}
	for gig, rs := range groupBy(mapAll(rows, toReview), func(r Review) uuid.UUID { return r.GigID }) {
		out[gig] = timePage(rs, first, func(r Review) (time.Time, uuid.UUID) { return r.CreatedAt, r.ID })
	}
	return out, nil
}
