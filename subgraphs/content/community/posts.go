package community

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"supergraph/platform/apperr"
	"supergraph/platform/identity"
	"supergraph/platform/paging"
	"supergraph/platform/pg"
	"supergraph/subgraphs/content/store"
)

// CreatePostInput is a new post.
type CreatePostInput struct {
	ChannelID uuid.UUID
	Title     string
	Body      string
	Publish   bool
}

func checkTitle(t string) (string, error) {
	t = strings.TrimSpace(t)
	if n := utf8.RuneCountInString(t); n < 1 || n > 200 {
		return "", apperr.BadInput("title", "title must be 1 to 200 characters")
	}
	return t, nil
}

func checkBody(field, b string, maxLen int) error {
	if strings.TrimSpace(b) == "" {
		return apperr.BadInput(field, field+" must not be empty")
	}
	if utf8.RuneCountInString(b) > maxLen {
		return apperr.BadInput(field, field+" is too long")
	}
	return nil
}

// MaySeePost reports whether p may see post in a channel it may read:
// published and not hidden, or p's own, or p moderates it.
func MaySeePost(p identity.Principal, st Standing, post Post) bool {
	mine := post.AuthorID == p.UUID()
	if post.Status != Published && !mine {
		return false
	}
	return post.HiddenAt == nil || mine || MayModerate(p, st)
}

// MaySeeModeration reports whether p sees why content by author was hidden
// and a post's earlier versions: its author and those who moderate it.
func MaySeeModeration(p identity.Principal, st Standing, author uuid.UUID) bool {
	return author == p.UUID() || MayModerate(p, st)
}

// publish gives a post the channel's next position (locking the channel
// row until commit, so positions commit in order) and publishes it.
func (s *Service) publish(ctx context.Context, q *store.Queries, post store.Post, at time.Time) (store.Post, error) {
	seq, err := q.NextPostSeq(ctx, store.NextPostSeqParams{ID: post.ChannelID, At: &at})
	if err != nil {
		return post, err
	}
	return q.PublishPost(ctx, store.PublishPostParams{ID: post.ID, ChannelSeq: &seq, At: &at})
}

// CreatePost writes a post (published, or a draft): members, and only the
// owner and admins where posting is restricted.
func (s *Service) CreatePost(ctx context.Context, p identity.Principal, in CreatePostInput) (Post, error) {
	user, err := p.SignedIn()
	if err != nil {
		return Post{}, err
	}
	title, err := checkTitle(in.Title)
	if err != nil {
		return Post{}, err
	}
	if err := checkBody("body", in.Body, 40000); err != nil {
		return Post{}, err
	}
	var post store.Post
	err = pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		ch, st, err := s.channelFor(ctx, q, p, in.ChannelID, false)
		if err != nil {
			return err
		}
		if err := mayPost(ch, st); err != nil {
			return err
		}
		now := s.now()
		post, err = q.CreatePost(ctx, store.CreatePostParams{
			ID: pg.NewID(), ChannelID: ch.ID, AuthorID: user, Title: title, Body: in.Body,
			Status: store.PostStatusDRAFT, At: now,
		})
		if err != nil || !in.Publish {
			return err
		}
		if post, err = s.publish(ctx, q, post, now); err != nil {
			return err
		}
		return s.queueFanOut(ctx, tx, post)
	})
	if in.Publish {
		s.channelChanged(ctx, err, in.ChannelID)
	}
	if err != nil {
		return Post{}, apperr.Wrap("create post", err)
	}
	out := toPost(post)
	if in.Publish {
		s.announcePost(ctx, out)
	}
	return out, nil
}

func mayPost(ch store.Channel, st Standing) error {
	if err := writable(ch); err != nil {
		return err
	}
	if !st.IsMember() {
		return apperr.Forbidden("only members can post in this channel")
	}
	if ch.PostingRestricted && !st.IsAdmin() {
		return apperr.Forbidden("only the owner and admins can post in this channel")
	}
	return nil
}

// postFor reads (and locks) a post with its channel and p's standing, or
// NOT_FOUND when p may not see it.
func (s *Service) postFor(ctx context.Context, q *store.Queries, p identity.Principal, id uuid.UUID, lock bool) (store.Post, store.Channel, Standing, error) {
	var post store.Post
	var err error
	if lock {
		post, err = q.GetPostForUpdate(ctx, id)
	} else {
		post, err = q.GetPost(ctx, id)
	}
	if err != nil {
		return post, store.Channel{}, Standing{}, pg.NotFound(err, "post")
	}
	ch, st, err := s.channelFor(ctx, q, p, post.ChannelID, false)
	if err != nil {
		return post, ch, st, pg.NotFound(pgx.ErrNoRows, "post")
	}
	if !MayRead(p, toChannel(ch), st) || !MaySeePost(p, st, toPost(post)) {
		return post, ch, st, apperr.NotFound("post")
	}
	return post, ch, st, nil
}

// UpdatePostInput changes the fields that are set.
type UpdatePostInput struct {
	Title *string
	Body  *string
}

// UpdatePost edits p's own post; a published post keeps its earlier version.
func (s *Service) UpdatePost(ctx context.Context, p identity.Principal, id uuid.UUID, in UpdatePostInput) (Post, error) {
	user, err := p.SignedIn()
	if err != nil {
		return Post{}, err
	}
	var out store.Post
	err = pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		post, ch, _, err := s.postFor(ctx, q, p, id, true)
		if err != nil {
			return err
		}
		if post.AuthorID != user {
			return apperr.Forbidden("only the author can edit a post")
		}
		if err := writable(ch); err != nil {
			return err
		}
		title, body := post.Title, post.Body
		if in.Title != nil {
			if title, err = checkTitle(*in.Title); err != nil {
				return err
			}
		}
		if in.Body != nil {
			if err := checkBody("body", *in.Body, 40000); err != nil {
				return err
			}
			body = *in.Body
		}
		if title == post.Title && body == post.Body {
			out = post
			return nil
		}
		now := s.now()
		var editedAt *time.Time
		if post.Status == store.PostStatusPUBLISHED {
			editedAt = &now
			err := q.AddPostEdit(ctx, store.AddPostEditParams{PostID: id, Title: post.Title, Body: post.Body, ReplacedAt: now})
			if err != nil {
				return err
			}
		}
		out, err = q.UpdatePostText(ctx, store.UpdatePostTextParams{ID: id, Title: title, Body: body, EditedAt: editedAt, At: now})
		return err
	})
	s.postChanged(ctx, err, id)
	if err != nil {
		return Post{}, apperr.Wrap("update post", err)
	}
	return toPost(out), nil
}

// PublishPost publishes p's own draft.
func (s *Service) PublishPost(ctx context.Context, p identity.Principal, id uuid.UUID) (Post, error) {
	user, err := p.SignedIn()
	if err != nil {
		return Post{}, err
	}
	var out store.Post
	published := false
	err = pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		post, ch, st, err := s.postFor(ctx, q, p, id, true)
		if err != nil {
			return err
		}
		if post.AuthorID != user {
			return apperr.Forbidden("only the author can publish a post")
		}
		if post.Status == store.PostStatusPUBLISHED {
			out = post
			return nil
		}
		if err := mayPost(ch, st); err != nil {
			return err
		}
		if out, err = s.publish(ctx, q, post, s.now()); err != nil {
			return err
		}
		published = true
		return s.queueFanOut(ctx, tx, out)
	})
	s.postChanged(ctx, err, id)
	if published {
		s.channelChanged(ctx, err, out.ChannelID)
	}
	if err != nil {
		return Post{}, apperr.Wrap("publish post", err)
	}
	if published {
		s.announcePost(ctx, toPost(out))
	}
	return toPost(out), nil
}

// DeletePost soft-deletes a post: its author, the channel's owner and
// admins, or STAFF.
func (s *Service) DeletePost(ctx context.Context, p identity.Principal, id uuid.UUID) error {
	user, err := p.SignedIn()
	if err != nil {
		return err
	}
	var channel uuid.UUID
	err = pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		post, _, st, err := s.postFor(ctx, q, p, id, true)
		if err != nil {
			return err
		}
		if post.AuthorID != user && !st.IsAdmin() && !p.IsStaff() {
			return apperr.Forbidden("only the author, the channel's admins or STAFF can delete a post")
		}
		if err := q.SoftDeletePost(ctx, store.SoftDeletePostParams{ID: id, At: ptr(s.now())}); err != nil {
			return err
		}
		channel = post.ChannelID
		if post.Status == store.PostStatusPUBLISHED {
			return q.AddChannelPosts(ctx, store.AddChannelPostsParams{ID: post.ChannelID, Delta: -1})
		}
		return nil
	})
	s.postChanged(ctx, err, id)
	s.channelChanged(ctx, err, channel)
	return apperr.Wrap("delete post", err)
}

// PinPost pins or unpins a published post: the channel's owner and admins.
func (s *Service) PinPost(ctx context.Context, p identity.Principal, id uuid.UUID, pinned bool) (Post, error) {
	if _, err := p.SignedIn(); err != nil {
		return Post{}, err
	}
	var out store.Post
	err := pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		post, ch, st, err := s.postFor(ctx, q, p, id, true)
		if err != nil {
			return err
		}
		if err := requireAdmin(p, st); err != nil {
			return err
		}
		if err := writable(ch); err != nil {
			return err
		}
		if post.Status != store.PostStatusPUBLISHED {
			return apperr.Conflict("id", "only published posts can be pinned")
		}
		out, err = q.SetPostPinned(ctx, store.SetPostPinnedParams{ID: id, Pinned: pinned, At: ptr(s.now())})
		return err
	})
	s.postChanged(ctx, err, id)
	if err != nil {
		return Post{}, apperr.Wrap("pin post", err)
	}
	return toPost(out), nil
}

func checkReason(reason *string) error {
	if reason != nil && utf8.RuneCountInString(*reason) > 500 {
		return apperr.BadInput("reason", "reason must be at most 500 characters")
	}
	return nil
}

// HidePost hides a post from everyone but its author and moderators, or
// shows it again: MODERATOR, STAFF, or the channel's owner and admins.
func (s *Service) HidePost(ctx context.Context, p identity.Principal, id uuid.UUID, hidden bool, reason *string) (Post, error) {
	if _, err := p.SignedIn(); err != nil {
		return Post{}, err
	}
	if err := checkReason(reason); err != nil {
		return Post{}, err
	}
	var out store.Post
	err := pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		_, _, st, err := s.postFor(ctx, q, p, id, true)
		if err != nil {
			return err
		}
		if !MayModerate(p, st) {
			return apperr.Forbidden("only moderators and the channel's admins can hide posts")
		}
		out, err = q.SetPostHidden(ctx, store.SetPostHiddenParams{ID: id, Hidden: hidden, Reason: reason, At: ptr(s.now())})
		return err
	})
	s.postChanged(ctx, err, id)
	if err != nil {
		return Post{}, apperr.Wrap("hide post", err)
	}
	return toPost(out), nil
}

// Post returns a post p may see, or nil.
func (s *Service) Post(ctx context.Context, p identity.Principal, id uuid.UUID) (*Post, error) {
	posts, err := s.PostsByID(ctx, p, []uuid.UUID{id})
	if err != nil {
		return nil, err
	}
	return posts[0], nil
}

// PostsByID returns posts in ids' order; nil for those p may not see.
func (s *Service) PostsByID(ctx context.Context, p identity.Principal, ids []uuid.UUID) ([]*Post, error) {
	found, err := s.postRows(ctx, ids)
	if err != nil {
		return nil, apperr.Wrap("posts", err)
	}
	rows := make([]Post, 0, len(found))
	for _, r := range found {
		rows = append(rows, r)
	}
	chIDs := make([]uuid.UUID, 0, len(rows))
	for _, r := range rows {
		chIDs = append(chIDs, r.ChannelID)
	}
	channels, standings, err := s.visibleChannels(ctx, p, chIDs)
	if err != nil {
		return nil, err
	}
	byID := make(map[uuid.UUID]Post, len(rows))
	for i, post := range rows {
		ch := channels[i]
		if ch != nil && MayRead(p, *ch, standings[ch.ID]) && MaySeePost(p, standings[ch.ID], post) {
			byID[post.ID] = post
		}
	}
	out := make([]*Post, len(ids))
	for i, id := range ids {
		if post, ok := byID[id]; ok {
			out[i] = &post
		}
	}
	return out, nil
}

func postCursor(p Post) paging.Cursor { return paging.TimeCursor(*p.PublishedAt, p.ID) }

func afterTime(cur *paging.Cursor) (*time.Time, uuid.UUID, error) {
	if cur == nil {
		return nil, uuid.Nil, nil
	}
	t, err := cur.Time()
	if err != nil {
		return nil, uuid.Nil, err
	}
	return &t, cur.ID, nil
}

func postPage(rows []store.Post, first int, cur *paging.Cursor) paging.Page[Post] {
	page := paging.Cut(mapAll(rows, toPost), first, postCursor)
	page.HasPrevious = cur != nil
	return page
}

// ChannelPosts lists a channel's published posts, newest first.
func (s *Service) ChannelPosts(ctx context.Context, p identity.Principal, channel uuid.UUID, first int, after *string) (paging.Page[Post], error) {
	cur, err := paging.Decode(after)
	if err != nil {
		return paging.Page[Post]{}, err
	}
	at, afterID, err := afterTime(cur)
	if err != nil {
		return paging.Page[Post]{}, err
	}
	ch, st, err := s.readChannel(ctx, p, channel)
	if err != nil {
		return paging.Page[Post]{}, err
	}
	if !MayRead(p, ch, st) {
		return paging.Page[Post]{}, nil
	}
	rows, err := s.q.ListChannelPosts(ctx, store.ListChannelPostsParams{
		ChannelID: channel, ShowHidden: MayModerate(p, st), Viewer: p.UUID(),
		AfterTime: at, AfterID: afterID, MaxRows: int32(first + 1)})
	if err != nil {
		return paging.Page[Post]{}, apperr.Wrap("channel posts", err)
	}
	return postPage(rows, first, cur), nil
}

// PinnedPosts lists a channel's pinned posts, most recently pinned first.
func (s *Service) PinnedPosts(ctx context.Context, p identity.Principal, channel uuid.UUID) ([]Post, error) {
	ch, st, err := s.readChannel(ctx, p, channel)
	if err != nil {
		return nil, err
	}
	if !MayRead(p, ch, st) {
		return nil, nil
	}
	rows, err := s.q.ListPinnedPosts(ctx, store.ListPinnedPostsParams{ChannelID: channel, ShowHidden: MayModerate(p, st), Viewer: p.UUID()})
	if err != nil {
		return nil, apperr.Wrap("pinned posts", err)
	}
	return mapAll(rows, toPost), nil
}

// TopPeriod is the window of a channel's top posts.
type TopPeriod string

var topPeriods = map[TopPeriod]time.Duration{
	"DAY": 24 * time.Hour, "WEEK": 7 * 24 * time.Hour, "MONTH": 30 * 24 * time.Hour, "YEAR": 365 * 24 * time.Hour,
}

// TopPosts lists the most liked posts published within period ("ALL":
// ever), most liked first.
func (s *Service) TopPosts(ctx context.Context, p identity.Principal, channel uuid.UUID, period TopPeriod, first int) ([]Post, error) {
	ch, st, err := s.readChannel(ctx, p, channel)
	if err != nil {
		return nil, err
	}
	if !MayRead(p, ch, st) {
		return nil, nil
	}
	since := time.Unix(0, 0)
	if d, ok := topPeriods[period]; ok {
		since = s.now().Add(-d)
	} else if period != "ALL" {
		return nil, apperr.BadInput("period", "unknown period")
	}
	rows, err := s.q.ListTopPosts(ctx, store.ListTopPostsParams{ChannelID: channel, Since: &since, MaxRows: int32(first)})
	if err != nil {
		return nil, apperr.Wrap("top posts", err)
	}
	return mapAll(rows, toPost), nil
}

// Feed lists the posts of every channel p belongs to, newest first.
func (s *Service) Feed(ctx context.Context, p identity.Principal, first int, after *string) (paging.Page[Post], error) {
	user, err := p.SignedIn()
	if err != nil {
		return paging.Page[Post]{}, err
	}
	cur, err := paging.Decode(after)
	if err != nil {
		return paging.Page[Post]{}, err
	}
	at, afterID, err := afterTime(cur)
	if err != nil {
		return paging.Page[Post]{}, err
	}
	rows, err := s.q.ListFeed(ctx, store.ListFeedParams{UserID: user, AfterTime: at, AfterID: afterID, MaxRows: int32(first + 1)})
	if err != nil {
		return paging.Page[Post]{}, apperr.Wrap("feed", err)
	}
	return postPage(rows, first, cur), nil
}

// UserPosts lists author's published posts in the channels p may read.
func (s *Service) UserPosts(ctx context.Context, p identity.Principal, author uuid.UUID, first int, after *string) (paging.Page[Post], error) {
	cur, err := paging.Decode(after)
	if err != nil {
		return paging.Page[Post]{}, err
	}
	at, afterID, err := afterTime(cur)
	if err != nil {
		return paging.Page[Post]{}, err
	}
	rows, err := s.q.ListAuthorPosts(ctx, store.ListAuthorPostsParams{
		AuthorID: author, ShowHidden: IsModerator(p), Viewer: p.UUID(), Staff: IsModerator(p),
		AfterTime: at, AfterID: afterID, MaxRows: int32(first + 1)})
	if err != nil {
		return paging.Page[Post]{}, apperr.Wrap("user posts", err)
	}
	return postPage(rows, first, cur), nil
}

// PostEdits returns each post's earlier versions, newest first. Callers
// show them only where MaySeeModeration holds.
func (s *Service) PostEdits(ctx context.Context, posts []uuid.UUID) (map[uuid.UUID][]PostEdit, error) {
	rows, err := s.q.ListPostEdits(ctx, posts)
	if err != nil {
		return nil, apperr.Wrap("post edits", err)
	}
	out := make(map[uuid.UUID][]PostEdit, len(posts))
	for _, r := range rows {
		out[r.PostID] = append(out[r.PostID], PostEdit{PostID: r.PostID, Title: r.Title, Body: r.Body, ReplacedAt: r.ReplacedAt})
	}
	return out, nil
}
