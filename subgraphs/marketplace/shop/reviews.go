package shop

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"supergraph/platform/apperr"
	"supergraph/platform/identity"
	"supergraph/platform/paging"
	"supergraph/platform/pg"
	"supergraph/subgraphs/marketplace/store"
)

// KindProductReview notifies a seller of a new review.
const KindProductReview = "PRODUCT_REVIEW"

func checkText(field string, s *string, max int) (*string, error) {
	if s == nil {
		return nil, nil
	}
	t := strings.TrimSpace(*s)
	if t == "" {
		return nil, nil
	}
	if utf8.RuneCountInString(t) > max {
		return nil, apperr.BadInput(field, field+" is too long")
	}
	return &t, nil
}

// ReviewProduct writes p's review of a listed product, or changes it within
// the edit window. Not by the product's seller. The seller hears of a new
// review. The product's rating figures change in the same transaction,
// under its row lock: exact under any concurrency.
func (s *Service) ReviewProduct(ctx context.Context, p identity.Principal, productID uuid.UUID, rating int32, comment *string) (Review, error) {
	user, err := p.SignedIn()
	if err != nil {
		return Review{}, err
	}
	if rating < 1 || rating > 5 {
		return Review{}, apperr.BadInput("rating", "rating must be between 1 and 5")
	}
	if comment, err = checkText("comment", comment, 5000); err != nil {
		return Review{}, err
	}
	var out store.ProductReview
	err = pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		row, err := q.GetProductForUpdate(ctx, productID)
		if err != nil {
			return pg.NotFound(err, "product")
		}
		prod := toProduct(row)
		if !prod.Listed() {
			return apperr.NotFound("product")
		}
		if prod.SellerID == user {
			return apperr.Forbidden("sellers do not review their own products")
		}
		old, err := q.GetReviewByAuthor(ctx, store.GetReviewByAuthorParams{ProductID: productID, AuthorID: user})
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			out, err = q.CreateReview(ctx, store.CreateReviewParams{ID: pg.NewID(), ProductID: productID, AuthorID: user, Rating: rating, Comment: comment})
			if err != nil {
				return err
			}
			if _, err := q.AddReviewToProduct(ctx, store.AddReviewToProductParams{ID: productID, Rating: rating}); err != nil {
				return err
			}
			return s.queueNotice(ctx, tx, notice{
				recipient: prod.SellerID, kind: KindProductReview, title: "New review: " + prod.Title,
				body: strconv.Itoa(int(rating)) + "/5" + textOr(comment), link: "/products/" + prod.Slug,
				data: map[string]any{"productId": productID.String(), "reviewId": out.ID.String(), "rating": rating},
			})
		case err != nil:
			return err
		}
		if s.now().Sub(old.CreatedAt) > s.cfg.ReviewEditWindow {
			return apperr.Conflict("productId", "you reviewed this product already; the time to change it is over")
		}
		out, err = q.EditReview(ctx, store.EditReviewParams{ID: old.ID, Rating: rating, Comment: comment})
		if err != nil {
			return err
		}
		_, err = q.AddReviewToProduct(ctx, store.AddReviewToProductParams{ID: productID, Rating: rating, OldRating: &old.Rating})
		return err
	})
	if err != nil {
		return Review{}, apperr.Wrap("review product", err)
	}
	s.productChanged(ctx, productID)
	return toReview(out), nil
}

func textOr(s *string) string {
	if s == nil {
		return ""
	}
	return ": " + *s
}

// ReplyToReview answers a review of the seller's product, once.
func (s *Service) ReplyToReview(ctx context.Context, p identity.Principal, id uuid.UUID, reply string) (Review, error) {
	user, err := p.SignedIn()
	if err != nil {
		return Review{}, err
	}
	text, err := checkText("reply", &reply, 5000)
	if err != nil {
		return Review{}, err
	}
	if text == nil {
		return Review{}, apperr.BadInput("reply", "reply must not be empty")
	}
	r, err := s.q.GetReview(ctx, id)
	if err != nil {
		return Review{}, apperr.Wrap("reply to review", pg.NotFound(err, "review"))
	}
	prod, err := s.q.GetProduct(ctx, r.ProductID)
	if err != nil {
		return Review{}, apperr.Wrap("reply to review", pg.NotFound(err, "review"))
	}
	if prod.SellerID != user {
		return Review{}, apperr.Forbidden("only the product's seller replies to its reviews")
	}
	out, err := s.q.ReplyToReview(ctx, store.ReplyToReviewParams{ID: id, Reply: text})
	if errors.Is(err, pgx.ErrNoRows) {
		return Review{}, apperr.Conflict("reviewId", "the review has a reply already")
	}
	if err != nil {
		return Review{}, apperr.Wrap("reply to review", err)
	}
	return toReview(out), nil
}

// ReviewsByID returns reviews in ids' order (nil when missing); a review is
// public when its product is, which callers check.
func (s *Service) ReviewsByID(ctx context.Context, ids []uuid.UUID) ([]*Review, error) {
	rows, err := s.q.GetReviews(ctx, ids)
	if err != nil {
		return nil, apperr.Wrap("reviews", err)
	}
	byID := make(map[uuid.UUID]Review, len(rows))
	for _, r := range rows {
		byID[r.ID] = toReview(r)
	}
	out := make([]*Review, len(ids))
	for i, id := range ids {
		if r, ok := byID[id]; ok {
			out[i] = &r
		}
	}
	return out, nil
}

// ReviewsOf pages the reviews of several products, newest first, in one
// statement. Callers pass products p may see.
func (s *Service) ReviewsOf(ctx context.Context, products []uuid.UUID, first int, after *string) (map[uuid.UUID]paging.Page[Review], error) {
	seq, hasPrev, err := afterSeq(after)
	if err != nil {
		return nil, err
	}
	rows, err := s.q.ListProductReviews(ctx, store.ListProductReviewsParams{ProductIds: products, AfterSeq: seq, MaxRows: int32(first + 1)})
	if err != nil {
		return nil, apperr.Wrap("reviews", err)
	}
	by := map[uuid.UUID][]Review{}
	for _, r := range rows {
		by[r.ProductID] = append(by[r.ProductID], toReview(r))
	}
	out := make(map[uuid.UUID]paging.Page[Review], len(products))
	for _, id := range products {
		page := paging.Cut(by[id], first, func(r Review) paging.Cursor { return seqCursor(r.Seq, r.ID) })
		page.HasPrevious = hasPrev
		out[id] = page
	}
	return out, nil
}
