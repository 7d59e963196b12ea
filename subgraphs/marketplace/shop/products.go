package shop

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
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

// ProductInput is a new product, or (fields set) a change to one.
type ProductInput struct {
	Title       *string
	Description *string
	CategoryID  *uuid.UUID
	PriceCents  *int32
	Currency    *string
	Stock       *int32
	Condition   *Condition
	Attributes  []Attribute
	// AttributesSet: Attributes replaces the product's (nil clears them).
	AttributesSet bool
	Status        *Status
}

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

// apply validates in over p and returns the product it makes.
func (in ProductInput) apply(p Product) (Product, error) {
	if in.Title != nil {
		t := strings.TrimSpace(*in.Title)
		if n := utf8.RuneCountInString(t); n < 5 || n > 120 {
			return p, apperr.BadInput("title", "title must be 5 to 120 characters")
		}
		p.Title = t
	}
	if in.Description != nil {
		if utf8.RuneCountInString(*in.Description) > 10000 {
			return p, apperr.BadInput("description", "description must be at most 10000 characters")
		}
		p.Description = *in.Description
	}
	if in.CategoryID != nil {
		p.CategoryID = *in.CategoryID
	}
	if in.PriceCents != nil {
		if *in.PriceCents < 1 || *in.PriceCents > 100_000_000 {
			return p, apperr.BadInput("priceCents", "priceCents must be between 1 and 100000000")
		}
		p.PriceCents = *in.PriceCents
	}
	if in.Currency != nil {
		if !currencyPattern.MatchString(*in.Currency) {
			return p, apperr.BadInput("currency", "currency must be an ISO 4217 code such as EUR")
		}
		p.Currency = *in.Currency
	}
	if in.Stock != nil {
		if *in.Stock < 0 || *in.Stock > 1_000_000 {
			return p, apperr.BadInput("stock", "stock must be between 0 and 1000000")
		}
		p.Stock = *in.Stock
	}
	if in.Condition != nil {
		if !store.ProductCondition(*in.Condition).Valid() {
			return p, apperr.BadInput("condition", "unknown condition")
		}
		p.Condition = *in.Condition
	}
	if in.AttributesSet {
		attrs, err := checkAttributes(in.Attributes)
		if err != nil {
			return p, err
		}
		p.Attributes = attrs
	}
	// Stock decides between ACTIVE and SOLD_OUT.
	switch {
	case p.Status == Active && p.Stock == 0:
		p.Status = SoldOut
	case p.Status == SoldOut && p.Stock > 0:
		p.Status = Active
	}
	return p, nil
}

func checkAttributes(in []Attribute) ([]Attribute, error) {
	if len(in) > 20 {
		return nil, apperr.BadInput("attributes", "at most 20 attributes")
	}
	out := make([]Attribute, 0, len(in))
	seen := map[string]bool{}
	for _, a := range in {
		name, value := strings.TrimSpace(a.Name), strings.TrimSpace(a.Value)
		if n := utf8.RuneCountInString(name); n < 1 || n > 40 {
			return nil, apperr.BadInput("attributes", "an attribute name must be 1 to 40 characters")
		}
		if n := utf8.RuneCountInString(value); n < 1 || n > 100 {
			return nil, apperr.BadInput("attributes", "an attribute value must be 1 to 100 characters")
		}
		key := strings.ToLower(name)
		if seen[key] {
			return nil, apperr.BadInput("attributes", "attribute names must be unique")
		}
		seen[key] = true
		out = append(out, Attribute{Name: strings.ToLower(name), Value: value})
	}
	return out, nil
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// slugFor makes a product's slug from its title and id: readable, unique.
func slugFor(title string, id uuid.UUID) string {
	base := strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(title), "-"), "-")
	if len(base) > 100 {
		base = strings.TrimRight(base[:100], "-")
	}
	suffix := strings.ReplaceAll(id.String(), "-", "")[24:] // the random tail of a v7 id
	if base == "" {
		return suffix
	}
	return base + "-" + suffix
}

// CreateProduct adds a product for the signed-in SELLER.
func (s *Service) CreateProduct(ctx context.Context, p identity.Principal, in ProductInput) (Product, error) {
	seller, err := p.SignedIn()
	if err != nil {
		return Product{}, err
	}
	if !p.HasRole(identity.RoleSeller) {
		return Product{}, apperr.Forbidden("only sellers offer products")
	}
	if in.Title == nil || in.Description == nil || in.CategoryID == nil || in.PriceCents == nil {
		return Product{}, apperr.BadInput("input", "title, description, categoryId and priceCents are required")
	}
	base := Product{Currency: "EUR", Stock: 1, Condition: "NEW", Status: Draft, Attributes: []Attribute{}}
	if in.Status != nil {
		if *in.Status != Draft && *in.Status != Active {
			return Product{}, apperr.BadInput("status", "a new product is DRAFT or ACTIVE")
		}
		base.Status = *in.Status
	}
	prod, err := in.apply(base)
	if err != nil {
		return Product{}, err
	}
	id := pg.NewID()
	attrs, err := json.Marshal(prod.Attributes)
	if err != nil {
		return Product{}, err
	}
	row, err := s.q.CreateProduct(ctx, store.CreateProductParams{
		ID: id, SellerID: seller, CategoryID: prod.CategoryID, Slug: slugFor(prod.Title, id), Title: prod.Title,
		Description: prod.Description, PriceCents: prod.PriceCents, Currency: prod.Currency, Stock: prod.Stock,
		Condition: store.ProductCondition(prod.Condition), Status: store.ProductStatus(prod.Status), Attributes: attrs,
	})
	if pg.IsForeignKeyViolation(err) {
		return Product{}, apperr.BadInput("categoryId", "categoryId is not a category")
	}
	if err != nil {
		return Product{}, apperr.Wrap("create product", err)
	}
	s.searchChanged(ctx)
	return toProduct(row), nil
}

// mayEdit allows a product's seller and STAFF.
func mayEdit(p identity.Principal, prod store.Product) error {
	if prod.SellerID == p.UUID() || p.IsStaff() {
		return nil
	}
	return apperr.Forbidden("only the product's seller or STAFF can change it")
}

// editProduct locks a product p may change and writes what change returns;
// a lower price of a listed product queues the price-drop notices.
func (s *Service) editProduct(ctx context.Context, p identity.Principal, id uuid.UUID, op string, change func(Product) (Product, error)) (Product, error) {
	if _, err := p.SignedIn(); err != nil {
		return Product{}, err
	}
	var out store.Product
	err := pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		row, err := q.GetProductForUpdate(ctx, id)
		if err != nil {
			return pg.NotFound(err, "product")
		}
		old := toProduct(row)
		if !MaySeeProduct(p, old) {
			return apperr.NotFound("product")
		}
		if err := mayEdit(p, row); err != nil {
			return err
		}
		prod, err := change(old)
		if err != nil {
			return err
		}
		attrs, err := json.Marshal(prod.Attributes)
		if err != nil {
			return err
		}
		out, err = q.UpdateProduct(ctx, store.UpdateProductParams{
			ID: id, Title: prod.Title, Description: prod.Description, CategoryID: prod.CategoryID,
			PriceCents: prod.PriceCents, Stock: prod.Stock, Condition: store.ProductCondition(prod.Condition),
			Status: store.ProductStatus(prod.Status), Attributes: attrs,
		})
		if pg.IsForeignKeyViolation(err) {
			return apperr.BadInput("categoryId", "categoryId is not a category")
		}
		if err != nil {
			return err
		}
		if prod.PriceCents < old.PriceCents && prod.Listed() && old.Listed() {
			return s.queuePriceDrop(ctx, tx, old, prod)
		}
		return nil
	})
	if err != nil {
		return Product{}, apperr.Wrap(op, err)
	}
	s.productChanged(ctx, id)
	return toProduct(out), nil
}

// UpdateProduct changes a product: its seller or STAFF.
func (s *Service) UpdateProduct(ctx context.Context, p identity.Principal, id uuid.UUID, in ProductInput) (Product, error) {
	if in.Currency != nil || in.Status != nil {
		return Product{}, apperr.BadInput("input", "currency and status cannot change here")
	}
	return s.editProduct(ctx, p, id, "update product", in.apply)
}

// SetStatus lists (ACTIVE), withdraws (ARCHIVED) or drafts a product. ACTIVE
// needs stock; SOLD_OUT follows the stock and is not set by hand.
func (s *Service) SetStatus(ctx context.Context, p identity.Principal, id uuid.UUID, status Status) (Product, error) {
	if status != Draft && status != Active && status != Archived {
		return Product{}, apperr.BadInput("status", "status must be DRAFT, ACTIVE or ARCHIVED: SOLD_OUT follows the stock")
	}
	return s.editProduct(ctx, p, id, "set product status", func(prod Product) (Product, error) {
		if status == Active && prod.Stock == 0 {
			return prod, apperr.Conflict("status", "a product without stock cannot be listed: add stock first")
		}
		prod.Status = status
		return prod, nil
	})
}

// DeleteProduct soft-deletes a product: its seller or STAFF. Reviews stay;
// favourites go.
func (s *Service) DeleteProduct(ctx context.Context, p identity.Principal, id uuid.UUID) error {
	if _, err := p.SignedIn(); err != nil {
		return err
	}
	err := pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		row, err := q.GetProductForUpdate(ctx, id)
		if err != nil {
			return pg.NotFound(err, "product")
		}
		if !MaySeeProduct(p, toProduct(row)) {
			return apperr.NotFound("product")
		}
		if err := mayEdit(p, row); err != nil {
			return err
		}
		if err := q.DeleteFavorites(ctx, id); err != nil {
			return err
		}
		return q.SoftDeleteProduct(ctx, id)
	})
	if err != nil {
		return apperr.Wrap("delete product", err)
	}
	s.productChanged(ctx, id)
	return nil
}

// ProductsByID returns products in ids' order; nil for those missing or
// that p may not see.
func (s *Service) ProductsByID(ctx context.Context, p identity.Principal, ids []uuid.UUID) ([]*Product, error) {
	rows, err := s.productRows(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*Product, len(ids))
	for i, id := range ids {
		if prod, ok := rows[id]; ok && MaySeeProduct(p, prod) {
			out[i] = &prod
		}
	}
	return out, nil
}

// ProductBySlug returns a product p may see by its slug, or nil.
func (s *Service) ProductBySlug(ctx context.Context, p identity.Principal, slug string) (*Product, error) {
	id, err := s.q.GetProductIDBySlug(ctx, slug)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, apperr.Wrap("product", err)
	}
	prods, err := s.ProductsByID(ctx, p, []uuid.UUID{id})
	if err != nil {
		return nil, err
	}
	return prods[0], nil
}

func seqCursor(seq int64, id uuid.UUID) paging.Cursor {
	return paging.Cursor{Key: strconv.FormatInt(seq, 10), ID: id}
}

func afterSeq(after *string) (*int64, bool, error) {
	cur, err := paging.Decode(after)
	if err != nil || cur == nil {
		return nil, false, err
	}
	n, err := strconv.ParseInt(cur.Key, 10, 64)
	if err != nil {
		return nil, false, apperr.BadInput("after", "after is not a valid cursor")
	}
	return &n, true, nil
}

// SellerProducts lists a seller's products, newest first: listed ones, and
// all of them for the seller and STAFF.
func (s *Service) SellerProducts(ctx context.Context, p identity.Principal, seller uuid.UUID, first int, after *string) (paging.Page[Product], error) {
	pages, err := s.SellersProducts(ctx, p, []uuid.UUID{seller}, first, after)
	return pages[seller], err
}

// SellersProducts pages the products of several sellers as SellerProducts
// does, in one statement.
func (s *Service) SellersProducts(ctx context.Context, p identity.Principal, sellers []uuid.UUID, first int, after *string) (map[uuid.UUID]paging.Page[Product], error) {
	seq, hasPrev, err := afterSeq(after)
	if err != nil {
		return nil, err
	}
	rows, err := s.q.ListSellerProducts(ctx, store.ListSellerProductsParams{
		SellerIds: sellers, Staff: p.IsStaff(), ViewerID: p.UUID(), AfterSeq: seq, MaxRows: int32(first + 1)})
	if err != nil {
		return nil, apperr.Wrap("seller products", err)
	}
	by := map[uuid.UUID][]Product{}
	for _, r := range rows {
		by[r.SellerID] = append(by[r.SellerID], toProduct(r))
	}
	out := make(map[uuid.UUID]paging.Page[Product], len(sellers))
	for _, id := range sellers {
		page := paging.Cut(by[id], first, func(prod Product) paging.Cursor { return seqCursor(prod.Seq, prod.ID) })
		page.HasPrevious = hasPrev
		out[id] = page
	}
	return out, nil
}
