package community

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"supergraph/platform/apperr"
	"supergraph/platform/identity"
	"supergraph/platform/pg"
	"supergraph/subgraphs/content/store"
)

// Likes are rows keyed by (item, user): liking twice inserts nothing, and
// the counter moves only with a row inserted or deleted, in the same
// transaction, so counts are exact under any concurrency.

// LikePost likes (or unlikes) a post p may read, in a writable channel.
func (s *Service) LikePost(ctx context.Context, p identity.Principal, id uuid.UUID, like bool) (Post, error) {
	user, err := p.SignedIn()
	if err != nil {
		return Post{}, err
	}
	var out store.Post
	err = pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		post, ch, _, err := s.postFor(ctx, q, p, id, false)
		if err != nil {
			return err
		}
		if err := writable(ch); err != nil {
			return err
		}
		if post.Status != store.PostStatusPUBLISHED {
			return apperr.Conflict("id", "drafts cannot be liked")
		}
		var n int64
		if like {
			n, err = q.LikePost(ctx, store.LikePostParams{PostID: id, UserID: user})
		} else {
			n, err = q.UnlikePost(ctx, store.UnlikePostParams{PostID: id, UserID: user})
			n = -n
		}
		if err != nil {
			return err
		}
		out, err = q.AddPostLikes(ctx, store.AddPostLikesParams{ID: id, Delta: int32(n)})
		return err
	})
	s.postChanged(ctx, err, id)
	if err != nil {
		return Post{}, apperr.Wrap("like post", err)
	}
	return toPost(out), nil
}

// LikeComment likes (or unlikes) a comment p may see, in a writable channel.
func (s *Service) LikeComment(ctx context.Context, p identity.Principal, id uuid.UUID, like bool) (Comment, error) {
	user, err := p.SignedIn()
	if err != nil {
		return Comment{}, err
	}
	var out store.Comment
	err = pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		c, ch, _, err := s.commentFor(ctx, q, p, id, false)
		if err != nil {
			return err
		}
		if err := writable(ch); err != nil {
			return err
		}
		if c.DeletedAt != nil {
			return apperr.Conflict("id", "the comment was deleted")
		}
		var n int64
		if like {
			n, err = q.LikeComment(ctx, store.LikeCommentParams{CommentID: id, UserID: user})
		} else {
			n, err = q.UnlikeComment(ctx, store.UnlikeCommentParams{CommentID: id, UserID: user})
			n = -n
		}
		if err != nil {
			return err
		}
		out, err = q.AddCommentLikes(ctx, store.AddCommentLikesParams{ID: id, Delta: int32(n)})
		return err
	})
	if err != nil {
		return Comment{}, apperr.Wrap("like comment", err)
	}
	return toComment(out), nil
}

// LikedPosts reports which of posts p likes (none when signed out).
func (s *Service) LikedPosts(ctx context.Context, p identity.Principal, posts []uuid.UUID) (map[uuid.UUID]bool, error) {
	out := map[uuid.UUID]bool{}
	user := p.UUID()
	if user == uuid.Nil {
		return out, nil
	}
	ids, err := s.q.LikedPosts(ctx, store.LikedPostsParams{UserID: user, PostIds: posts})
	if err != nil {
		return nil, apperr.Wrap("liked posts", err)
	}
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// LikedComments reports which of comments p likes (none when signed out).
func (s *Service) LikedComments(ctx context.Context, p identity.Principal, comments []uuid.UUID) (map[uuid.UUID]bool, error) {
	out := map[uuid.UUID]bool{}
	user := p.UUID()
	if user == uuid.Nil {
		return out, nil
	}
	ids, err := s.q.LikedComments(ctx, store.LikedCommentsParams{UserID: user, CommentIds: comments})
	if err != nil {
		return nil, apperr.Wrap("liked comments", err)
	}
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}
