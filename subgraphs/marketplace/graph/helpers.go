package graph

import (
	"context"

	"github.com/google/uuid"

	"supergraph/platform/gqlserver"
	"supergraph/platform/identity"
	"supergraph/subgraphs/marketplace/graph/model"
	"supergraph/subgraphs/marketplace/shop"
)

// category resolves a category from the operation's copy of the tree.
func (r *Resolver) category(ctx context.Context, id uuid.UUID) (*model.ProductCategory, error) {
	tree, err := r.loaders(ctx).Tree(ctx)
	if err != nil {
		return nil, err
	}
	c, ok := tree.byID[id]
	if !ok {
		return nil, nil
	}
	return toCategory(c), nil
}

func (r *mutationResolver) favorite(ctx context.Context, productID string, on bool) (*model.Product, error) {
	id, err := gqlserver.ParseID("productId", productID)
	if err != nil {
		return nil, err
	}
	p, err := r.Domain.SetFavorite(ctx, identity.FromContext(ctx), id, on)
	if err != nil {
		return nil, err
	}
	return toProduct(p), nil
}

// productInput maps the create and update inputs' shared fields.
func productInput(title, description, categoryID *string, priceCents, stock *int32, condition *model.ProductCondition, attrs []model.ProductAttributeInput) (shop.ProductInput, error) {
	in := shop.ProductInput{Title: title, Description: description, PriceCents: priceCents, Stock: stock}
	if categoryID != nil {
		id, err := gqlserver.ParseID("categoryId", *categoryID)
		if err != nil {
			return in, err
		}
		in.CategoryID = &id
	}
	if condition != nil {
		in.Condition = (*shop.Condition)(condition)
	}
	if attrs != nil {
		in.AttributesSet = true
		for _, a := range attrs {
			in.Attributes = append(in.Attributes, shop.Attribute{Name: a.Name, Value: a.Value})
		}
	}
	return in, nil
}

// searchFilter maps a products filter to the domain's.
func searchFilter(f *model.ProductFilter) (shop.Filter, error) {
	var out shop.Filter
	if f == nil {
		return out, nil
	}
	var err error
	if out.CategoryID, err = gqlserver.OptionalID("categoryId", f.CategoryID); err != nil {
		return out, err
	}
	if out.SellerID, err = gqlserver.OptionalID("sellerId", f.SellerID); err != nil {
		return out, err
	}
	out.Search, out.MinPriceCents, out.MaxPriceCents, out.MinRating, out.InStock = f.Search, f.MinPriceCents, f.MaxPriceCents, f.MinRating, f.InStock
	if f.Condition != nil {
		out.Condition = (*shop.Condition)(f.Condition)
	}
	for _, a := range f.Attributes {
		out.Attributes = append(out.Attributes, shop.AttributeFilter{Name: a.Name, Values: a.Values})
	}
	return out, nil
}
