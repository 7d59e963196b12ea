package gigs

import (
	"time"

	"github.com/google/uuid"

	"supergraph/subgraphs/freelance/store"
)

// The domain's own types: what resolvers, the seed and tests see. sqlc's
// rows and enums stay inside this package; the converters below are the
// only place that maps between them.

// GigStatus is a gig's lifecycle state (the schema's GigStatus).
type GigStatus string

// Gig states.
const (
	GigStatusDRAFT  GigStatus = "DRAFT"
	GigStatusACTIVE GigStatus = "ACTIVE"
	GigStatusPAUSED GigStatus = "PAUSED"
)

// OrderStatus is an order's state in its state machine (the schema's
// OrderStatus).
type OrderStatus string

// Order states.
const (
	OrderStatusPENDING           OrderStatus = "PENDING"
	OrderStatusINPROGRESS        OrderStatus = "IN_PROGRESS"
	OrderStatusDELIVERED         OrderStatus = "DELIVERED"
	OrderStatusREVISIONREQUESTED OrderStatus = "REVISION_REQUESTED"
	OrderStatusCOMPLETED         OrderStatus = "COMPLETED"
	OrderStatusCANCELLED         OrderStatus = "CANCELLED"
)

// PackageTier names one of a gig's packages (the schema's PackageTier).
type PackageTier string

// Package tiers.
const (
	PackageTierBASIC    PackageTier = "BASIC"
	PackageTierSTANDARD PackageTier = "STANDARD"
	PackageTierPREMIUM  PackageTier = "PREMIUM"
)

// Gig is a gig without its packages.
type Gig struct {
	ID              uuid.UUID
	Seq             *int64
	FreelancerID    uuid.UUID
	CategoryID      uuid.UUID
	Title           string
	Description     string
	Tags            []string
	Currency        string
	Status          GigStatus
	MinPriceCents   int32
	MinDeliveryDays int32
	RatingSum       int32
	ReviewCount     int32
	CreatedAt       time.Time
	UpdatedAt       time.Time
	DeletedAt       *time.Time
}

// Package is one tier of a gig: its price, delivery time and revisions.
type Package struct {
	GigID        uuid.UUID
	Tier         PackageTier
	Title        string
	Description  string
	PriceCents   int32
	DeliveryDays int32
	Revisions    int32
	Features     []string
}

// Category is a node of the gig category tree.
type Category struct {
	ID        uuid.UUID
	ParentID  *uuid.UUID
	Slug      string
	Name      string
	Position  int32
	CreatedAt time.Time
}

// Order is a buyer's order of one package of a gig, priced when placed.
type Order struct {
	ID               uuid.UUID
	GigID            uuid.UUID
	BuyerID          uuid.UUID
	FreelancerID     uuid.UUID
	Tier             PackageTier
	GigTitle         string
	PackageTitle     string
	PriceCents       int32
	Currency         string
	DeliveryDays     int32
	RevisionsAllowed int32
	RevisionsUsed    int32
	Requirements     string
	Status           OrderStatus
	DueAt            time.Time
	CreatedAt        time.Time
	UpdatedAt        time.Time
	StartedAt        *time.Time
	FirstDeliveredAt *time.Time
	DeliveredAt      *time.Time
	CompletedAt      *time.Time
	CancelledAt      *time.Time
}

// Event is one step of an order's timeline.
type Event struct {
	ID         uuid.UUID
	OrderID    uuid.UUID
	FromStatus *OrderStatus
	ToStatus   OrderStatus
	ActorID    *uuid.UUID
	Message    *string
	CreatedAt  time.Time
}

// Review is a buyer's review of a completed order, with the freelancer's reply.
type Review struct {
	ID           uuid.UUID
	OrderID      uuid.UUID
	GigID        uuid.UUID
	BuyerID      uuid.UUID
	FreelancerID uuid.UUID
	Rating       int32
	Comment      string
	Reply        *string
	RepliedAt    *time.Time
	CreatedAt    time.Time
}

// Portfolio is one item of a freelancer's portfolio.
type Portfolio struct {
	ID           uuid.UUID
	FreelancerID uuid.UUID
	Title        string
	Description  string
	ImageUrl     *string
	ProjectUrl   *string
	GigID        *uuid.UUID
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

func toGig(g store.GigRow) Gig {
	return Gig{
		ID: g.ID, Seq: g.Seq, FreelancerID: g.FreelancerID, CategoryID: g.CategoryID, Title: g.Title,
		Description: g.Description, Tags: g.Tags, Currency: g.Currency, Status: GigStatus(g.Status),
		MinPriceCents: g.MinPriceCents, MinDeliveryDays: g.MinDeliveryDays, RatingSum: g.RatingSum,
		ReviewCount: g.ReviewCount, CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt, DeletedAt: g.DeletedAt,
	}
}

func toPackage(p store.GigPackage) Package {
	return Package{
		GigID: p.GigID, Tier: PackageTier(p.Tier), Title: p.Title, Description: p.Description,
		PriceCents: p.PriceCents, DeliveryDays: p.DeliveryDays, Revisions: p.Revisions, Features: p.Features,
	}
}

func toCategory(c store.GigCategory) Category {
	return Category{ID: c.ID, ParentID: c.ParentID, Slug: c.Slug, Name: c.Name, Position: c.Position, CreatedAt: c.CreatedAt}
}

func toOrder(o store.Order) Order {
	return Order{
		ID: o.ID, GigID: o.GigID, BuyerID: o.BuyerID, FreelancerID: o.FreelancerID, Tier: PackageTier(o.Tier),
		GigTitle: o.GigTitle, PackageTitle: o.PackageTitle, PriceCents: o.PriceCents, Currency: o.Currency,
		DeliveryDays: o.DeliveryDays, RevisionsAllowed: o.RevisionsAllowed, RevisionsUsed: o.RevisionsUsed,
		Requirements: o.Requirements, Status: OrderStatus(o.Status), DueAt: o.DueAt, CreatedAt: o.CreatedAt,
		UpdatedAt: o.UpdatedAt, StartedAt: o.StartedAt, FirstDeliveredAt: o.FirstDeliveredAt,
		DeliveredAt: o.DeliveredAt, CompletedAt: o.CompletedAt, CancelledAt: o.CancelledAt,
	}
}

func toEvent(e store.OrderEvent) Event {
	ev := Event{
		ID: e.ID, OrderID: e.OrderID, ToStatus: OrderStatus(e.ToStatus), ActorID: e.ActorID,
		Message: e.Message, CreatedAt: e.CreatedAt,
	}
	if e.FromStatus != nil {
		from := OrderStatus(*e.FromStatus)
		ev.FromStatus = &from
	}
	return ev
}

func toReview(r store.Review) Review {
	return Review{
		ID: r.ID, OrderID: r.OrderID, GigID: r.GigID, BuyerID: r.BuyerID, FreelancerID: r.FreelancerID,
		Rating: r.Rating, Comment: r.Comment, Reply: r.Reply, RepliedAt: r.RepliedAt, CreatedAt: r.CreatedAt,
	}
}

func toPortfolio(i store.PortfolioItem) Portfolio {
	return Portfolio{
		ID: i.ID, FreelancerID: i.FreelancerID, Title: i.Title, Description: i.Description, ImageUrl: i.ImageUrl,
		ProjectUrl: i.ProjectUrl, GigID: i.GigID, CreatedAt: i.CreatedAt, UpdatedAt: i.UpdatedAt,
	}
}

// mapAll converts rows with convert.
func mapAll[R, T any](rows []R, convert func(R) T) []T {
	out := make([]T, len(rows))
	for i, r := range rows {
		out[i] = convert(r)
	}
	return out
}

// Valid reports whether s is a known gig state.
func (s GigStatus) Valid() bool {
	switch s {
	case GigStatusDRAFT, GigStatusACTIVE, GigStatusPAUSED:
		return true
	}
	return false
}

// Valid reports whether t is a known tier.
func (t PackageTier) Valid() bool {
	switch t {
	case PackageTierBASIC, PackageTierSTANDARD, PackageTierPREMIUM:
		return true
	}
	return false
}
