package community

import (
	"time"

	"github.com/google/uuid"

	"supergraph/subgraphs/content/store"
)

// Visibility says who can find and read a channel.
type Visibility string

const (
	Public  Visibility = "PUBLIC"
	Private Visibility = "PRIVATE"
)

// Role is a member's role in a channel.
type Role string

const (
	Owner  Role = "OWNER"
	Admin  Role = "ADMIN"
	Member Role = "MEMBER"
)

// Status is where a user stands with a channel.
type Status string

const (
	None      Status = "NONE"
	Requested Status = "REQUESTED"
	Invited   Status = "INVITED"
	Joined    Status = "MEMBER"
	Banned    Status = "BANNED"
)

// PostStatus says whether a post is published.
type PostStatus string

const (
	Draft     PostStatus = "DRAFT"
	Published PostStatus = "PUBLISHED"
)

// Channel is a community.
type Channel struct {
	ID                uuid.UUID
	Seq               int64
	Slug              string
	Name              string
	Description       string
	Visibility        Visibility
	OwnerID           uuid.UUID
	PostingRestricted bool
	MemberCount       int32
	PostCount         int32
	LastPostAt        *time.Time
	ArchivedAt        *time.Time
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// Activity is what the directory's ACTIVITY sort orders by: the last
// post's time, or the creation time before the first post.
func (c Channel) Activity() time.Time {
	if c.LastPostAt != nil {
		return *c.LastPostAt
	}
	return c.CreatedAt
}

// Membership is a user's request, invitation, membership or ban.
type Membership struct {
	ChannelID    uuid.UUID
	UserID       uuid.UUID
	Status       Status
	Role         *Role
	NotifyOnPost bool
	Since        time.Time
	Seq          int64
}

// Standing is a viewer's relation to one channel.
type Standing struct {
	Status Status
	Role   *Role
}

// IsMember reports a joined member.
func (s Standing) IsMember() bool { return s.Status == Joined }

// IsAdmin reports the owner or an admin.
func (s Standing) IsAdmin() bool {
	return s.Status == Joined && s.Role != nil && (*s.Role == Owner || *s.Role == Admin)
}

// Post is a post in a channel.
type Post struct {
	ID           uuid.UUID
	ChannelID    uuid.UUID
	AuthorID     uuid.UUID
	Title        string
	Body         string
	Status       PostStatus
	ChannelSeq   int64
	PinnedAt     *time.Time
	LikeCount    int32
	CommentCount int32
	HiddenAt     *time.Time
	HiddenReason *string
	PublishedAt  *time.Time
	EditedAt     *time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// PostEdit is a version of a post replaced by an edit.
type PostEdit struct {
	PostID     uuid.UUID
	Title      string
	Body       string
	ReplacedAt time.Time
}

// Comment is a node of a post's comment tree.
type Comment struct {
	ID           uuid.UUID
	PostID       uuid.UUID
	ParentID     *uuid.UUID
	Seq          int64
	Path         string
	Depth        int32
	AuthorID     uuid.UUID
	Body         string
	LikeCount    int32
	ReplyCount   int32
	HiddenAt     *time.Time
	HiddenReason *string
	EditedAt     *time.Time
	CreatedAt    time.Time
	DeletedAt    *time.Time
}

// DeletedBody is what a deleted comment that keeps its place reads.
const DeletedBody = "[deleted]"

func toChannel(c store.Channel) Channel {
	return Channel{
		ID: c.ID, Seq: c.Seq, Slug: c.Slug, Name: c.Name, Description: c.Description,
		Visibility: Visibility(c.Visibility), OwnerID: c.OwnerID, PostingRestricted: c.PostingRestricted,
		MemberCount: c.MemberCount, PostCount: c.PostCount, LastPostAt: c.LastPostAt, ArchivedAt: c.ArchivedAt,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
}

func toMembership(m store.Membership) Membership {
	out := Membership{
		ChannelID: m.ChannelID, UserID: m.UserID, Status: Status(m.Status),
		NotifyOnPost: m.NotifyOnPost, Since: m.Since, Seq: m.Seq,
	}
	if m.Role != nil {
		out.Role = ptr(Role(*m.Role))
	}
	return out
}

func toPost(p store.Post) Post {
	out := Post{
		ID: p.ID, ChannelID: p.ChannelID, AuthorID: p.AuthorID, Title: p.Title, Body: p.Body,
		Status: PostStatus(p.Status), PinnedAt: p.PinnedAt, LikeCount: p.LikeCount, CommentCount: p.CommentCount,
		HiddenAt: p.HiddenAt, HiddenReason: p.HiddenReason, PublishedAt: p.PublishedAt, EditedAt: p.EditedAt,
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
	if p.ChannelSeq != nil {
		out.ChannelSeq = *p.ChannelSeq
	}
	return out
}

// toComment maps a row; a deleted comment keeps its place but not its words
// nor its author's name (resolvers show a null author).
func toComment(c store.Comment) Comment {
	out := Comment{
		ID: c.ID, PostID: c.PostID, ParentID: c.ParentID, Seq: c.Seq, Path: c.Path, Depth: c.Depth,
		AuthorID: c.AuthorID, Body: c.Body, LikeCount: c.LikeCount, ReplyCount: c.ReplyCount,
		HiddenAt: c.HiddenAt, HiddenReason: c.HiddenReason, EditedAt: c.EditedAt, CreatedAt: c.CreatedAt,
		DeletedAt: c.DeletedAt,
	}
	if c.DeletedAt != nil {
		out.Body = DeletedBody
	}
	return out
}

func mapAll[T, U any](in []T, f func(T) U) []U {
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}
