// Package graph holds the marketplace subgraph's resolvers: thin adapters
// from GraphQL to the shop service, reading nested data through the
// request's loaders.
package graph

import (
	"github.com/google/uuid"

	"supergraph/platform/paging"
	"supergraph/subgraphs/marketplace/graph/model"
	"supergraph/subgraphs/marketplace/shop"
)

// Resolver is the root resolver; gqlgen's generated code calls into it.
type Resolver struct {
	// Domain is the subgraph's domain service; resolvers call nothing else.
	Domain *shop.Service
}

func firstOf(first *int32) (int, error) { return paging.First(first, shop.DefaultFirst) }

func user(id uuid.UUID) *model.User { return &model.User{ID: id.String()} }

func toCategory(c shop.Category) *model.ProductCategory {
	return &model.ProductCategory{UUID: c.ID, ID: c.ID.String(), Slug: c.Slug, Name: c.Name, ParentID: c.ParentID}
}

func toProduct(p shop.Product) *model.Product {
	m := &model.Product{
		UUID: p.ID, ID: p.ID.String(), Slug: p.Slug, Title: p.Title, Description: p.Description,
		CategoryID: p.CategoryID, Seller: user(p.SellerID), PriceCents: p.PriceCents, Currency: p.Currency,
		Stock: p.Stock, Condition: model.ProductCondition(p.Condition), Status: model.ProductStatus(p.Status),
		Rating: p.Rating(), ReviewCount: p.ReviewCount, RatingDistribution: p.RatingCounts,
		FavoriteCount: p.FavoriteCount, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
		Attributes: make([]model.ProductAttribute, len(p.Attributes)),
	}
	for i, a := range p.Attributes {
		m.Attributes[i] = model.ProductAttribute{Name: a.Name, Value: a.Value}
	}
	return m
}

func toReview(r shop.Review) *model.ProductReview {
	return &model.ProductReview{
		UUID: r.ID, ID: r.ID.String(), ProductID: r.ProductID, Author: user(r.AuthorID), Rating: r.Rating,
		Comment: r.Comment, Reply: r.Reply, RepliedAt: r.RepliedAt, EditedAt: r.EditedAt, CreatedAt: r.CreatedAt,
	}
}

func pageInfo[T any](p paging.Page[T]) model.PageInfo {
	info := model.PageInfo{HasNextPage: p.HasNext, HasPreviousPage: p.HasPrevious}
	if len(p.Cursors) > 0 {
		info.StartCursor, info.EndCursor = &p.Cursors[0], &p.Cursors[len(p.Cursors)-1]
	}
	return info
}

func productEdges(p paging.Page[shop.Product]) []model.ProductEdge {
	edges := make([]model.ProductEdge, len(p.Items))
	for i, prod := range p.Items {
		edges[i] = model.ProductEdge{Cursor: p.Cursors[i], Node: *toProduct(prod)}
	}
	return edges
}

func productConnection(p paging.Page[shop.Product]) *model.ProductConnection {
	return &model.ProductConnection{Edges: productEdges(p), PageInfo: pageInfo(p)}
}

func reviewConnection(p paging.Page[shop.Review]) *model.ProductReviewConnection {
	c := &model.ProductReviewConnection{Edges: make([]model.ProductReviewEdge, len(p.Items)), PageInfo: pageInfo(p)}
	for i, r := range p.Items {
		c.Edges[i] = model.ProductReviewEdge{Cursor: p.Cursors[i], Node: *toReview(r)}
	}
	return c
}
