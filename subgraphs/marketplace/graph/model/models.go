package model

import (
	"time"

	"github.com/google/uuid"
)

// User is a reference to the users subgraph's entity.
type User struct {
	ID string
}

// IsEntity marks User as a federation entity.
func (User) IsEntity() {}

// ProductCategory is a node of the category tree; parent, children and
// productCount are resolved from the request's copy of the tree.
type ProductCategory struct {
	UUID     uuid.UUID
	ID       string
	Slug     string
	Name     string
	ParentID *uuid.UUID
}

// Product is the Product entity; category, reviews and isFavorite are
// resolved through the request's loaders.
type Product struct {
	UUID               uuid.UUID
	ID                 string
	Slug               string
	Title              string
	Description        string
	CategoryID         uuid.UUID
	Seller             *User
	PriceCents         int32
	Currency           string
	Stock              int32
	Condition          ProductCondition
	Status             ProductStatus
	Attributes         []ProductAttribute
	Rating             *float64
	ReviewCount        int32
	RatingDistribution []int32
	FavoriteCount      int32
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// IsEntity marks Product as a federation entity.
func (Product) IsEntity() {}

// ProductReview is the ProductReview entity.
type ProductReview struct {
	UUID      uuid.UUID
	ID        string
	ProductID uuid.UUID
	Author    *User
	Rating    int32
	Comment   *string
	Reply     *string
	RepliedAt *time.Time
	EditedAt  *time.Time
	CreatedAt time.Time
}

// IsEntity marks ProductReview as a federation entity.
func (ProductReview) IsEntity() {}

// ProductSearchConnection is a search page; facets are computed only when
// asked for, from Filter.
type ProductSearchConnection struct {
	Edges    []ProductEdge
	PageInfo PageInfo
	// Filter is the search's (a shop.Filter), for the facets resolver.
	Filter any
}

// CategoryFacet counts a category's matching products.
type CategoryFacet struct {
	CategoryID uuid.UUID
	Count      int32
}
