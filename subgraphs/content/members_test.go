package content_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
)

const (
	joinMutation   = `mutation($id: ID!) { joinChannel(id: $id) { user { id } role status notifyOnPost channel { id memberCount viewerRole viewerStatus } } }`
	leaveMutation  = `mutation($id: ID!) { leaveChannel(id: $id) }`
	inviteMutation = `mutation($c: ID!, $u: ID!) { inviteToChannel(channelId: $c, userId: $u) { user { id } role status } }`
	answerMutation = `mutation($c: ID!, $u: ID!, $ok: Boolean!) { answerJoinRequest(channelId: $c, userId: $u, approve: $ok) { user { id } role status } }`
	roleMutation   = `mutation($c: ID!, $u: ID!, $r: ChannelRole!) { setChannelMemberRole(channelId: $c, userId: $u, role: $r) { user { id } role status } }`
	removeMutation = `mutation($c: ID!, $u: ID!) { removeChannelMember(channelId: $c, userId: $u) }`
	banMutation    = `mutation($c: ID!, $u: ID!, $b: Boolean!) { banChannelMember(channelId: $c, userId: $u, banned: $b) { user { id } role status } }`
	standingQuery  = `query($id: ID!) { channel(id: $id) { memberCount viewerRole viewerStatus } }`
)

// standing reads channel ch as p: memberCount, viewerRole, viewerStatus (nil
// when p may not see the channel).
func (e *env) standing(p person, ch string) map[string]any {
	e.T.Helper()
	r := e.Do(e.as(p), standingQuery, vars{"id": ch}).NoErrors(e.T)
	m, _ := r.Data["channel"].(map[string]any)
	return m
}

// memberRows counts the MEMBER rows of a channel in the database.
func (e *env) memberRows(ch string) int {
	e.T.Helper()
	return e.count(`SELECT count(*) FROM memberships WHERE channel_id = $1 AND status = 'MEMBER'`, ch)
}

func TestJoinAndLeavePublicChannel(t *testing.T) {
	t.Parallel()
	e := setup(t)
	owner, fan := newPerson(), newPerson()
	ch := e.createChannel(owner, "open-house", "PUBLIC")
	require.Equal(t, map[string]any{"memberCount": 1.0, "viewerRole": nil, "viewerStatus": "NONE"}, e.standing(fan, ch))

	r := e.Do(e.as(fan), joinMutation, vars{"id": ch}).NoErrors(t)
	require.Equal(t, map[string]any{
		"user": map[string]any{"id": fan.ID}, "role": "MEMBER", "status": "MEMBER", "notifyOnPost": false,
		"channel": map[string]any{"id": ch, "memberCount": 2.0, "viewerRole": "MEMBER", "viewerStatus": "MEMBER"},
	}, r.Data["joinChannel"])
	e.Do(e.as(fan), joinMutation, vars{"id": ch}).NoErrors(t)
	require.Equal(t, map[string]any{"memberCount": 2.0, "viewerRole": "MEMBER", "viewerStatus": "MEMBER"}, e.standing(fan, ch), "joining again is a no-op")
	require.Equal(t, 2, e.memberRows(ch))

	require.Equal(t, true, e.Do(e.as(fan), leaveMutation, vars{"id": ch}).NoErrors(t).Data["leaveChannel"])
	require.Equal(t, map[string]any{"memberCount": 1.0, "viewerRole": nil, "viewerStatus": "NONE"}, e.standing(fan, ch))
	e.Do(e.as(fan), leaveMutation, vars{"id": ch}).NoErrors(t)
	require.Equal(t, 1.0, e.standing(fan, ch)["memberCount"], "leaving again changes nothing")

	r = e.Do(e.as(owner), leaveMutation, vars{"id": ch})
	require.Equal(t, "CONFLICT", r.Code(t), "the owner must transfer the channel first")
	require.Equal(t, map[string]any{"memberCount": 1.0, "viewerRole": "OWNER", "viewerStatus": "MEMBER"}, e.standing(owner, ch))

	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), joinMutation, vars{"id": ch}).Code(t))
	require.Equal(t, "NOT_FOUND", e.Do(e.as(fan), joinMutation, vars{"id": newPerson().ID}).Code(t))
	require.Equal(t, "BAD_USER_INPUT", e.Do(e.as(fan), joinMutation, vars{"id": "x"}).Code(t))
}

func TestJoinRequestsToAPrivateChannel(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.cast("members-only", "PRIVATE")
	first, second, third := newPerson(), newPerson(), newPerson()

	// (Not selecting channel: a request does not make the channel visible.)
	r := e.Do(e.as(first), `mutation($id: ID!) { joinChannel(id: $id) { status role } }`, vars{"id": c.channel}).NoErrors(t)
	require.Equal(t, "REQUESTED", str(r.Data, "joinChannel", "status"))
	require.Nil(t, field(r.Data, "joinChannel", "role"))
	require.Equal(t, "REQUESTED", e.join(second, c.channel))
	require.Equal(t, "REQUESTED", e.join(third, c.channel))
	require.Equal(t, "REQUESTED", e.join(first, c.channel), "asking again is a no-op")
	require.Equal(t, 3.0, e.standing(c.owner, c.channel)["memberCount"], "requests are not members")
	require.Nil(t, e.standing(first, c.channel), "still hidden from who asked")

	requests := `query($id: ID!, $first: Int, $after: String) { channel(id: $id) { joinRequests(first: $first, after: $after) {
	  edges { node { user { id } status role } } pageInfo { hasNextPage endCursor } } } }`
	requesters := func(p person, page vars) (out []string, next string) {
		t.Helper()
		page["id"] = c.channel
		r := e.Do(e.as(p), requests, page).NoErrors(t)
		conn := field(r.Data, "channel", "joinRequests")
		for _, n := range nodes(conn) {
			require.Equal(t, "REQUESTED", n["status"])
			require.Nil(t, n["role"])
			out = append(out, str(n, "user", "id"))
		}
		if field(conn, "pageInfo", "hasNextPage") == true {
			next = str(conn, "pageInfo", "endCursor")
		}
		return out, next
	}
	got, _ := requesters(c.owner, vars{})
	require.Equal(t, []string{first.ID, second.ID, third.ID}, got, "oldest first")
	got, _ = requesters(c.admin, vars{})
	require.Len(t, got, 3, "admins see them too")
	got, next := requesters(c.owner, vars{"first": 2})
	require.Equal(t, []string{first.ID, second.ID}, got)
	got, next = requesters(c.owner, vars{"first": 2, "after": next})
	require.Equal(t, []string{third.ID}, got)
	require.Empty(t, next)
	require.Equal(t, "FORBIDDEN", e.Do(e.as(c.member), requests, vars{"id": c.channel}).Code(t))

	// Deciding is for the owner and admins.
	require.Equal(t, "FORBIDDEN", e.Do(e.as(c.member), answerMutation, vars{"c": c.channel, "u": first.ID, "ok": true}).Code(t))
	r = e.Do(e.as(c.admin), answerMutation, vars{"c": c.channel, "u": first.ID, "ok": true}).NoErrors(t)
	require.Equal(t, map[string]any{"user": map[string]any{"id": first.ID}, "role": "MEMBER", "status": "MEMBER"}, r.Data["answerJoinRequest"])
	r = e.Do(e.as(c.owner), answerMutation, vars{"c": c.channel, "u": second.ID, "ok": false}).NoErrors(t)
	require.Equal(t, map[string]any{"user": map[string]any{"id": second.ID}, "role": nil, "status": "NONE"}, r.Data["answerJoinRequest"])
	require.Equal(t, "NOT_FOUND", e.Do(e.as(c.owner), answerMutation, vars{"c": c.channel, "u": second.ID, "ok": true}).Code(t), "declined: nothing pending")
	require.Equal(t, "NOT_FOUND", e.Do(e.as(c.owner), answerMutation, vars{"c": c.channel, "u": c.member.ID, "ok": true}).Code(t), "already a member")

	require.Equal(t, map[string]any{"memberCount": 4.0, "viewerRole": "MEMBER", "viewerStatus": "MEMBER"}, e.standing(first, c.channel))
	require.Nil(t, e.standing(second, c.channel))
	got, _ = requesters(c.owner, vars{})
	require.Equal(t, []string{third.ID}, got)
	require.Equal(t, 4, e.memberRows(c.channel))

	// Leaving withdraws a request.
	e.Do(e.as(third), leaveMutation, vars{"id": c.channel}).NoErrors(t)
	got, _ = requesters(c.owner, vars{})
	require.Empty(t, got)
}

func TestInvitationThenJoin(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.cast("by-invitation", "PRIVATE")
	guest, asker := newPerson(), newPerson()

	require.Equal(t, "FORBIDDEN", e.Do(e.as(c.member), inviteMutation, vars{"c": c.channel, "u": guest.ID}).Code(t))
	r := e.Do(e.as(c.admin), inviteMutation, vars{"c": c.channel, "u": guest.ID}).NoErrors(t)
	require.Equal(t, map[string]any{"user": map[string]any{"id": guest.ID}, "role": nil, "status": "INVITED"}, r.Data["inviteToChannel"])
	require.Equal(t, map[string]any{"memberCount": 3.0, "viewerRole": nil, "viewerStatus": "INVITED"}, e.standing(guest, c.channel))
	e.Do(e.as(c.owner), inviteMutation, vars{"c": c.channel, "u": guest.ID}).NoErrors(t) // again: a no-op
	var invites []notice
	for _, n := range e.notices("CHANNEL_INVITE") {
		if n.RecipientID == guest.ID {
			invites = append(invites, n)
		}
	}
	require.Len(t, invites, 1, "one invitation notice")
	require.Equal(t, c.channel, invites[0].Data["channelId"])
	require.Equal(t, "/c/by-invitation", invites[0].Link)

	r = e.Do(e.as(guest), joinMutation, vars{"id": c.channel}).NoErrors(t)
	require.Equal(t, "MEMBER", str(r.Data, "joinChannel", "status"))
	require.Equal(t, "MEMBER", str(r.Data, "joinChannel", "role"))
	require.Equal(t, map[string]any{"memberCount": 4.0, "viewerRole": "MEMBER", "viewerStatus": "MEMBER"}, e.standing(guest, c.channel))

	// Inviting someone who asked approves them.
	require.Equal(t, "REQUESTED", e.join(asker, c.channel))
	r = e.Do(e.as(c.owner), inviteMutation, vars{"c": c.channel, "u": asker.ID}).NoErrors(t)
	require.Equal(t, "MEMBER", str(r.Data, "inviteToChannel", "status"))
	require.Equal(t, []string{asker.ID}, recipients(e.notices("CHANNEL_JOIN_APPROVED")))
	require.Equal(t, 5, e.memberRows(c.channel))
	require.Equal(t, 5.0, e.standing(c.owner, c.channel)["memberCount"])

	// An invitation can be declined by leaving.
	other := newPerson()
	e.Do(e.as(c.owner), inviteMutation, vars{"c": c.channel, "u": other.ID}).NoErrors(t)
	e.Do(e.as(other), leaveMutation, vars{"id": c.channel}).NoErrors(t)
	require.Nil(t, e.standing(other, c.channel))
	require.Equal(t, "REQUESTED", e.join(other, c.channel), "the invitation is gone")
}

func TestMemberRolesAreTheOwners(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.cast("roles", "PUBLIC")
	late := newPerson()
	e.join(late, c.channel)

	require.Equal(t, "FORBIDDEN", e.Do(e.as(c.admin), roleMutation, vars{"c": c.channel, "u": c.member.ID, "r": "ADMIN"}).Code(t), "admins do not appoint admins")
	require.Equal(t, "FORBIDDEN", e.Do(e.as(c.member), roleMutation, vars{"c": c.channel, "u": c.member.ID, "r": "ADMIN"}).Code(t))
	r := e.Do(e.as(c.owner), roleMutation, vars{"c": c.channel, "u": c.member.ID, "r": "OWNER"})
	require.Equal(t, "BAD_USER_INPUT", r.Code(t))
	require.Equal(t, "role", r.Field(t))
	require.Equal(t, "NOT_FOUND", e.Do(e.as(c.owner), roleMutation, vars{"c": c.channel, "u": c.stranger.ID, "r": "ADMIN"}).Code(t))
	require.Equal(t, "CONFLICT", e.Do(e.as(c.staff), roleMutation, vars{"c": c.channel, "u": c.owner.ID, "r": "MEMBER"}).Code(t))

	r = e.Do(e.as(c.owner), roleMutation, vars{"c": c.channel, "u": late.ID, "r": "ADMIN"}).NoErrors(t)
	require.Equal(t, map[string]any{"user": map[string]any{"id": late.ID}, "role": "ADMIN", "status": "MEMBER"}, r.Data["setChannelMemberRole"])
	require.Equal(t, "ADMIN", e.standing(late, c.channel)["viewerRole"])

	// Members: owner, admins, members, each by join time; filtered by role;
	// paged.
	members := `query($id: ID!, $role: ChannelRole, $first: Int, $after: String) { channel(id: $id) {
	  members(role: $role, first: $first, after: $after) { edges { node { user { id } role } } pageInfo { hasNextPage endCursor } } } }`
	list := func(v vars) ([]string, string) {
		t.Helper()
		v["id"] = c.channel
		conn := field(e.Do(e.as(c.stranger), members, v).NoErrors(t).Data, "channel", "members")
		var out []string
		for _, n := range nodes(conn) {
			out = append(out, str(n, "user", "id")+":"+n["role"].(string))
		}
		next := ""
		if field(conn, "pageInfo", "hasNextPage") == true {
			next = str(conn, "pageInfo", "endCursor")
		}
		return out, next
	}
	all := []string{c.owner.ID + ":OWNER", c.admin.ID + ":ADMIN", late.ID + ":ADMIN", c.member.ID + ":MEMBER"}
	got, _ := list(vars{})
	require.Equal(t, all, got)
	got, _ = list(vars{"role": "ADMIN"})
	require.Equal(t, all[1:3], got)
	var walked []string
	after := ""
	for {
		v := vars{"first": 1}
		if after != "" {
			v["after"] = after
		}
		page, next := list(v)
		require.Len(t, page, 1)
		walked = append(walked, page...)
		if next == "" {
			break
		}
		after = next
	}
	require.Equal(t, all, walked)

	// Demoted again.
	e.Do(e.as(c.owner), roleMutation, vars{"c": c.channel, "u": late.ID, "r": "MEMBER"}).NoErrors(t)
	require.Equal(t, "MEMBER", e.standing(late, c.channel)["viewerRole"])
}

func TestAdminsRemoveMembersButNotAdmins(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.cast("removals", "PUBLIC")
	other := newPerson()
	e.join(other, c.channel)
	e.Do(e.as(c.owner), roleMutation, vars{"c": c.channel, "u": other.ID, "r": "ADMIN"}).NoErrors(t)
	require.Equal(t, 4.0, e.standing(c.owner, c.channel)["memberCount"])

	require.Equal(t, "FORBIDDEN", e.Do(e.as(c.member), removeMutation, vars{"c": c.channel, "u": other.ID}).Code(t))
	require.Equal(t, "FORBIDDEN", e.Do(e.as(c.admin), removeMutation, vars{"c": c.channel, "u": other.ID}).Code(t), "an admin cannot remove an admin")
	require.Equal(t, "FORBIDDEN", e.Do(e.as(c.admin), removeMutation, vars{"c": c.channel, "u": c.owner.ID}).Code(t))
	require.Equal(t, "FORBIDDEN", e.Do(e.as(c.owner), removeMutation, vars{"c": c.channel, "u": c.owner.ID}).Code(t))
	require.Equal(t, "NOT_FOUND", e.Do(e.as(c.admin), removeMutation, vars{"c": c.channel, "u": c.stranger.ID}).Code(t))
	require.Equal(t, 4.0, e.standing(c.owner, c.channel)["memberCount"])

	require.Equal(t, true, e.Do(e.as(c.admin), removeMutation, vars{"c": c.channel, "u": c.member.ID}).NoErrors(t).Data["removeChannelMember"])
	require.Equal(t, map[string]any{"memberCount": 3.0, "viewerRole": nil, "viewerStatus": "NONE"}, e.standing(c.member, c.channel))
	e.Do(e.as(c.owner), removeMutation, vars{"c": c.channel, "u": other.ID}).NoErrors(t)
	require.Equal(t, 2.0, e.standing(c.owner, c.channel)["memberCount"])
	require.Equal(t, 2, e.memberRows(c.channel))

	// Removed is not banned: they may join again.
	require.Equal(t, "MEMBER", e.join(c.member, c.channel))
	require.Equal(t, 3.0, e.standing(c.owner, c.channel)["memberCount"])
}

func TestBanKeepsOutUntilUnbanned(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.cast("bans", "PUBLIC")
	troll := newPerson()
	e.join(troll, c.channel)
	require.Equal(t, 4.0, e.standing(c.owner, c.channel)["memberCount"])

	require.Equal(t, "FORBIDDEN", e.Do(e.as(c.member), banMutation, vars{"c": c.channel, "u": troll.ID, "b": true}).Code(t))
	require.Equal(t, "FORBIDDEN", e.Do(e.as(c.admin), banMutation, vars{"c": c.channel, "u": c.owner.ID, "b": true}).Code(t))
	r := e.Do(e.as(c.admin), banMutation, vars{"c": c.channel, "u": troll.ID, "b": true}).NoErrors(t)
	require.Equal(t, map[string]any{"user": map[string]any{"id": troll.ID}, "role": nil, "status": "BANNED"}, r.Data["banChannelMember"])
	require.Equal(t, map[string]any{"memberCount": 3.0, "viewerRole": nil, "viewerStatus": "BANNED"}, e.standing(troll, c.channel))
	e.Do(e.as(c.admin), banMutation, vars{"c": c.channel, "u": troll.ID, "b": true}).NoErrors(t)
	require.Equal(t, 3.0, e.standing(c.owner, c.channel)["memberCount"], "banning twice counts once")

	require.Equal(t, "FORBIDDEN", e.Do(e.as(troll), joinMutation, vars{"id": c.channel}).Code(t))
	e.Do(e.as(troll), leaveMutation, vars{"id": c.channel}).NoErrors(t)
	require.Equal(t, "BANNED", e.standing(troll, c.channel)["viewerStatus"], "leaving does not lift a ban")
	require.Equal(t, "CONFLICT", e.Do(e.as(c.owner), inviteMutation, vars{"c": c.channel, "u": troll.ID}).Code(t))
	require.Equal(t, "FORBIDDEN", e.Do(e.as(troll), `mutation($c: ID!) { createPost(input: {channelId: $c, title: "x", body: "y"}) { id } }`, vars{"c": c.channel}).Code(t))

	// A stranger can be banned pre-emptively, without touching the count.
	e.Do(e.as(c.owner), banMutation, vars{"c": c.channel, "u": c.stranger.ID, "b": true}).NoErrors(t)
	require.Equal(t, "FORBIDDEN", e.Do(e.as(c.stranger), joinMutation, vars{"id": c.channel}).Code(t))
	require.Equal(t, 3.0, e.standing(c.owner, c.channel)["memberCount"])

	r = e.Do(e.as(c.admin), banMutation, vars{"c": c.channel, "u": troll.ID, "b": false}).NoErrors(t)
	require.Equal(t, "NONE", str(r.Data, "banChannelMember", "status"))
	require.Equal(t, "MEMBER", e.join(troll, c.channel))
	require.Equal(t, 4.0, e.standing(c.owner, c.channel)["memberCount"])
	require.Equal(t, 4, e.memberRows(c.channel))

	// Banning an admin is the owner's call.
	require.Equal(t, "FORBIDDEN", e.Do(e.as(c.admin), banMutation, vars{"c": c.channel, "u": c.admin.ID, "b": true}).Code(t))
	e.Do(e.as(c.owner), banMutation, vars{"c": c.channel, "u": c.admin.ID, "b": true}).NoErrors(t)
	require.Equal(t, map[string]any{"memberCount": 3.0, "viewerRole": nil, "viewerStatus": "BANNED"}, e.standing(c.admin, c.channel))
}

func TestTransferChannelOwnership(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.cast("hand-over", "PUBLIC")
	transfer := `mutation($c: ID!, $u: ID!) { transferChannelOwnership(channelId: $c, userId: $u) { owner { id } memberCount viewerRole } }`

	require.Equal(t, "FORBIDDEN", e.Do(e.as(c.admin), transfer, vars{"c": c.channel, "u": c.admin.ID}).Code(t))
	require.Equal(t, "FORBIDDEN", e.Do(e.as(c.member), transfer, vars{"c": c.channel, "u": c.member.ID}).Code(t))
	r := e.Do(e.as(c.owner), transfer, vars{"c": c.channel, "u": c.stranger.ID})
	require.Equal(t, "BAD_USER_INPUT", r.Code(t))
	require.Equal(t, "userId", r.Field(t))

	r = e.Do(e.as(c.owner), transfer, vars{"c": c.channel, "u": c.member.ID}).NoErrors(t)
	require.Equal(t, map[string]any{"owner": map[string]any{"id": c.member.ID}, "memberCount": 3.0, "viewerRole": "ADMIN"}, r.Data["transferChannelOwnership"])
	require.Equal(t, "OWNER", e.standing(c.member, c.channel)["viewerRole"])
	require.Equal(t, "ADMIN", e.standing(c.owner, c.channel)["viewerRole"])
	require.Equal(t, 1, e.count(`SELECT count(*) FROM memberships WHERE channel_id = $1 AND role = 'OWNER'`, c.channel))
	r = e.Do(e.as(c.stranger), channelByID, vars{"id": c.channel}).NoErrors(t)
	require.Equal(t, c.member.ID, str(r.Data, "channel", "owner", "id"))

	// The old owner is an admin now: they may leave; the new one may not,
	// and only the new one decides roles.
	require.Equal(t, "FORBIDDEN", e.Do(e.as(c.owner), roleMutation, vars{"c": c.channel, "u": c.admin.ID, "r": "MEMBER"}).Code(t))
	require.Equal(t, "CONFLICT", e.Do(e.as(c.member), leaveMutation, vars{"id": c.channel}).Code(t))
	e.Do(e.as(c.owner), leaveMutation, vars{"id": c.channel}).NoErrors(t)
	require.Equal(t, 2.0, e.standing(c.member, c.channel)["memberCount"])

	// STAFF can hand any channel over.
	r = e.Do(e.as(c.staff), transfer, vars{"c": c.channel, "u": c.admin.ID}).NoErrors(t)
	require.Equal(t, c.admin.ID, str(r.Data, "transferChannelOwnership", "owner", "id"))
	require.Equal(t, "ADMIN", e.standing(c.member, c.channel)["viewerRole"])
}

func TestChannelNotificationsSetting(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.cast("notify-me", "PUBLIC")
	set := `mutation($c: ID!, $on: Boolean!) { setChannelNotifications(channelId: $c, notifyOnPost: $on) { user { id } notifyOnPost } }`
	r := e.Do(e.as(c.member), set, vars{"c": c.channel, "on": true}).NoErrors(t)
	require.Equal(t, true, field(r.Data, "setChannelNotifications", "notifyOnPost"))
	require.Equal(t, "NOT_FOUND", e.Do(e.as(c.stranger), set, vars{"c": c.channel, "on": true}).Code(t), "members only")

	members := `query($id: ID!) { channel(id: $id) { members { edges { node { user { id } notifyOnPost } } } } }`
	shown := func(p person) map[string]any {
		out := map[string]any{}
		for _, n := range nodes(field(e.Do(e.as(p), members, vars{"id": c.channel}).NoErrors(t).Data, "channel", "members")) {
			out[str(n, "user", "id")] = n["notifyOnPost"]
		}
		return out
	}
	require.Equal(t, map[string]any{c.owner.ID: nil, c.admin.ID: nil, c.member.ID: true}, shown(c.member), "each sees their own setting only")
	require.Equal(t, map[string]any{c.owner.ID: false, c.admin.ID: nil, c.member.ID: nil}, shown(c.owner))

	// Leaving and coming back resets it.
	e.Do(e.as(c.member), leaveMutation, vars{"id": c.channel}).NoErrors(t)
	e.join(c.member, c.channel)
	require.Equal(t, false, shown(c.member)[c.member.ID])
}

func TestUserChannelsShowPrivateMembershipsToSelfOnly(t *testing.T) {
	t.Parallel()
	e := setup(t)
	me, other, staff := newPerson(), newPerson(), newPerson(identity.RoleStaff)
	owner := newPerson()
	pub1 := e.createChannel(owner, "pub-one", "PUBLIC")
	priv := e.createChannel(owner, "priv-one", "PRIVATE")
	pub2 := e.createChannel(owner, "pub-two", "PUBLIC")
	mine := e.createChannel(me, "my-own", "PRIVATE") // joined first: created it
	e.join(me, pub1)
	e.Do(e.as(owner), inviteMutation, vars{"c": priv, "u": me.ID}).NoErrors(t)
	e.join(me, priv)
	e.join(me, pub2)
	requested := e.createChannel(owner, "asked-only", "PRIVATE")
	e.join(me, requested)

	channels := func(c any, first int) []string {
		t.Helper()
		caller := e.Anonymous()
		if p, ok := c.(person); ok {
			caller = e.as(p)
		}
		var out []string
		after := ""
		for {
			q := `query($r: [_Any!]!, $first: Int, $after: String) { _entities(representations: $r) { ... on User { id ` +
				`channels(first: $first, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } } } }`
			v := vars{"r": []any{vars{"__typename": "User", "id": me.ID}}, "first": first}
			if after != "" {
				v["after"] = after
			}
			r := e.Do(caller, q, v).NoErrors(t)
			conn := field(r.Data["_entities"].([]any)[0], "channels")
			out = append(out, ids(conn)...)
			if field(conn, "pageInfo", "hasNextPage") != true {
				return out
			}
			after = str(conn, "pageInfo", "endCursor")
		}
	}
	all := []string{pub2, priv, pub1, mine}
	require.Equal(t, all, channels(me, 20), "most recently joined first, private ones included")
	require.Equal(t, all, channels(me, 1), "paged")
	require.Equal(t, all, channels(staff, 3))
	require.Equal(t, []string{pub2, pub1}, channels(other, 20))
	require.Equal(t, []string{pub2, pub1}, channels(other, 1))
	require.Equal(t, []string{pub2, pub1}, channels(nil, 20))

	// A malformed reference matches nothing rather than failing.
	u := e.user(e.as(me), "not-a-uuid", "channels { edges { node { id } } }")
	require.Empty(t, ids(u["channels"]))
}

// memberCount stays exact however many join and leave at once.
func TestMemberCountIsExactUnderConcurrency(t *testing.T) {
	t.Parallel()
	e := setup(t)
	owner := newPerson()
	ch := e.createChannel(owner, "rush-hour", "PUBLIC")
	leavers := make([]person, 5)
	for i := range leavers {
		leavers[i] = newPerson()
		e.join(leavers[i], ch)
	}
	require.Equal(t, 6.0, e.standing(owner, ch)["memberCount"])

	var burst []call
	for range 50 {
		burst = append(burst, call{e.as(newPerson()), joinMutation})
	}
	for _, p := range leavers {
		burst = append(burst, call{e.as(p), leaveMutation})
	}
	joiner := newPerson() // the same user joining three times at once counts once
	for range 3 {
		burst = append(burst, call{e.as(joiner), joinMutation})
	}
	e.concurrently(t, ch, burst)
	require.Equal(t, 52, e.memberRows(ch))
	require.Equal(t, 52.0, e.standing(owner, ch)["memberCount"], "1 owner + 50 + 1, the leavers gone")
	require.Equal(t, 52, e.count(`SELECT member_count FROM channels WHERE id = $1`, ch))
}
