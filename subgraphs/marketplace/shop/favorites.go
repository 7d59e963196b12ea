package shop

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"supergraph/platform/apperr"
	"supergraph/platform/identity"
	"supergraph/platform/paging"
	"supergraph/platform/pg"
	"supergraph/subgraphs/marketplace/store"
)

// Favourites are rows keyed by (product, user): adding twice inserts
// nothing, and the count moves only with a row inserted or deleted, in the
// same transaction, so it is exact under any concurrency.

// SetFavorite adds (or removes) a product p may see to p's favourites.
func (s *Service) SetFavorite(ctx context.Context, p identity.Principal, id uuid.UUID, on bool) (Product, error) {
	user, err := p.SignedIn()
	if err != nil {
		return Product{}, err
	}
	var out store.Product
	err = pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		row, err := q.GetProduct(ctx, id)
		if err != nil {
			return pg.NotFound(err, "product")
		}
		if !MaySeeProduct(p, toProduct(row)) {
			return apperr.NotFound("product")
		}
		var n int64
		if on {
			n, err = q.AddFavorite(ctx, store.AddFavoriteParams{ProductID: id, UserID: user})
		} else {
			n, err = q.RemoveFavorite(ctx, store.RemoveFavoriteParams{ProductID: id, UserID: user})
			n = -n
		}
		if err != nil {
			return err
		}
		out, err = q.AddFavoriteCount(ctx, store.AddFavoriteCountParams{ID: id, Delta: int32(n)})
		return err
	})
	if err != nil {
		return Product{}, apperr.Wrap("favorite", err)
	}
	s.productChanged(ctx, id)
	return toProduct(out), nil
}

// Favorited reports which of products p favourited (none when signed out).
func (s *Service) Favorited(ctx context.Context, p identity.Principal, products []uuid.UUID) (map[uuid.UUID]bool, error) {
	out := map[uuid.UUID]bool{}
	user := p.UUID()
	if user == uuid.Nil {
		return out, nil
	}
	ids, err := s.q.FavoritedAmong(ctx, store.FavoritedAmongParams{UserID: user, ProductIds: products})
	if err != nil {
		return nil, apperr.Wrap("favorited", err)
	}
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// Favorites lists user's favourites, most recent first: the user themself only.
func (s *Service) Favorites(ctx context.Context, p identity.Principal, user uuid.UUID, first int, after *string) (paging.Page[Product], error) {
	me, err := p.SignedIn()
	if err != nil {
		return paging.Page[Product]{}, err
	}
	if me != user {
		return paging.Page[Product]{}, apperr.Forbidden("favourites are private")
	}
	seq, hasPrev, err := afterSeq(after)
	if err != nil {
		return paging.Page[Product]{}, err
	}
	rows, err := s.q.ListFavorites(ctx, store.ListFavoritesParams{UserID: user, AfterSeq: seq, MaxRows: int32(first + 1)})
	if err != nil {
		return paging.Page[Product]{}, apperr.Wrap("favorites", err)
	}
	seqs := make(map[uuid.UUID]int64, len(rows))
	prods := make([]Product, 0, len(rows))
	for _, r := range rows {
		seqs[r.Product.ID] = r.FavoriteSeq
		prods = append(prods, toProduct(r.Product))
	}
	page := paging.Cut(prods, first, func(prod Product) paging.Cursor { return seqCursor(seqs[prod.ID], prod.ID) })
	page.HasPrevious = hasPrev
	return page, nil
}
