package gigs

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
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

// Listing is a catalogue entry: a gig and its packages in tier order,
// read together.
type Listing struct {
	Gig
	Packages []Package
}

// Search returns one page of the public catalogue (ACTIVE gigs) with every
// gig's packages, in one statement; first pages may come from the catalogue
// cache, and are then shared: callers must not modify a page. sort is one of the Sort constants; empty
// means RELEVANCE with a search and NEWEST without. after is the previous
// page's last cursor.
func (s *Service) Search(ctx context.Context, f SearchFilter, sort string, firstArg *int32, after *string) (paging.Page[Listing], error) {
	first, err := paging.First(firstArg, DefaultFirst)
	if err != nil {
		return paging.Page[Listing]{}, err
	}
	params := store.SearchGigsParams{
		CategoryID: f.CategoryID, FreelancerID: f.FreelancerID,
		MinPriceCents: f.MinPriceCents, MaxPriceCents: f.MaxPriceCents, MaxDeliveryDays: f.MaxDeliveryDays,
		Lim: int32(first + 1),
	}
	if f.Search != nil {
		if q := strings.Join(strings.Fields(*f.Search), " "); q != "" {
			if utf8.RuneCountInString(q) > maxSearch {
				return paging.Page[Listing]{}, apperr.BadInput("filter.search", "search is too long")
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
			return paging.Page[Listing]{}, apperr.BadInput(field, field[len("filter."):]+" must not be negative")
		}
	}
	if f.MinPriceCents != nil && f.MaxPriceCents != nil && *f.MinPriceCents > *f.MaxPriceCents {
		return paging.Page[Listing]{}, apperr.BadInput("filter.maxPriceCents", "maxPriceCents is below minPriceCents")
	}
	switch {
	case sort == "" && params.Search != nil, sort == SortRelevance && params.Search != nil:
		sort = SortRelevance
	case sort == "", sort == SortRelevance:
		// Without a query every relevance is equal: show the newest.
		sort = SortNewest
	case sort == SortNewest, sort == SortPriceAsc, sort == SortPriceDesc, sort == SortRating:
	default:
		return paging.Page[Listing]{}, apperr.BadInput("sort", "unknown sort")
	}
	params.Sort = sort
	cursor, err := paging.Decode(after)
	if err != nil {
		return paging.Page[Listing]{}, err
	}
	if cursor != nil {
		// The cursor names its sort: a cursor of another order would land
		// on an arbitrary position.
		prefix, key, ok := strings.Cut(cursor.Key, ":")
		k, perr := strconv.ParseFloat(key, 64)
		if !ok || prefix != sort || perr != nil {
			return paging.Page[Listing]{}, apperr.BadInput("after", "after is not a cursor of this sort")
		}
		params.AfterKey, params.AfterID = &k, &cursor.ID
	}
	var key catalogueKey
	var gen string
	cached := cursor == nil && s.cfg.CatalogueCacheTTL > 0
	if cached {
		key = newCatalogueKey(params)
		if gen, cached = s.catalogueGen(ctx); cached {
			if page, ok := s.catalogue.get(key, gen, time.Now(), s.cfg.CatalogueCacheTTL); ok {
				return page, nil
			}
		}
	}
	read := time.Now()
	rows, err := s.q.SearchGigs(ctx, params)
	if err != nil {
		return paging.Page[Listing]{}, apperr.Wrap("search gigs", err)
	}
	page := paging.Page[Listing]{HasNext: len(rows) > first}
	rows = rows[:min(len(rows), first)]
	page.Items = make([]Listing, len(rows))
	page.Cursors = make([]string, len(rows))
	// The packages of the whole page share one backing array.
	n := 0
	for _, r := range rows {
		n += len(r.PackageTiers)
	}
	pkgs := make([]Package, 0, n)
	for i, r := range rows {
		start := len(pkgs)
		if pkgs, err = appendPackages(pkgs, r); err != nil {
			return paging.Page[Listing]{}, apperr.Wrap("search gigs", err)
		}
		page.Items[i] = Listing{Gig: toGig(r.GigRow), Packages: pkgs[start:len(pkgs):len(pkgs)]}
		// 'g' with precision -1 is the shortest text that parses back to the
		// same float64: the cursor compares exactly equal to the row's key.
		page.Cursors[i] = paging.Cursor{
			Key: sort + ":" + strconv.FormatFloat(r.SortKey, 'g', -1, 64), ID: r.GigRow.ID,
		}.Encode()
	}
	if cached {
		s.catalogue.put(key, gen, read, page)
	}
	return page, nil
}

// appendPackages appends the packages a SearchGigs row carries as parallel
// arrays, in tier order.
func appendPackages(pkgs []Package, r store.SearchGigsRow) ([]Package, error) {
	n := len(r.PackageTiers)
	if len(r.PackageTitles) != n || len(r.PackageDescriptions) != n || len(r.PackagePriceCents) != n ||
		len(r.PackageDeliveryDays) != n || len(r.PackageRevisions) != n || len(r.PackageFeatures) != n {
		return nil, fmt.Errorf("gig %s: package arrays of different lengths", r.GigRow.ID)
	}
	start := len(pkgs)
	for i := range n {
		p := Package{
			GigID: r.GigRow.ID, Tier: PackageTier(r.PackageTiers[i]), Title: r.PackageTitles[i],
			Description: r.PackageDescriptions[i], PriceCents: r.PackagePriceCents[i],
			DeliveryDays: r.PackageDeliveryDays[i], Revisions: r.PackageRevisions[i], Features: []string{},
		}
		if f := r.PackageFeatures[i]; f != "[]" {
			if err := json.Unmarshal([]byte(f), &p.Features); err != nil {
				return nil, fmt.Errorf("gig %s: features: %w", r.GigRow.ID, err)
			}
		}
		// Insertion in tier order: the statement reads them so already, and
		// then this only compares.
		j := len(pkgs)
		pkgs = append(pkgs, p)
		for ; j > start && tierRank(pkgs[j-1].Tier) > tierRank(p.Tier); j-- {
			pkgs[j] = pkgs[j-1]
		}
		pkgs[j] = p
	}
	return pkgs, nil
}
