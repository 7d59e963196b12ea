package gigs

import (
	"context"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"supergraph/platform/apperr"
	"supergraph/platform/paging"
	"supergraph/subgraphs/freelance/store"
)

// Sorts of the catalogue.
const (
	SortRelevance = "RELEVANCE"
	SortNewest    = "NEWEST"
	SortPriceAsc  = "PRICE_ASC"
	SortPriceDesc = "PRICE_DESC"
	SortRating    = "RATING"
)

const maxSearch = 200

// SearchFilter narrows the catalogue.
type SearchFilter struct {
	Search          *string
	CategoryID      *uuid.UUID
	FreelancerID    *uuid.UUID
	MinPriceCents   *int32
	MaxPriceCents   *int32
	MaxDeliveryDays *int32
	Tag             *string
}

// Page is one page of a list and whether more follow.
type Page[T any] struct {
	Items   []T
	Cursors []string
	HasNext bool
}

// Search returns one page of the public catalogue (ACTIVE gigs). sort is
// one of the Sort constants; empty means RELEVANCE with a search and NEWEST
// without. after is the previous page's last cursor.
func (s *Service) Search(ctx context.Context, f SearchFilter, sort string, first int, after *string) (Page[Gig], error) {
	params := store.SearchGigsParams{
		CategoryID: f.CategoryID, FreelancerID: f.FreelancerID,
		MinPriceCents: f.MinPriceCents, MaxPriceCents: f.MaxPriceCents, MaxDeliveryDays: f.MaxDeliveryDays,
		Lim: int32(first + 1),
	}
	if f.Search != nil {
		if q := strings.Join(strings.Fields(*f.Search), " "); q != "" {
			if utf8.RuneCountInString(q) > maxSearch {
				return Page[Gig]{}, apperr.BadInput("filter.search", "search is too long")
			}
			params.Search = &q
		}
	}
	if f.Tag != nil {
		tag := strings.ToLower(strings.TrimSpace(*f.Tag))
		params.Tag = &tag
	}
	for field, v := range map[string]*int32{"filter.minPriceCents": f.MinPriceCents, "filter.maxPriceCents": f.MaxPriceCents, "filter.maxDeliveryDays": f.MaxDeliveryDays} {
		if v != nil && *v < 0 {
			return Page[Gig]{}, apperr.BadInput(field, field[len("filter."):]+" must not be negative")
		}
	}
	if f.MinPriceCents != nil && f.MaxPriceCents != nil && *f.MinPriceCents > *f.MaxPriceCents {
		return Page[Gig]{}, apperr.BadInput("filter.maxPriceCents", "maxPriceCents is below minPriceCents")
	}
	switch {
	case sort == "" && params.Search != nil, sort == SortRelevance && params.Search != nil:
		sort = SortRelevance
	case sort == "", sort == SortRelevance:
		// Without a query every relevance is equal: show the newest.
		sort = SortNewest
	case sort == SortNewest, sort == SortPriceAsc, sort == SortPriceDesc, sort == SortRating:
	default:
		return Page[Gig]{}, apperr.BadInput("sort", "unknown sort")
	}
	params.Sort = sort
	cursor, err := paging.Decode(after)
	if err != nil {
		return Page[Gig]{}, err
	}
	if cursor != nil {
		// The cursor names its sort: a cursor of another order would land
		// on an arbitrary position.
		prefix, key, ok := strings.Cut(cursor.Key, ":")
		k, perr := strconv.ParseFloat(key, 64)
		if !ok || prefix != sort || perr != nil {
			return Page[Gig]{}, apperr.BadInput("after", "after is not a cursor of this sort")
		}
		params.AfterKey, params.AfterID = &k, &cursor.ID
	}
	rows, err := s.q.SearchGigs(ctx, params)
	if err != nil {
		return Page[Gig]{}, wrap("search gigs", err)
	}
	page := Page[Gig]{HasNext: len(rows) > first}
	rows = rows[:min(len(rows), first)]
	for _, r := range rows {
		page.Items = append(page.Items, r.GigRow)
		// 'g' with precision -1 is the shortest text that parses back to the
		// same float64: the cursor compares exactly equal to the row's key.
		page.Cursors = append(page.Cursors, paging.Cursor{
			Key: sort + ":" + strconv.FormatFloat(r.SortKey, 'g', -1, 64), ID: r.GigRow.ID,
		}.Encode())
	}
	return page, nil
}
