package graph

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/vikstrous/dataloadgen"

	"supergraph/platform/dataload"
	"supergraph/platform/identity"
	"supergraph/platform/paging"
	"supergraph/subgraphs/content/community"
)

// loaderWait is how long a loader collects keys before it queries: gqlgen
// resolves a list's elements in goroutines that all ask within microseconds.
const loaderWait = 2 * time.Millisecond

// Loaders batch and cache the reads of one operation, so nested fields cost
// one statement per kind and level, not one per parent. Every Load of one
// operation carries the same principal, which the reads take from ctx.
type Loaders struct {
	Channel      *dataloadgen.Loader[uuid.UUID, *community.Channel]
	Standing     *dataloadgen.Loader[uuid.UUID, community.Standing]
	Post         *dataloadgen.Loader[uuid.UUID, *community.Post]
	Comment      *dataloadgen.Loader[uuid.UUID, *community.Comment]
	PostLiked    *dataloadgen.Loader[uuid.UUID, bool]
	CommentLiked *dataloadgen.Loader[uuid.UUID, bool]
	Replies      *dataloadgen.Loader[dataload.PageKey[uuid.UUID], paging.Page[community.Comment]]
	Edits        *dataloadgen.Loader[uuid.UUID, []community.PostEdit]
}

// NewLoaders returns the loaders of one operation.
func NewLoaders(svc *community.Service) *Loaders {
	opts := []dataloadgen.Option{dataloadgen.WithWait(loaderWait)}
	return &Loaders{
		Channel: dataloadgen.NewLoader(func(ctx context.Context, ids []uuid.UUID) ([]*community.Channel, []error) {
			return one(svc.ChannelsByID(ctx, identity.FromContext(ctx), ids))
		}, opts...),
		Standing: dataloadgen.NewLoader(dataload.Values(func(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]community.Standing, error) {
			return svc.Standings(ctx, identity.FromContext(ctx), ids)
		}), opts...),
		Post: dataloadgen.NewLoader(func(ctx context.Context, ids []uuid.UUID) ([]*community.Post, []error) {
			return one(svc.PostsByID(ctx, identity.FromContext(ctx), ids))
		}, opts...),
		Comment: dataloadgen.NewLoader(func(ctx context.Context, ids []uuid.UUID) ([]*community.Comment, []error) {
			return one(svc.CommentsByID(ctx, identity.FromContext(ctx), ids))
		}, opts...),
		PostLiked: dataloadgen.NewLoader(dataload.Values(func(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]bool, error) {
			return svc.LikedPosts(ctx, identity.FromContext(ctx), ids)
		}), opts...),
		CommentLiked: dataloadgen.NewLoader(dataload.Values(func(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]bool, error) {
			return svc.LikedComments(ctx, identity.FromContext(ctx), ids)
		}), opts...),
		Replies: dataloadgen.NewLoader(dataload.Pages(func(ctx context.Context, ids []uuid.UUID, first int, after *string) (map[uuid.UUID]paging.Page[community.Comment], error) {
			return svc.Replies(ctx, identity.FromContext(ctx), ids, first, after)
		}), opts...),
		Edits: dataloadgen.NewLoader(dataload.Values(svc.PostEdits), opts...),
	}
}

// one adapts a batch read that answers in key order.
func one[V any](vals []V, err error) ([]V, []error) {
	if err != nil {
		return nil, []error{err}
	}
	return vals, nil
}

// PerOperation installs fresh loaders in each operation's context
// (gqlserver.Options.PerOperation): caches never outlive an operation.
func PerOperation(svc *community.Service) func(context.Context) context.Context {
	return func(ctx context.Context) context.Context {
		return dataload.With(ctx, NewLoaders(svc))
	}
}

func (r *Resolver) loaders(ctx context.Context) *Loaders { return dataload.From[Loaders](ctx) }
