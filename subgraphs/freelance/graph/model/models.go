package model

import (
	"errors"
	"time"

	"github.com/google/uuid"
)

// User is a reference to the users subgraph's entity: freelance knows only
// the id, and the router joins the rest.
type User struct {
	ID string
}

// IsEntity marks User as a federation entity.
func (User) IsEntity() {}

// Gig is the Gig entity. Packages and category are methods without a
// context, which gqlgen calls in line rather than in a goroutine of their
// own per gig: a catalogue page reads its packages with the gigs (Listed),
// and everything else asks Fields, the request's loaders, batched across
// the gigs of a list. Reviews are resolved through loaders from UUID.
type Gig struct {
	UUID               uuid.UUID
	ID                 string
	Title              string
	Description        string
	CategoryID         uuid.UUID
	Freelancer         User
	Tags               []string
	StartingPriceCents int32
	Currency           string
	Status             GigStatus
	Rating             *float64
	ReviewCount        int32
	Deleted            bool
	CreatedAt          time.Time
	UpdatedAt          time.Time
	// Listed holds the packages when they were read with the gig; nil
	// means ask Fields.
	Listed []GigPackage
	// Fields resolves what was not read with the gig.
	Fields GigFields
}

// GigFields resolves a gig's packages and category from the request's
// loaders.
type GigFields interface {
	GigPackages(g *Gig) ([]GigPackage, error)
	GigCategory(g *Gig) (*GigCategory, error)
}

// Packages is the gig's packages, by tier.
func (g *Gig) Packages() ([]GigPackage, error) {
	if g.Listed != nil {
		return g.Listed, nil
	}
	if g.Fields == nil {
		return nil, errors.New("gig " + g.ID + ": packages not loaded")
	}
	return g.Fields.GigPackages(g)
}

// Category is the gig's category.
func (g *Gig) Category() (*GigCategory, error) {
	if g.Fields == nil {
		return nil, errors.New("gig " + g.ID + ": category not loaded")
	}
	return g.Fields.GigCategory(g)
}

// IsEntity marks Gig as a federation entity.
func (Gig) IsEntity() {}

// Order is the Order entity; gig, timeline and review come from loaders.
type Order struct {
	UUID             uuid.UUID
	ID               string
	GigID            uuid.UUID
	Tier             PackageTier
	GigTitle         string
	PackageTitle     string
	Buyer            User
	Freelancer       User
	PriceCents       int32
	Currency         string
	Requirements     string
	Status           OrderStatus
	DueAt            time.Time
	RevisionsAllowed int32
	RevisionsUsed    int32
	CreatedAt        time.Time
	UpdatedAt        time.Time
	DeliveredAt      *time.Time
	CompletedAt      *time.Time
	CancelledAt      *time.Time
}

// IsEntity marks Order as a federation entity.
func (Order) IsEntity() {}

// OrderEvent is one entry of an order's timeline.
type OrderEvent struct {
	FromStatus *OrderStatus
	Status     OrderStatus
	Actor      *User
	Message    *string
	At         time.Time
}

// Review is a buyer's review; its gig comes from a loader.
type Review struct {
	ID        string
	GigID     uuid.UUID
	Buyer     User
	Rating    int32
	Comment   string
	Reply     *string
	RepliedAt *time.Time
	CreatedAt time.Time
}

// PortfolioItem is a work sample; its gig comes from a loader.
type PortfolioItem struct {
	ID          string
	Freelancer  User
	Title       string
	Description string
	ImageURL    *string
	ProjectURL  *string
	GigID       *uuid.UUID
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// GigCategory is a node of the tree; parent and children are looked up in
// the request's copy of the tree.
type GigCategory struct {
	UUID     uuid.UUID
	ID       string
	Slug     string
	Name     string
	ParentID *uuid.UUID
}
