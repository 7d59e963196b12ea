package marketplace

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/google/uuid"

	"supergraph/platform/demo"
	"supergraph/platform/identity"
	"supergraph/subgraphs/marketplace/shop"
)

// The demo catalogue: a small category tree, products of the two demo
// sellers with attributes, and reviews and favourites by the other accounts.
var seedCategories = []struct{ slug, name, parent string }{
	{"electronics", "Electronics", ""},
	{"phones", "Phones", "electronics"},
	{"laptops", "Laptops", "electronics"},
	{"audio", "Audio", "electronics"},
	{"home", "Home", ""},
	{"kitchen", "Kitchen", "home"},
	{"furniture", "Furniture", "home"},
	{"books", "Books", ""},
}

type seedProduct struct {
	seller, category, title, description string
	price, stock                         int32
	condition                            shop.Condition
	attrs                                []shop.Attribute
	reviews                              map[string]int32 // username -> rating
	favorites                            []string
}

var seedProducts = []seedProduct{
	{demo.Bob, "phones", "Refurbished smartphone, 128 GB", "A six-inch phone with a new battery, tested and cleaned. Unlocked.",
		18900, 4, "REFURBISHED", []shop.Attribute{{Name: "colour", Value: "black"}, {Name: "storage", Value: "128 GB"}},
		map[string]int32{demo.Dave: 5, demo.Alice: 4}, []string{demo.Dave, demo.Alice}},
	{demo.Bob, "laptops", "Lightweight laptop for students", "13-inch, 16 GB memory, all-day battery, a quiet keyboard.",
		64900, 2, "NEW", []shop.Attribute{{Name: "colour", Value: "silver"}, {Name: "memory", Value: "16 GB"}},
		map[string]int32{demo.Dave: 4}, []string{demo.Dave}},
	{demo.Bob, "audio", "Wireless headphones with noise cancelling", "Over-ear headphones, 30 hours of battery, a folding case.",
		12900, 10, "NEW", []shop.Attribute{{Name: "colour", Value: "blue"}},
		map[string]int32{demo.Alice: 5, demo.Carol: 3}, []string{demo.Alice}},
	{demo.Carol, "kitchen", "Cast iron skillet, 28 cm", "Pre-seasoned and ready to cook, for every hob and the oven.",
		3900, 15, "NEW", []shop.Attribute{{Name: "material", Value: "cast iron"}},
		map[string]int32{demo.Dave: 5}, []string{demo.Dave, demo.Bob}},
	{demo.Carol, "furniture", "Oak bookshelf, five shelves", "Solid oak, 180 cm tall, delivered flat with all fittings.",
		22900, 1, "USED", []shop.Attribute{{Name: "material", Value: "oak"}, {Name: "colour", Value: "natural"}},
		nil, nil},
	{demo.Carol, "books", "The Go Programming Language (paperback)", "The classic introduction to Go, in very good condition.",
		2500, 3, "LIKE_NEW", nil, map[string]int32{demo.Alice: 5}, []string{demo.Alice}},
}

func seedPrincipal(username string, roles ...string) identity.Principal {
	return identity.Principal{UserID: demo.UserID(username).String(), Roles: roles}
}

// Seed creates the demo catalogue that is missing, through the domain.
func Seed(ctx context.Context, svc *shop.Service, log *slog.Logger) error {
	staff := seedPrincipal(demo.Admin, identity.RoleStaff)
	cats, err := svc.Categories(ctx)
	if err != nil {
		return err
	}
	bySlug := map[string]uuid.UUID{}
	for _, c := range cats {
		bySlug[c.Slug] = c.ID
	}
	for _, c := range seedCategories {
		if _, ok := bySlug[c.slug]; ok {
			continue
		}
		var parent *uuid.UUID
		if c.parent != "" {
			id := bySlug[c.parent]
			parent = &id
		}
		created, err := svc.CreateCategory(ctx, staff, c.slug, c.name, parent)
		if err != nil {
			return fmt.Errorf("seed category %s: %w", c.slug, err)
		}
		bySlug[c.slug] = created.ID
	}
	for _, sp := range seedProducts {
		seller := seedPrincipal(sp.seller, identity.RoleSeller)
		existing, err := svc.SellerProducts(ctx, seller, demo.UserID(sp.seller), 100, nil)
		if err != nil {
			return err
		}
		if hasTitle(existing.Items, sp.title) {
			continue
		}
		cat := bySlug[sp.category]
		prod, err := svc.CreateProduct(ctx, seller, shop.ProductInput{
			Title: &sp.title, Description: &sp.description, CategoryID: &cat, PriceCents: &sp.price, Stock: &sp.stock,
			Condition: &sp.condition, Attributes: sp.attrs, AttributesSet: true, Status: ptr(shop.Active),
		})
		if err != nil {
			return fmt.Errorf("seed product %q: %w", sp.title, err)
		}
		for who, rating := range sp.reviews {
			if _, err := svc.ReviewProduct(ctx, seedPrincipal(who), prod.ID, rating, nil); err != nil {
				return fmt.Errorf("seed review of %q: %w", sp.title, err)
			}
		}
		for _, who := range sp.favorites {
			if _, err := svc.SetFavorite(ctx, seedPrincipal(who), prod.ID, true); err != nil {
				return fmt.Errorf("seed favourite of %q: %w", sp.title, err)
			}
		}
		log.InfoContext(ctx, "seeded product", "title", sp.title)
	}
	return nil
}

func hasTitle(prods []shop.Product, title string) bool {
	for _, p := range prods {
		if p.Title == title {
			return true
		}
	}
	return false
}

func ptr[T any](v T) *T { return &v }
