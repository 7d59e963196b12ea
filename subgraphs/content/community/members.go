package community

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"supergraph/platform/apperr"
	"supergraph/platform/identity"
	"supergraph/platform/paging"
	"supergraph/platform/pg"
	"supergraph/subgraphs/content/store"
)

// Membership changes lock the channel row first: they serialize per channel,
// so member_count stays exact however many join at once.

// maxAdminsNotified bounds the notifications one join request causes.
const maxAdminsNotified = 50

// target reads (and locks) user's membership row; Status None when absent.
func target(ctx context.Context, q *store.Queries, channel, user uuid.UUID) (Membership, error) {
	m, err := q.GetMembershipForUpdate(ctx, store.GetMembershipForUpdateParams{ChannelID: channel, UserID: user})
	if errors.Is(err, pgx.ErrNoRows) {
		return Membership{ChannelID: channel, UserID: user, Status: None}, nil
	}
	if err != nil {
		return Membership{}, err
	}
	return toMembership(m), nil
}

func setMembership(ctx context.Context, q *store.Queries, channel, user uuid.UUID, status Status, role *Role) (Membership, error) {
	params := store.UpsertMembershipParams{ChannelID: channel, UserID: user, Status: store.MembershipStatus(status)}
	if role != nil {
		params.Role = ptr(store.ChannelRole(*role))
	}
	m, err := q.UpsertMembership(ctx, params)
	return toMembership(m), err
}

func addMembers(ctx context.Context, q *store.Queries, channel uuid.UUID, delta int32) error {
	return q.AddChannelMembers(ctx, store.AddChannelMembersParams{ID: channel, Delta: delta})
}

// JoinChannel joins a public channel, accepts an invitation to a private
// one, or asks to join a private one (its owner and admins are notified).
// Anyone with a private channel's id may ask: the link was shared with them.
func (s *Service) JoinChannel(ctx context.Context, p identity.Principal, channel uuid.UUID) (Membership, error) {
	user, err := p.SignedIn()
	if err != nil {
		return Membership{}, err
	}
	var out Membership
	err = pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		ch, err := q.GetChannelForUpdate(ctx, channel)
		if err != nil {
			return pg.NotFound(err, "channel")
		}
		if err := writable(ch); err != nil {
			return err
		}
		m, err := target(ctx, q, channel, user)
		if err != nil {
			return err
		}
		switch {
		case m.Status == Joined || m.Status == Requested:
			out = m
			return nil
		case m.Status == Banned:
			return apperr.Forbidden("you are banned from this channel")
		case m.Status == Invited || ch.Visibility == store.ChannelVisibilityPUBLIC:
			if out, err = setMembership(ctx, q, channel, user, Joined, ptr(Member)); err != nil {
				return err
			}
			return addMembers(ctx, q, channel, 1)
		}
		if out, err = setMembership(ctx, q, channel, user, Requested, nil); err != nil {
			return err
		}
		admins, err := q.ListAdmins(ctx, store.ListAdminsParams{ChannelID: channel, MaxRows: maxAdminsNotified})
		if err != nil {
			return err
		}
		now := s.now()
		for _, a := range admins {
			err := queueNotice(ctx, tx, notice{
				recipient: a, kind: KindChannelJoinRequest, title: "Request to join " + ch.Name,
				body: "Someone asked to join " + ch.Name + ".", link: channelLink(ch.Slug),
				data: map[string]any{"channelId": ch.ID.String(), "userId": user.String()},
			}, now, uuid.Nil)
			if err != nil {
				return err
			}
		}
		return nil
	})
	s.channelChanged(ctx, err, channel)
	return out, apperr.Wrap("join channel", err)
}

// LeaveChannel ends p's membership, request or invitation. The owner must
// hand the channel over first; a ban stays.
func (s *Service) LeaveChannel(ctx context.Context, p identity.Principal, channel uuid.UUID) error {
	user, err := p.SignedIn()
	if err != nil {
		return err
	}
	err = pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		if _, err := q.GetChannelForUpdate(ctx, channel); err != nil {
			return pg.NotFound(err, "channel")
		}
		m, err := target(ctx, q, channel, user)
		if err != nil {
			return err
		}
		switch m.Status {
		case None, Banned:
			return nil
		case Joined:
			if *m.Role == Owner {
				return apperr.Conflict("", "the owner cannot leave: transfer the ownership first")
			}
			if err := addMembers(ctx, q, channel, -1); err != nil {
				return err
			}
		}
		_, err = q.DeleteMembership(ctx, store.DeleteMembershipParams{ChannelID: channel, UserID: user})
		return err
	})
	s.channelChanged(ctx, err, channel)
	return apperr.Wrap("leave channel", err)
}

// adminAction runs fn on the target's locked membership once p is known to
// be the channel's owner or admin (or STAFF).
func (s *Service) adminAction(ctx context.Context, p identity.Principal, channel, user uuid.UUID, op string,
	fn func(q *store.Queries, tx pgx.Tx, ch store.Channel, actor Standing, m Membership) (Membership, error)) (Membership, error) {
	if _, err := p.SignedIn(); err != nil {
		return Membership{}, err
	}
	var out Membership
	err := pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		ch, st, err := s.channelFor(ctx, q, p, channel, true)
		if err != nil {
			return err
		}
		if err := requireAdmin(p, st); err != nil {
			return err
		}
		m, err := target(ctx, q, channel, user)
		if err != nil {
			return err
		}
		out, err = fn(q, tx, ch, st, m)
		return err
	})
	s.channelChanged(ctx, err, channel)
	return out, apperr.Wrap(op, err)
}

// outranks reports whether the actor may act on a member of the target's
// role: the owner and STAFF on anyone but the owner, admins on members only.
func outranks(p identity.Principal, actor Standing, m Membership) bool {
	if m.Status != Joined {
		return true
	}
	switch *m.Role {
	case Owner:
		return false
	case Admin:
		return p.IsStaff() || (actor.Role != nil && *actor.Role == Owner)
	}
	return true
}

// InviteToChannel invites user (to a private channel, or a public one they
// can join at once); a pending request is approved instead.
func (s *Service) InviteToChannel(ctx context.Context, p identity.Principal, channel, user uuid.UUID) (Membership, error) {
	return s.adminAction(ctx, p, channel, user, "invite", func(q *store.Queries, tx pgx.Tx, ch store.Channel, _ Standing, m Membership) (Membership, error) {
		switch m.Status {
		case Joined, Invited:
			return m, nil
		case Banned:
			return m, apperr.Conflict("userId", "the user is banned from this channel: unban them first")
		case Requested:
			return s.approve(ctx, q, tx, ch, user)
		}
		out, err := setMembership(ctx, q, channel, user, Invited, nil)
		if err != nil {
			return out, err
		}
		return out, queueNotice(ctx, tx, notice{
			recipient: user, kind: KindChannelInvite, title: "You are invited to " + ch.Name,
			body: "Join " + ch.Name + " to read and post.", link: channelLink(ch.Slug),
			data: map[string]any{"channelId": ch.ID.String()},
		}, s.now(), uuid.Nil)
	})
}

func (s *Service) approve(ctx context.Context, q *store.Queries, tx pgx.Tx, ch store.Channel, user uuid.UUID) (Membership, error) {
	out, err := setMembership(ctx, q, ch.ID, user, Joined, ptr(Member))
	if err != nil {
		return out, err
	}
	if err := addMembers(ctx, q, ch.ID, 1); err != nil {
		return out, err
	}
	return out, queueNotice(ctx, tx, notice{
		recipient: user, kind: KindChannelJoinApproved, title: "Welcome to " + ch.Name,
		body: "Your request to join " + ch.Name + " was approved.", link: channelLink(ch.Slug),
		data: map[string]any{"channelId": ch.ID.String()},
	}, s.now(), uuid.Nil)
}

// AnswerJoinRequest approves or declines a pending request to join.
func (s *Service) AnswerJoinRequest(ctx context.Context, p identity.Principal, channel, user uuid.UUID, approve bool) (Membership, error) {
	return s.adminAction(ctx, p, channel, user, "answer join request", func(q *store.Queries, tx pgx.Tx, ch store.Channel, _ Standing, m Membership) (Membership, error) {
		if m.Status != Requested {
			return m, apperr.NotFound("join request")
		}
		if approve {
			return s.approve(ctx, q, tx, ch, user)
		}
		if _, err := q.DeleteMembership(ctx, store.DeleteMembershipParams{ChannelID: channel, UserID: user}); err != nil {
			return m, err
		}
		m.Status, m.Role = None, nil
		return m, nil
	})
}

// SetMemberRole makes a member ADMIN or MEMBER: the owner (or STAFF).
func (s *Service) SetMemberRole(ctx context.Context, p identity.Principal, channel, user uuid.UUID, role Role) (Membership, error) {
	if role != Admin && role != Member {
		return Membership{}, apperr.BadInput("role", "role must be ADMIN or MEMBER: ownership is handed over with transferChannelOwnership")
	}
	return s.adminAction(ctx, p, channel, user, "set member role", func(q *store.Queries, _ pgx.Tx, _ store.Channel, actor Standing, m Membership) (Membership, error) {
		if err := requireOwner(p, actor); err != nil {
			return m, err
		}
		if m.Status != Joined {
			return m, apperr.NotFound("member")
		}
		if *m.Role == Owner {
			return m, apperr.Conflict("userId", "the owner's role changes only by transferring the ownership")
		}
		r, err := q.SetMemberRole(ctx, store.SetMemberRoleParams{ChannelID: channel, UserID: user, Role: ptr(store.ChannelRole(role))})
		return toMembership(r), err
	})
}

// RemoveMember removes a member: the owner removes anyone but themself,
// admins remove members.
func (s *Service) RemoveMember(ctx context.Context, p identity.Principal, channel, user uuid.UUID) error {
	_, err := s.adminAction(ctx, p, channel, user, "remove member", func(q *store.Queries, _ pgx.Tx, _ store.Channel, actor Standing, m Membership) (Membership, error) {
		if m.Status != Joined {
			return m, apperr.NotFound("member")
		}
		if !outranks(p, actor, m) {
			return m, apperr.Forbidden("you cannot remove this member")
		}
		if err := addMembers(ctx, q, channel, -1); err != nil {
			return m, err
		}
		_, err := q.DeleteMembership(ctx, store.DeleteMembershipParams{ChannelID: channel, UserID: user})
		return m, err
	})
	return err
}

// BanMember bans (removing a member) or unbans a user.
func (s *Service) BanMember(ctx context.Context, p identity.Principal, channel, user uuid.UUID, banned bool) (Membership, error) {
	return s.adminAction(ctx, p, channel, user, "ban member", func(q *store.Queries, _ pgx.Tx, _ store.Channel, actor Standing, m Membership) (Membership, error) {
		if !banned {
			if m.Status != Banned {
				return m, nil
			}
			_, err := q.DeleteMembership(ctx, store.DeleteMembershipParams{ChannelID: channel, UserID: user})
			m.Status = None
			return m, err
		}
		if m.Status == Banned {
			return m, nil
		}
		if !outranks(p, actor, m) {
			return m, apperr.Forbidden("you cannot ban this member")
		}
		if m.Status == Joined {
			if err := addMembers(ctx, q, channel, -1); err != nil {
				return m, err
			}
		}
		return setMembership(ctx, q, channel, user, Banned, nil)
	})
}

// TransferOwnership hands the channel to another member; the old owner
// stays as an admin. The owner (or STAFF).
func (s *Service) TransferOwnership(ctx context.Context, p identity.Principal, channel, user uuid.UUID) (Channel, error) {
	_, err := s.adminAction(ctx, p, channel, user, "transfer ownership", func(q *store.Queries, _ pgx.Tx, ch store.Channel, actor Standing, m Membership) (Membership, error) {
		if err := requireOwner(p, actor); err != nil {
			return m, err
		}
		if m.Status != Joined {
			return m, apperr.BadInput("userId", "the new owner must be a member of the channel")
		}
		if *m.Role == Owner {
			return m, nil
		}
		// One owner at a time (a unique index): demote first.
		if _, err := q.SetMemberRole(ctx, store.SetMemberRoleParams{ChannelID: channel, UserID: ch.OwnerID, Role: ptr(store.ChannelRoleADMIN)}); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return m, err
		}
		if _, err := q.SetMemberRole(ctx, store.SetMemberRoleParams{ChannelID: channel, UserID: user, Role: ptr(store.ChannelRoleOWNER)}); err != nil {
			return m, err
		}
		return m, q.SetChannelOwner(ctx, store.SetChannelOwnerParams{ID: channel, OwnerID: user})
	})
	if err != nil {
		return Channel{}, err
	}
	ch, err := s.q.GetChannel(ctx, channel)
	if err != nil {
		return Channel{}, apperr.Wrap("transfer ownership", err)
	}
	return toChannel(ch), nil
}

// SetNotifyOnPost switches p's notifications of new posts in a channel.
func (s *Service) SetNotifyOnPost(ctx context.Context, p identity.Principal, channel uuid.UUID, on bool) (Membership, error) {
	user, err := p.SignedIn()
	if err != nil {
		return Membership{}, err
	}
	m, err := s.q.SetNotifyOnPost(ctx, store.SetNotifyOnPostParams{ChannelID: channel, UserID: user, NotifyOnPost: on})
	if errors.Is(err, pgx.ErrNoRows) {
		return Membership{}, apperr.NotFound("membership")
	}
	if err != nil {
		return Membership{}, apperr.Wrap("set notifications", err)
	}
	return toMembership(m), nil
}

// Members lists a channel's members: owner, admins, then members, each by
// join order. Private channels: members (and moderators) only.
func (s *Service) Members(ctx context.Context, p identity.Principal, channel uuid.UUID, role *Role, first int, after *string) (paging.Page[Membership], error) {
	cur, err := paging.Decode(after)
	if err != nil {
		return paging.Page[Membership]{}, err
	}
	ch, st, err := s.readChannel(ctx, p, channel)
	if err != nil {
		return paging.Page[Membership]{}, err
	}
	if !MayRead(p, ch, st) {
		return paging.Page[Membership]{}, apperr.Forbidden("only members see the members of a private channel")
	}
	params := store.ListMembersParams{ChannelID: channel, MaxRows: int32(first + 1), AfterRole: store.ChannelRoleOWNER}
	if role != nil {
		params.Role = ptr(store.ChannelRole(*role))
	}
	if cur != nil {
		r, seqText, ok := strings.Cut(cur.Key, "/")
		seq, err := strconv.ParseInt(seqText, 10, 64)
		if !ok || err != nil || !store.ChannelRole(r).Valid() {
			return paging.Page[Membership]{}, apperr.BadInput("after", "after is not a valid cursor")
		}
		params.AfterRole, params.AfterSeq = store.ChannelRole(r), &seq
	}
	rows, err := s.q.ListMembers(ctx, params)
	if err != nil {
		return paging.Page[Membership]{}, apperr.Wrap("members", err)
	}
	page := paging.Cut(mapAll(rows, toMembership), first, func(m Membership) paging.Cursor {
		return paging.Cursor{Key: string(*m.Role) + "/" + strconv.FormatInt(m.Seq, 10), ID: m.UserID}
	})
	page.HasPrevious = cur != nil
	return page, nil
}

// JoinRequests lists pending requests, oldest first: owner and admins only.
func (s *Service) JoinRequests(ctx context.Context, p identity.Principal, channel uuid.UUID, first int, after *string) (paging.Page[Membership], error) {
	cur, err := paging.Decode(after)
	if err != nil {
		return paging.Page[Membership]{}, err
	}
	if _, err := p.SignedIn(); err != nil {
		return paging.Page[Membership]{}, err
	}
	_, st, err := s.readChannel(ctx, p, channel)
	if err != nil {
		return paging.Page[Membership]{}, err
	}
	if err := requireAdmin(p, st); err != nil {
		return paging.Page[Membership]{}, err
	}
	var afterSeq *int64
	if cur != nil {
		n, err := strconv.ParseInt(cur.Key, 10, 64)
		if err != nil {
			return paging.Page[Membership]{}, apperr.BadInput("after", "after is not a valid cursor")
		}
		afterSeq = &n
	}
	rows, err := s.q.ListByStatus(ctx, store.ListByStatusParams{
		ChannelID: channel, Status: store.MembershipStatusREQUESTED, AfterSeq: afterSeq, MaxRows: int32(first + 1)})
	if err != nil {
		return paging.Page[Membership]{}, apperr.Wrap("join requests", err)
	}
	page := paging.Cut(mapAll(rows, toMembership), first, func(m Membership) paging.Cursor {
		return paging.Cursor{Key: strconv.FormatInt(m.Seq, 10), ID: m.UserID}
	})
	page.HasPrevious = cur != nil
	return page, nil
}
