package community

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"supergraph/platform/apperr"
	"supergraph/platform/identity"
	"supergraph/platform/paging"
	"supergraph/platform/pg"
	"supergraph/platform/tasks"
	"supergraph/subgraphs/content/store"
)

// Lock order, to rule out deadlocks: the post row, then comment rows from
// the one acted on up to its ancestors.

// maxCommentLength bounds a comment's body, in characters.
const maxCommentLength = 10000

// pathSegment is a comment's own part of its path: its seq, zero-padded so
// that byte order is numeric order.
func pathSegment(seq int64) string { return fmt.Sprintf("%010d", seq) }

// AddComment comments on a post, or replies to one of its comments:
// members of the post's channel. The author of what it answers (the post,
// or the parent comment) is notified.
func (s *Service) AddComment(ctx context.Context, p identity.Principal, postID uuid.UUID, parentID *uuid.UUID, body string) (Comment, error) {
	user, err := p.SignedIn()
	if err != nil {
		return Comment{}, err
	}
	if err := checkBody("body", body, maxCommentLength); err != nil {
		return Comment{}, err
	}
	var c store.Comment
	err = pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		post, ch, st, err := s.postFor(ctx, q, p, postID, true)
		if err != nil {
			return err
		}
		if err := writable(ch); err != nil {
			return err
		}
		if !st.IsMember() {
			return apperr.Forbidden("only members can comment in this channel")
		}
		if post.Status != store.PostStatusPUBLISHED {
			return apperr.Conflict("postId", "drafts take no comments")
		}
		var parent *store.Comment
		if parentID != nil {
			pc, err := q.GetCommentForUpdate(ctx, *parentID)
			// A hidden comment is not there for those who may not see it.
			if err != nil || pc.PostID != postID || !MaySeeComment(p, st, toComment(pc)) {
				return apperr.BadInput("parentId", "parentId is not a comment of this post")
			}
			if pc.DeletedAt != nil {
				return apperr.Conflict("parentId", "the comment was deleted")
			}
			parent = &pc
		}
		seq, err := q.NextCommentSeq(ctx, postID)
		if err != nil {
			return err
		}
		params := store.CreateCommentParams{ID: pg.NewID(), PostID: postID, Seq: seq, Path: pathSegment(seq),
			AuthorID: user, Body: body, At: s.now()}
		if parent != nil {
			params.ParentID, params.Path, params.Depth = &parent.ID, parent.Path+"."+params.Path, parent.Depth+1
		}
		if c, err = q.CreateComment(ctx, params); err != nil {
			return err
		}
		// The parent's author hears of the reply: the comment's, or the
		// post's for a top-level comment.
		to, data := post.AuthorID, map[string]any{"postId": postID.String(), "commentId": c.ID.String()}
		if parent != nil {
			if err := q.AddReplies(ctx, store.AddRepliesParams{ID: parent.ID, Delta: 1}); err != nil {
				return err
			}
			to, data["parentId"] = parent.AuthorID, parent.ID.String()
		}
		if to == user {
			return nil
		}
		return queueNotice(ctx, tx, notice{
			recipient: to, kind: tasks.KindCommentReply, title: post.Title,
			body: body, link: commentLink(postID, c.ID), data: data,
		}, c.CreatedAt, uuid.Nil)
	})
	s.postChanged(ctx, err, postID)
	if err != nil {
		return Comment{}, apperr.Wrap("add comment", err)
	}
	out := toComment(c)
	s.announceComment(ctx, out)
	return out, nil
}

// commentFor reads a comment with its post's channel and p's standing, or
// NOT_FOUND when p may not see it. lock locks the post, then the comment.
func (s *Service) commentFor(ctx context.Context, q *store.Queries, p identity.Principal, id uuid.UUID, lock bool) (store.Comment, store.Channel, Standing, error) {
	c, err := q.GetComment(ctx, id)
	if err != nil {
		return c, store.Channel{}, Standing{}, pg.NotFound(err, "comment")
	}
	_, ch, st, err := s.postFor(ctx, q, p, c.PostID, lock)
	if err != nil {
		return c, ch, st, apperr.NotFound("comment")
	}
	if lock {
		if c, err = q.GetCommentForUpdate(ctx, id); err != nil {
			return c, ch, st, err
		}
	}
	if !MaySeeComment(p, st, toComment(c)) {
		return c, ch, st, apperr.NotFound("comment")
	}
	return c, ch, st, nil
}

// MaySeeComment reports whether p may see c in a post p may read: hidden
// comments only for their author and moderators.
func MaySeeComment(p identity.Principal, st Standing, c Comment) bool {
	return c.HiddenAt == nil || c.AuthorID == p.UUID() || MayModerate(p, st)
}

// UpdateComment edits p's own comment.
func (s *Service) UpdateComment(ctx context.Context, p identity.Principal, id uuid.UUID, body string) (Comment, error) {
	user, err := p.SignedIn()
	if err != nil {
		return Comment{}, err
	}
	if err := checkBody("body", body, maxCommentLength); err != nil {
		return Comment{}, err
	}
	var out store.Comment
	err = pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		c, ch, _, err := s.commentFor(ctx, q, p, id, true)
		if err != nil {
			return err
		}
		if c.AuthorID != user || c.DeletedAt != nil {
			return apperr.Forbidden("only the author can edit a comment")
		}
		if err := writable(ch); err != nil {
			return err
		}
		out, err = q.UpdateCommentBody(ctx, store.UpdateCommentBodyParams{ID: id, Body: body, At: ptr(s.now())})
		return err
	})
	if err != nil {
		return Comment{}, apperr.Wrap("update comment", err)
	}
	return toComment(out), nil
}

// DeleteComment soft-deletes a comment: its author, the channel's owner and
// admins, or STAFF. A deleted comment keeps its place while it has replies
// shown; one that has none vanishes, and so may its deleted ancestors.
func (s *Service) DeleteComment(ctx context.Context, p identity.Principal, id uuid.UUID) error {
	user, err := p.SignedIn()
	if err != nil {
		return err
	}
	var postID uuid.UUID
	err = pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		c, _, st, err := s.commentFor(ctx, q, p, id, true)
		if err != nil {
			return err
		}
		if c.DeletedAt != nil {
			return nil
		}
		if c.AuthorID != user && !st.IsAdmin() && !p.IsStaff() {
			return apperr.Forbidden("only the author, the channel's admins or STAFF can delete a comment")
		}
		if err := q.SoftDeleteComment(ctx, store.SoftDeleteCommentParams{ID: id, At: ptr(s.now())}); err != nil {
			return err
		}
		if err := q.AddPostComments(ctx, store.AddPostCommentsParams{ID: c.PostID, Delta: -1}); err != nil {
			return err
		}
		// reply_count counts the replies shown: walk up while comments vanish.
		for c.ReplyCount == 0 && c.ParentID != nil {
			parent, err := q.GetCommentForUpdate(ctx, *c.ParentID)
			if err != nil {
				return err
			}
			if err := q.AddReplies(ctx, store.AddRepliesParams{ID: parent.ID, Delta: -1}); err != nil {
				return err
			}
			parent.ReplyCount--
			if parent.DeletedAt == nil {
				break
			}
			c = parent
		}
		postID = c.PostID
		return nil
	})
	s.postChanged(ctx, err, postID)
	return apperr.Wrap("delete comment", err)
}

// HideComment hides a comment from everyone but its author and moderators,
// or shows it again: MODERATOR, STAFF, or the channel's owner and admins.
func (s *Service) HideComment(ctx context.Context, p identity.Principal, id uuid.UUID, hidden bool, reason *string) (Comment, error) {
	if _, err := p.SignedIn(); err != nil {
		return Comment{}, err
	}
	if err := checkReason(reason); err != nil {
		return Comment{}, err
	}
	var out store.Comment
	err := pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		_, _, st, err := s.commentFor(ctx, q, p, id, true)
		if err != nil {
			return err
		}
		if !MayModerate(p, st) {
			return apperr.Forbidden("only moderators and the channel's admins can hide comments")
		}
		out, err = q.SetCommentHidden(ctx, store.SetCommentHiddenParams{ID: id, Hidden: hidden, Reason: reason, At: ptr(s.now())})
		return err
	})
	if err != nil {
		return Comment{}, apperr.Wrap("hide comment", err)
	}
	return toComment(out), nil
}

// CommentsByID returns comments in ids' order; nil for those p may not see.
func (s *Service) CommentsByID(ctx context.Context, p identity.Principal, ids []uuid.UUID) ([]*Comment, error) {
	rows, err := s.q.GetComments(ctx, ids)
	if err != nil {
		return nil, apperr.Wrap("comments", err)
	}
	postIDs := make([]uuid.UUID, len(rows))
	for i, r := range rows {
		postIDs[i] = r.PostID
	}
	posts, err := s.PostsByID(ctx, p, postIDs)
	if err != nil {
		return nil, err
	}
	chIDs := make([]uuid.UUID, 0, len(posts))
	for _, post := range posts {
		if post != nil {
			chIDs = append(chIDs, post.ChannelID)
		}
	}
	standings, err := s.Standings(ctx, p, chIDs)
	if err != nil {
		return nil, err
	}
	byID := make(map[uuid.UUID]Comment, len(rows))
	for i, r := range rows {
		c := toComment(r)
		if posts[i] != nil && MaySeeComment(p, standings[posts[i].ChannelID], c) {
			byID[c.ID] = c
		}
	}
	out := make([]*Comment, len(ids))
	for i, id := range ids {
		if c, ok := byID[id]; ok {
			out[i] = &c
		}
	}
	return out, nil
}

// CommentOrder orders a post's top-level comments.
type CommentOrder string

const (
	Oldest CommentOrder = "OLDEST"
	Newest CommentOrder = "NEWEST"
	Top    CommentOrder = "TOP"
)

func seqKey(cur *paging.Cursor) (int64, error) {
	n, err := strconv.ParseInt(cur.Key, 10, 64)
	if err != nil {
		return 0, apperr.BadInput("after", "after is not a valid cursor")
	}
	return n, nil
}

// PostComments lists a post's top-level comments in order.
func (s *Service) PostComments(ctx context.Context, p identity.Principal, postID uuid.UUID, order CommentOrder, first int, after *string) (paging.Page[Comment], error) {
	cur, err := paging.Decode(after)
	if err != nil {
		return paging.Page[Comment]{}, err
	}
	_, st, err := s.readPost(ctx, p, postID)
	if err != nil {
		return paging.Page[Comment]{}, err
	}
	show, me, limit := MayModerate(p, st), p.UUID(), int32(first+1)
	var rows []store.Comment
	cursor := func(c Comment) paging.Cursor { return paging.Cursor{Key: strconv.FormatInt(c.Seq, 10), ID: c.ID} }
	switch order {
	case Oldest, "":
		var seq int64
		if cur != nil {
			if seq, err = seqKey(cur); err != nil {
				return paging.Page[Comment]{}, err
			}
		}
		rows, err = s.q.ListTopLevelOldest(ctx, store.ListTopLevelOldestParams{PostID: postID, ShowHidden: show, Viewer: me, AfterSeq: seq, MaxRows: limit})
	case Newest:
		var seq *int64
		if cur != nil {
			n, err := seqKey(cur)
			if err != nil {
				return paging.Page[Comment]{}, err
			}
			seq = &n
		}
		rows, err = s.q.ListTopLevelNewest(ctx, store.ListTopLevelNewestParams{PostID: postID, ShowHidden: show, Viewer: me, AfterSeq: seq, MaxRows: limit})
	case Top:
		params := store.ListTopLevelTopParams{PostID: postID, ShowHidden: show, Viewer: me, MaxRows: limit}
		if cur != nil {
			likes, seqText, ok := strings.Cut(cur.Key, "/")
			n, err1 := strconv.ParseInt(seqText, 10, 64)
			l, err2 := strconv.Atoi(likes)
			if !ok || err1 != nil || err2 != nil {
				return paging.Page[Comment]{}, apperr.BadInput("after", "after is not a valid cursor")
			}
			params.AfterSeq, params.AfterLikes = &n, int32(l)
		}
		rows, err = s.q.ListTopLevelTop(ctx, params)
		cursor = func(c Comment) paging.Cursor {
			return paging.Cursor{Key: strconv.Itoa(int(c.LikeCount)) + "/" + strconv.FormatInt(c.Seq, 10), ID: c.ID}
		}
	default:
		return paging.Page[Comment]{}, apperr.BadInput("order", "unknown order")
	}
	if err != nil {
		return paging.Page[Comment]{}, apperr.Wrap("comments", err)
	}
	page := paging.Cut(mapAll(rows, toComment), first, cursor)
	page.HasPrevious = cur != nil
	return page, nil
}

// Replies returns the direct replies of each parent, oldest first, first
// of them after the seq in after: one statement for all parents. Callers
// pass comments p may see; hidden replies are shown to their authors, the
// channel's owner and admins, and MODERATOR and STAFF.
func (s *Service) Replies(ctx context.Context, p identity.Principal, parents []uuid.UUID, first int, after *string) (map[uuid.UUID]paging.Page[Comment], error) {
	cur, err := paging.Decode(after)
	if err != nil {
		return nil, err
	}
	var seq int64
	if cur != nil {
		if seq, err = seqKey(cur); err != nil {
			return nil, err
		}
	}
	rows, err := s.q.ListReplies(ctx, store.ListRepliesParams{
		ParentIds: parents, ShowHidden: IsModerator(p), Viewer: p.UUID(), AfterSeq: seq, MaxRows: int32(first + 1)})
	if err != nil {
		return nil, apperr.Wrap("replies", err)
	}
	byParent := make(map[uuid.UUID][]Comment, len(parents))
	for _, r := range rows {
		byParent[*r.ParentID] = append(byParent[*r.ParentID], toComment(r))
	}
	out := make(map[uuid.UUID]paging.Page[Comment], len(parents))
	for _, parent := range parents {
		page := paging.Cut(byParent[parent], first, func(c Comment) paging.Cursor {
			return paging.Cursor{Key: strconv.FormatInt(c.Seq, 10), ID: c.ID}
		})
		page.HasPrevious = cur != nil
		out[parent] = page
	}
	return out, nil
}

// maxThreadDepth bounds how deep one thread read goes.
const maxThreadDepth = 50

// Thread lists a post's comments in reading order (each followed by its
// replies), down to maxDepth levels: the whole thread (under nil; 0 = top
// level only), or the sub-thread under a comment (1 = its direct replies).
// One range scan, whatever the shape of the tree.
func (s *Service) Thread(ctx context.Context, p identity.Principal, postID uuid.UUID, under *Comment, maxDepth, first int, after *string) (paging.Page[Comment], error) {
	if maxDepth < 0 || maxDepth > maxThreadDepth {
		return paging.Page[Comment]{}, apperr.BadInput("maxDepth", fmt.Sprintf("maxDepth must be between 0 and %d", maxThreadDepth))
	}
	cur, err := paging.Decode(after)
	if err != nil {
		return paging.Page[Comment]{}, err
	}
	_, st, err := s.readPost(ctx, p, postID)
	if err != nil {
		return paging.Page[Comment]{}, err
	}
	// Paths are digits and dots: "" and ":" bound them all, and "P." and "P/"
	// bound those below P.
	from, to, depth := "", ":", int32(maxDepth)
	if under != nil {
		from, to, depth = under.Path+".", under.Path+"/", under.Depth+int32(maxDepth)
	}
	if cur != nil {
		if !strings.HasPrefix(cur.Key, from) || cur.Key >= to {
			return paging.Page[Comment]{}, apperr.BadInput("after", "after is not a valid cursor")
		}
		from = cur.Key
	}
	rows, err := s.q.ListThread(ctx, store.ListThreadParams{
		PostID: postID, FromPath: from, ToPath: to, MaxDepth: depth,
		ShowHidden: MayModerate(p, st), Viewer: p.UUID(), MaxRows: int32(first + 1)})
	if err != nil {
		return paging.Page[Comment]{}, apperr.Wrap("thread", err)
	}
	page := paging.Cut(mapAll(rows, toComment), first, func(c Comment) paging.Cursor {
		return paging.Cursor{Key: c.Path, ID: c.ID}
	})
	page.HasPrevious = cur != nil
	return page, nil
}
