package shop

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"supergraph/platform/identity"
	"supergraph/subgraphs/marketplace/store"
)

// Status is where a product stands.
type Status string

const (
	Draft    Status = "DRAFT"
	Active   Status = "ACTIVE"
	SoldOut  Status = "SOLD_OUT"
	Archived Status = "ARCHIVED"
)

// Condition is a product's condition.
type Condition string

// Attribute is a named property of a product.
type Attribute struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Category is a node of the category tree.
type Category struct {
	ID        uuid.UUID
	ParentID  *uuid.UUID
	Slug      string
	Name      string
	CreatedAt time.Time
}

// Product is something a seller offers.
type Product struct {
	ID            uuid.UUID
	Seq           int64
	SellerID      uuid.UUID
	CategoryID    uuid.UUID
	Slug          string
	Title         string
	Description   string
	PriceCents    int32
	Currency      string
	Stock         int32
	Condition     Condition
	Status        Status
	Attributes    []Attribute
	RatingSum     int32
	ReviewCount   int32
	RatingCounts  []int32
	FavoriteCount int32
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Listed reports whether anyone may see the product.
func (p Product) Listed() bool { return p.Status == Active || p.Status == SoldOut }

// Rating is the exact average rating; nil before the first review.
func (p Product) Rating() *float64 {
	if p.ReviewCount == 0 {
		return nil
	}
	return ptr(float64(p.RatingSum) / float64(p.ReviewCount))
}

// MaySeeProduct reports whether p may see product: listed ones everyone,
// drafts and archived ones their seller and STAFF.
func MaySeeProduct(p identity.Principal, product Product) bool {
	return product.Listed() || product.SellerID == p.UUID() || p.IsStaff()
}

// Review is one user's review of a product.
type Review struct {
	ID        uuid.UUID
	Seq       int64
	ProductID uuid.UUID
	AuthorID  uuid.UUID
	Rating    int32
	Comment   *string
	Reply     *string
	RepliedAt *time.Time
	EditedAt  *time.Time
	CreatedAt time.Time
}

func toCategory(c store.ProductCategory) Category {
	return Category{ID: c.ID, ParentID: c.ParentID, Slug: c.Slug, Name: c.Name, CreatedAt: c.CreatedAt}
}

func toProduct(p store.Product) Product {
	out := Product{
		ID: p.ID, Seq: p.Seq, SellerID: p.SellerID, CategoryID: p.CategoryID, Slug: p.Slug, Title: p.Title,
		Description: p.Description, PriceCents: p.PriceCents, Currency: p.Currency, Stock: p.Stock,
		Condition: Condition(p.Condition), Status: Status(p.Status), RatingSum: p.RatingSum,
		ReviewCount: p.ReviewCount, RatingCounts: p.RatingCounts, FavoriteCount: p.FavoriteCount,
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt, Attributes: []Attribute{},
	}
	_ = json.Unmarshal(p.Attributes, &out.Attributes) // written by this package: a JSON array
	return out
}

func toReview(r store.ProductReview) Review {
	return Review{
		ID: r.ID, Seq: r.Seq, ProductID: r.ProductID, AuthorID: r.AuthorID, Rating: r.Rating, Comment: r.Comment,
		Reply: r.Reply, RepliedAt: r.RepliedAt, EditedAt: r.EditedAt, CreatedAt: r.CreatedAt,
	}
}

func mapAll[T, U any](in []T, f func(T) U) []U {
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}
