package shop

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"supergraph/platform/apperr"
	"supergraph/platform/paging"
	"supergraph/subgraphs/marketplace/store"
)

// AttributeFilter asks for products with one of values for attribute name.
type AttributeFilter struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
}

// Filter narrows a product search; nil fields do not filter.
type Filter struct {
	Search        *string           `json:"search,omitempty"`
	CategoryID    *uuid.UUID        `json:"categoryId,omitempty"`
	SellerID      *uuid.UUID        `json:"sellerId,omitempty"`
	MinPriceCents *int32            `json:"minPriceCents,omitempty"`
	MaxPriceCents *int32            `json:"maxPriceCents,omitempty"`
	MinRating     *float64          `json:"minRating,omitempty"`
	InStock       *bool             `json:"inStock,omitempty"`
	Condition     *Condition        `json:"condition,omitempty"`
	Attributes    []AttributeFilter `json:"attributes,omitempty"`
}

// Sort orders a product search.
type Sort string

const (
	Relevance  Sort = "RELEVANCE"
	Newest     Sort = "NEWEST"
	PriceAsc   Sort = "PRICE_ASC"
	PriceDesc  Sort = "PRICE_DESC"
	ByRating   Sort = "RATING"
	Popularity Sort = "POPULARITY"
)

// normalize validates f and puts it in one canonical form (the search
// cache's key); a RELEVANCE sort without a search is NEWEST.
func (f Filter) normalize(sort Sort) (Filter, Sort, error) {
	if f.Search != nil {
		t := strings.TrimSpace(*f.Search)
		if len(t) > 200 {
			return f, sort, apperr.BadInput("search", "search must be at most 200 bytes")
		}
		f.Search = &t
		if t == "" {
			f.Search = nil
		}
	}
	if f.MinRating != nil && (*f.MinRating < 1 || *f.MinRating > 5) {
		return f, sort, apperr.BadInput("minRating", "minRating must be between 1 and 5")
	}
	if (f.MinPriceCents != nil && *f.MinPriceCents < 0) || (f.MaxPriceCents != nil && *f.MaxPriceCents < 0) {
		return f, sort, apperr.BadInput("minPriceCents", "prices must not be negative")
	}
	if f.Condition != nil && !store.ProductCondition(*f.Condition).Valid() {
		return f, sort, apperr.BadInput("condition", "unknown condition")
	}
	if len(f.Attributes) > 10 {
		return f, sort, apperr.BadInput("attributes", "at most 10 attribute filters")
	}
	for i, a := range f.Attributes {
		if len(a.Values) == 0 || len(a.Values) > 20 || len(a.Name) > 40 {
			return f, sort, apperr.BadInput("attributes", "an attribute filter names one attribute and 1 to 20 values")
		}
		f.Attributes[i].Name = strings.ToLower(strings.TrimSpace(a.Name))
	}
	switch sort {
	case "", Relevance:
		sort = Relevance
		if f.Search == nil {
			sort = Newest
		}
	case Newest, PriceAsc, PriceDesc, ByRating, Popularity:
	default:
		return f, sort, apperr.BadInput("sort", "unknown sort")
	}
	return f, sort, nil
}

// attributeFilters is the JSON the search queries take: one array of
// {name, value} alternatives per filter.
func (f Filter) attributeFilters() []byte {
	all := make([][]Attribute, len(f.Attributes))
	for i, a := range f.Attributes {
		for _, v := range a.Values {
			all[i] = append(all[i], Attribute{Name: a.Name, Value: v})
		}
	}
	b, _ := json.Marshal(all) // plain strings
	return b
}

// Search returns one page of listed products matching f, in sort.
func (s *Service) Search(ctx context.Context, f Filter, sort Sort, first int, after *string) (paging.Page[Product], error) {
	f, sort, err := f.normalize(sort)
	if err != nil {
		return paging.Page[Product]{}, err
	}
	cur, err := paging.Decode(after)
	if err != nil {
		return paging.Page[Product]{}, err
	}
	var afterKey *float64
	var afterID *uuid.UUID
	if cur != nil {
		k, err := strconv.ParseFloat(cur.Key, 64)
		if err != nil {
			return paging.Page[Product]{}, apperr.BadInput("after", "after is not a valid cursor")
		}
		afterKey, afterID = &k, &cur.ID
	}
	key := searchKey{Kind: "page", Filter: f, Sort: sort, First: first, After: after}
	return cached(ctx, s, key, func(ctx context.Context) (paging.Page[Product], error) {
		rows, err := s.q.SearchProducts(ctx, store.SearchProductsParams{
			Sort: string(sort), Search: f.Search, CategoryID: f.CategoryID, SellerID: f.SellerID,
			MinPriceCents: f.MinPriceCents, MaxPriceCents: f.MaxPriceCents, MinRating: f.MinRating,
			InStock: f.InStock, Condition: (*store.ProductCondition)(f.Condition), AttributeFilters: f.attributeFilters(),
			AfterKey: afterKey, AfterID: afterID, Lim: int32(first + 1),
		})
		if err != nil {
			return paging.Page[Product]{}, apperr.Wrap("search", err)
		}
		keys := make(map[uuid.UUID]float64, len(rows))
		prods := make([]Product, len(rows))
		for i, r := range rows {
			prods[i] = toProduct(r.Product)
			keys[r.Product.ID] = r.SortKey
		}
		page := paging.Cut(prods, first, func(p Product) paging.Cursor {
			return paging.Cursor{Key: strconv.FormatFloat(keys[p.ID], 'g', -1, 64), ID: p.ID}
		})
		page.HasPrevious = cur != nil
		return page, nil
	})
}

// PriceBuckets are the price facet's lower bounds, in cents, after 0.
var PriceBuckets = []int32{1000, 2500, 5000, 10000, 25000}

// CategoryCount is a category facet.
type CategoryCount struct {
	CategoryID uuid.UUID
	Count      int32
}

// PriceCount is a price facet: [Min, Max) cents; Max nil for the last.
type PriceCount struct {
	Min   int32
	Max   *int32
	Count int32
}

// Facets summarises all the products matching f.
type Facets struct {
	Categories []CategoryCount
	Prices     []PriceCount
	Total      int32
}

// SearchFacets counts the products matching f per category (the top-level
// ones, or the children of f's category) and per price bucket (ignoring f's
// price range, so every range shows what it holds).
func (s *Service) SearchFacets(ctx context.Context, f Filter) (Facets, error) {
	f, _, err := f.normalize(Newest)
	if err != nil {
		return Facets{}, err
	}
	key := searchKey{Kind: "facets", Filter: f}
	return cached(ctx, s, key, func(ctx context.Context) (Facets, error) {
		rows, err := s.q.ProductFacets(ctx, store.ProductFacetsParams{
			Search: f.Search, CategoryID: f.CategoryID, SellerID: f.SellerID,
			MinPriceCents: f.MinPriceCents, MaxPriceCents: f.MaxPriceCents, MinRating: f.MinRating,
			InStock: f.InStock, Condition: (*store.ProductCondition)(f.Condition), AttributeFilters: f.attributeFilters(),
			BucketBounds: PriceBuckets,
		})
		if err != nil {
			return Facets{}, apperr.Wrap("facets", err)
		}
		cats, err := s.Categories(ctx)
		if err != nil {
			return Facets{}, err
		}
		own := map[uuid.UUID]int32{}
		buckets := make([]int32, len(PriceBuckets)+1)
		var out Facets
		for _, r := range rows {
			switch r.Kind {
			case "category":
				own[*r.CategoryID] = r.N
				out.Total += r.N
			case "price":
				buckets[r.Bucket] = r.N
			}
		}
		sums := subtreeSums(cats, own)
		for _, c := range cats {
			underFilter := (f.CategoryID == nil && c.ParentID == nil) || (f.CategoryID != nil && c.ParentID != nil && *c.ParentID == *f.CategoryID)
			if underFilter && sums[c.ID] > 0 {
				out.Categories = append(out.Categories, CategoryCount{CategoryID: c.ID, Count: sums[c.ID]})
			}
		}
		for i, n := range buckets {
			pc := PriceCount{Count: n}
			if i > 0 {
				pc.Min = PriceBuckets[i-1]
			}
			if i < len(PriceBuckets) {
				pc.Max = &PriceBuckets[i]
			}
			out.Prices = append(out.Prices, pc)
		}
		return out, nil
	})
}
