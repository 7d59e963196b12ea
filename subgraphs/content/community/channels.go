package community

import (
	"context"
	"errors"
	"regexp"
	"strconv"
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

// Who sees what. A public channel is found and read by everyone; a private
// one is found by its members and those invited, and read by its members.
// MODERATOR and STAFF find and read every channel.

// MayFind reports whether p may know channel ch exists.
func MayFind(p identity.Principal, ch Channel, st Standing) bool {
	return ch.Visibility == Public || st.IsMember() || st.Status == Invited || IsModerator(p)
}

// MayRead reports whether p may read ch's posts and comments.
func MayRead(p identity.Principal, ch Channel, st Standing) bool {
	return ch.Visibility == Public || st.IsMember() || IsModerator(p)
}

// MayModerate reports whether p may hide content in ch and see what is hidden.
func MayModerate(p identity.Principal, st Standing) bool {
	return IsModerator(p) || st.IsAdmin()
}

var slugPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// CreateChannelInput is a new channel.
type CreateChannelInput struct {
	Slug              string
	Name              string
	Description       string
	Visibility        Visibility
	PostingRestricted bool
}

// UpdateChannelInput changes the fields that are set.
type UpdateChannelInput struct {
	Name              *string
	Description       *string
	Visibility        *Visibility
	PostingRestricted *bool
}

func checkName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if n := utf8.RuneCountInString(name); n < 1 || n > 80 {
		return "", apperr.BadInput("name", "name must be 1 to 80 characters")
	}
	return name, nil
}

func checkDescription(d string) error {
	if utf8.RuneCountInString(d) > 2000 {
		return apperr.BadInput("description", "description must be at most 2000 characters")
	}
	return nil
}

func checkVisibility(v Visibility) error {
	if v != Public && v != Private {
		return apperr.BadInput("visibility", "visibility must be PUBLIC or PRIVATE")
	}
	return nil
}

// CreateChannel creates a channel owned by p.
func (s *Service) CreateChannel(ctx context.Context, p identity.Principal, in CreateChannelInput) (Channel, error) {
	user, err := p.SignedIn()
	if err != nil {
		return Channel{}, err
	}
	if len(in.Slug) < 3 || len(in.Slug) > 50 || !slugPattern.MatchString(in.Slug) {
		return Channel{}, apperr.BadInput("slug", "slug must be 3 to 50 lower-case letters, digits and single dashes")
	}
	name, err := checkName(in.Name)
	if err != nil {
		return Channel{}, err
	}
	if err := checkDescription(in.Description); err != nil {
		return Channel{}, err
	}
	if err := checkVisibility(in.Visibility); err != nil {
		return Channel{}, err
	}
	var ch store.Channel
	err = pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		var err error
		ch, err = q.CreateChannel(ctx, store.CreateChannelParams{
			ID: pg.NewID(), Slug: in.Slug, Name: name, Description: in.Description,
			Visibility: store.ChannelVisibility(in.Visibility), OwnerID: user, PostingRestricted: in.PostingRestricted,
		})
		if err != nil {
			return err
		}
		_, err = q.UpsertMembership(ctx, store.UpsertMembershipParams{
			ChannelID: ch.ID, UserID: user, Status: store.MembershipStatusMEMBER, Role: ptr(store.ChannelRoleOWNER),
		})
		return err
	})
	if c, ok := pg.IsUniqueViolation(err); ok && c == "channels_slug_key" {
		return Channel{}, apperr.Conflict("slug", "a channel with this slug already exists")
	}
	if err != nil {
		return Channel{}, apperr.Wrap("create channel", err)
	}
	return toChannel(ch), nil
}

// channelFor reads a channel and p's standing in it, under q.
func (s *Service) channelFor(ctx context.Context, q *store.Queries, p identity.Principal, id uuid.UUID, lock bool) (store.Channel, Standing, error) {
	var ch store.Channel
	var err error
	if lock {
		ch, err = q.GetChannelForUpdate(ctx, id)
	} else {
		ch, err = q.GetChannel(ctx, id)
	}
	if err != nil {
		return ch, Standing{}, pg.NotFound(err, "channel")
	}
	st, err := s.standing(ctx, q, id, p.UUID())
	if err != nil {
		return ch, st, err
	}
	if !MayFind(p, toChannel(ch), st) {
		// Private channels are not admitted to exist.
		return ch, st, apperr.NotFound("channel")
	}
	return ch, st, nil
}

func (s *Service) standing(ctx context.Context, q *store.Queries, channel, user uuid.UUID) (Standing, error) {
	if user == uuid.Nil {
		return Standing{Status: None}, nil
	}
	m, err := q.GetMembership(ctx, store.GetMembershipParams{ChannelID: channel, UserID: user})
	if errors.Is(err, pgx.ErrNoRows) {
		return Standing{Status: None}, nil
	}
	if err != nil {
		return Standing{}, err
	}
	mm := toMembership(m)
	return Standing{Status: mm.Status, Role: mm.Role}, nil
}

// Standings returns p's standing in each channel (NONE where p has none).
func (s *Service) Standings(ctx context.Context, p identity.Principal, channels []uuid.UUID) (map[uuid.UUID]Standing, error) {
	out := make(map[uuid.UUID]Standing, len(channels))
	user := p.UUID()
	if user != uuid.Nil {
		rows, err := s.q.GetMemberships(ctx, store.GetMembershipsParams{UserID: user, ChannelIds: channels})
		if err != nil {
			return nil, apperr.Wrap("standings", err)
		}
		for _, r := range rows {
			m := toMembership(r)
			out[m.ChannelID] = Standing{Status: m.Status, Role: m.Role}
		}
	}
	for _, id := range channels {
		if _, ok := out[id]; !ok {
			out[id] = Standing{Status: None}
		}
	}
	return out, nil
}

// Channel returns a channel p may find, or nil.
func (s *Service) Channel(ctx context.Context, p identity.Principal, id uuid.UUID) (*Channel, error) {
	chs, err := s.ChannelsByID(ctx, p, []uuid.UUID{id})
	if err != nil {
		return nil, err
	}
	return chs[0], nil
}

// ChannelBySlug returns a channel p may find by its slug, or nil.
func (s *Service) ChannelBySlug(ctx context.Context, p identity.Principal, slug string) (*Channel, error) {
	ch, err := s.q.GetChannelBySlug(ctx, slug)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, apperr.Wrap("channel", err)
	}
	return s.Channel(ctx, p, ch.ID)
}

// ChannelsByID returns the channels in ids' order; nil for those missing or
// that p may not find.
func (s *Service) ChannelsByID(ctx context.Context, p identity.Principal, ids []uuid.UUID) ([]*Channel, error) {
	chs, _, err := s.visibleChannels(ctx, p, ids)
	return chs, err
}

// visibleChannels is ChannelsByID with p's standing in each channel.
func (s *Service) visibleChannels(ctx context.Context, p identity.Principal, ids []uuid.UUID) ([]*Channel, map[uuid.UUID]Standing, error) {
	byID, err := s.channelRows(ctx, ids)
	if err != nil {
		return nil, nil, apperr.Wrap("channels", err)
	}
	standings, err := s.Standings(ctx, p, ids)
	if err != nil {
		return nil, nil, err
	}
	out := make([]*Channel, len(ids))
	for i, id := range ids {
		if ch, ok := byID[id]; ok && MayFind(p, ch, standings[id]) {
			out[i] = &ch
		}
	}
	return out, standings, nil
}

// requireAdmin allows the channel's owner and admins, and STAFF.
func requireAdmin(p identity.Principal, st Standing) error {
	if st.IsAdmin() || p.IsStaff() {
		return nil
	}
	return apperr.Forbidden("only the channel's owner and admins can do this")
}

// requireOwner allows the channel's owner, and STAFF.
func requireOwner(p identity.Principal, st Standing) error {
	if (st.IsMember() && st.Role != nil && *st.Role == Owner) || p.IsStaff() {
		return nil
	}
	return apperr.Forbidden("only the channel's owner can do this")
}

func writable(ch store.Channel) error {
	if ch.ArchivedAt != nil {
		return apperr.Conflict("", "the channel is archived: it is read-only")
	}
	return nil
}

// UpdateChannel changes a channel's settings: its owner, admins or STAFF.
func (s *Service) UpdateChannel(ctx context.Context, p identity.Principal, id uuid.UUID, in UpdateChannelInput) (Channel, error) {
	if _, err := p.SignedIn(); err != nil {
		return Channel{}, err
	}
	params := store.UpdateChannelParams{ID: id, Description: in.Description, PostingRestricted: in.PostingRestricted}
	if in.Name != nil {
		name, err := checkName(*in.Name)
		if err != nil {
			return Channel{}, err
		}
		params.Name = &name
	}
	if in.Description != nil {
		if err := checkDescription(*in.Description); err != nil {
			return Channel{}, err
		}
	}
	if in.Visibility != nil {
		if err := checkVisibility(*in.Visibility); err != nil {
			return Channel{}, err
		}
		params.Visibility = ptr(store.ChannelVisibility(*in.Visibility))
	}
	var out store.Channel
	err := pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		ch, st, err := s.channelFor(ctx, q, p, id, true)
		if err != nil {
			return err
		}
		if err := requireAdmin(p, st); err != nil {
			return err
		}
		if err := writable(ch); err != nil {
			return err
		}
		out, err = q.UpdateChannel(ctx, params)
		return err
	})
	s.channelChanged(ctx, err, id)
	if err != nil {
		return Channel{}, apperr.Wrap("update channel", err)
	}
	return toChannel(out), nil
}

// ArchiveChannel makes a channel read-only, or writable again: its owner or STAFF.
func (s *Service) ArchiveChannel(ctx context.Context, p identity.Principal, id uuid.UUID, archived bool) (Channel, error) {
	if _, err := p.SignedIn(); err != nil {
		return Channel{}, err
	}
	var out store.Channel
	err := pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		_, st, err := s.channelFor(ctx, q, p, id, true)
		if err != nil {
			return err
		}
		if err := requireOwner(p, st); err != nil {
			return err
		}
		out, err = q.SetChannelArchived(ctx, store.SetChannelArchivedParams{ID: id, Archived: archived})
		return err
	})
	s.channelChanged(ctx, err, id)
	if err != nil {
		return Channel{}, apperr.Wrap("archive channel", err)
	}
	return toChannel(out), nil
}

// DeleteChannel deletes a channel with its posts and comments: its owner or STAFF.
func (s *Service) DeleteChannel(ctx context.Context, p identity.Principal, id uuid.UUID) error {
	if _, err := p.SignedIn(); err != nil {
		return err
	}
	err := pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		_, st, err := s.channelFor(ctx, q, p, id, true)
		if err != nil {
			return err
		}
		if err := requireOwner(p, st); err != nil {
			return err
		}
		return q.DeleteChannel(ctx, id)
	})
	s.channelChanged(ctx, err, id)
	return apperr.Wrap("delete channel", err)
}

// ChannelSort orders the channel directory.
type ChannelSort string

const (
	SortNewest    ChannelSort = "NEWEST"
	SortMembers   ChannelSort = "MEMBERS"
	SortActivity  ChannelSort = "ACTIVITY"
	SortRelevance ChannelSort = "RELEVANCE"
)

// maxSearch bounds a directory search's text.
const maxSearch = 200

// Channels is the directory: public channels and those p belongs to
// (every one for STAFF and MODERATOR), optionally matching search.
func (s *Service) Channels(ctx context.Context, p identity.Principal, search *string, sort ChannelSort, first int, after *string) (paging.Page[Channel], error) {
	cur, err := paging.Decode(after)
	if err != nil {
		return paging.Page[Channel]{}, err
	}
	if search != nil {
		t := strings.TrimSpace(*search)
		if len(t) > maxSearch {
			return paging.Page[Channel]{}, apperr.BadInput("search", "search must be at most 200 bytes")
		}
		if t == "" {
			search = nil
		} else {
			search = &t
		}
	}
	if sort == SortRelevance && search == nil {
		return paging.Page[Channel]{}, apperr.BadInput("sort", "RELEVANCE needs a search")
	}
	staff, user, limit := IsModerator(p), p.UUID(), int32(first+1)
	var afterSeq *int64
	var key string
	if cur != nil {
		// Keys are "<sort value>/<seq>": the id only breaks no tie here.
		k, seqText, ok := strings.Cut(cur.Key, "/")
		seq, err := strconv.ParseInt(seqText, 10, 64)
		if !ok || err != nil {
			return paging.Page[Channel]{}, apperr.BadInput("after", "after is not a valid cursor")
		}
		afterSeq, key = &seq, k
	}
	var rows []store.Channel
	var cursor func(Channel) paging.Cursor
	switch sort {
	case SortNewest, "":
		rows, err = s.q.ListChannelsNewest(ctx, store.ListChannelsNewestParams{
			Staff: staff, Viewer: user, Search: search, AfterSeq: afterSeq, MaxRows: limit})
		cursor = func(c Channel) paging.Cursor { return seqCursor("", c) }
	case SortMembers:
		var n int
		if afterSeq != nil {
			if n, err = strconv.Atoi(key); err != nil {
				return paging.Page[Channel]{}, apperr.BadInput("after", "after is not a valid cursor")
			}
		}
		rows, err = s.q.ListChannelsByMembers(ctx, store.ListChannelsByMembersParams{
			Staff: staff, Viewer: user, Search: search, AfterSeq: afterSeq, AfterMembers: int32(n), MaxRows: limit})
		cursor = func(c Channel) paging.Cursor { return seqCursor(strconv.Itoa(int(c.MemberCount)), c) }
	case SortActivity:
		var at time.Time
		if afterSeq != nil {
			if at, err = time.Parse(time.RFC3339Nano, key); err != nil {
				return paging.Page[Channel]{}, apperr.BadInput("after", "after is not a valid cursor")
			}
		}
		rows, err = s.q.ListChannelsByActivity(ctx, store.ListChannelsByActivityParams{
			Staff: staff, Viewer: user, Search: search, AfterSeq: afterSeq, AfterActivity: at, MaxRows: limit})
		cursor = func(c Channel) paging.Cursor {
			return seqCursor(c.Activity().UTC().Format(time.RFC3339Nano), c)
		}
	case SortRelevance:
		var rank float64
		if afterSeq != nil {
			if rank, err = strconv.ParseFloat(key, 64); err != nil {
				return paging.Page[Channel]{}, apperr.BadInput("after", "after is not a valid cursor")
			}
		}
		var ranked []store.ListChannelsByRelevanceRow
		ranked, err = s.q.ListChannelsByRelevance(ctx, store.ListChannelsByRelevanceParams{
			Staff: staff, Viewer: user, Search: *search, AfterSeq: afterSeq, AfterRank: rank, MaxRows: limit})
		ranks := make(map[uuid.UUID]float64, len(ranked))
		for _, r := range ranked {
			rows = append(rows, r.Channel)
			ranks[r.Channel.ID] = r.Rank
		}
		cursor = func(c Channel) paging.Cursor {
			return seqCursor(strconv.FormatFloat(ranks[c.ID], 'g', -1, 64), c)
		}
	default:
		return paging.Page[Channel]{}, apperr.BadInput("sort", "unknown sort")
	}
	if err != nil {
		return paging.Page[Channel]{}, apperr.Wrap("channels", err)
	}
	page := paging.Cut(mapAll(rows, toChannel), first, cursor)
	page.HasPrevious = cur != nil
	return page, nil
}

func seqCursor(key string, c Channel) paging.Cursor {
	return paging.Cursor{Key: key + "/" + strconv.FormatInt(c.Seq, 10), ID: c.ID}
}

// UserChannels lists the channels user belongs to, most recently joined
// first: every one for the user themself and STAFF, public ones for others.
func (s *Service) UserChannels(ctx context.Context, p identity.Principal, user uuid.UUID, first int, after *string) (paging.Page[Channel], error) {
	cur, err := paging.Decode(after)
	if err != nil {
		return paging.Page[Channel]{}, err
	}
	var afterSeq *int64
	if cur != nil {
		n, err := strconv.ParseInt(cur.Key, 10, 64)
		if err != nil {
			return paging.Page[Channel]{}, apperr.BadInput("after", "after is not a valid cursor")
		}
		afterSeq = &n
	}
	rows, err := s.q.ListUserChannels(ctx, store.ListUserChannelsParams{
		UserID: user, IncludePrivate: p.UUID() == user || p.IsStaff(), AfterSeq: afterSeq, MaxRows: int32(first + 1)})
	if err != nil {
		return paging.Page[Channel]{}, apperr.Wrap("user channels", err)
	}
	seqs := make(map[uuid.UUID]int64, len(rows))
	chs := make([]Channel, len(rows))
	for i, r := range rows {
		chs[i] = toChannel(r.Channel)
		seqs[r.Channel.ID] = r.MembershipSeq
	}
	page := paging.Cut(chs, first, func(c Channel) paging.Cursor {
		return paging.Cursor{Key: strconv.FormatInt(seqs[c.ID], 10), ID: c.ID}
	})
	page.HasPrevious = cur != nil
	return page, nil
}
