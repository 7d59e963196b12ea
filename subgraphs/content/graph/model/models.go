package model

import (
	"time"

	"github.com/google/uuid"
)

// User is a reference to the users subgraph's entity: content knows only
// the id, and the router joins the rest.
type User struct {
	ID string
}

// IsEntity marks User as a federation entity.
func (User) IsEntity() {}

// Channel is the Channel entity; what depends on the viewer (viewerRole,
// viewerStatus) and the lists are resolved by field resolvers.
type Channel struct {
	UUID              uuid.UUID
	ID                string
	Slug              string
	Name              string
	Description       string
	Visibility        ChannelVisibility
	Owner             *User
	MemberCount       int32
	PostCount         int32
	PostingRestricted bool
	ArchivedAt        *time.Time
	LastPostAt        *time.Time
	CreatedAt         time.Time
}

// IsEntity marks Channel as a federation entity.
func (Channel) IsEntity() {}

// Post is the Post entity. Its channel, viewerHasLiked, hiddenReason and
// edits depend on the viewer and are resolved through the request's loaders.
type Post struct {
	UUID         uuid.UUID
	ID           string
	ChannelID    uuid.UUID
	AuthorID     uuid.UUID
	Author       *User
	Title        string
	Body         string
	Status       PostStatus
	Pinned       bool
	LikeCount    int32
	CommentCount int32
	Hidden       bool
	// Reason is shown as hiddenReason to the author and moderators only.
	Reason      *string
	EditedAt    *time.Time
	PublishedAt *time.Time
	CreatedAt   time.Time
}

// IsEntity marks Post as a federation entity.
func (Post) IsEntity() {}

// Comment is the Comment entity.
type Comment struct {
	UUID       uuid.UUID
	ID         string
	PostID     uuid.UUID
	ParentID   *uuid.UUID
	AuthorID   uuid.UUID
	Path       string
	Author     *User
	Body       string
	Deleted    bool
	Depth      int32
	ReplyCount int32
	LikeCount  int32
	Hidden     bool
	// Reason is shown as hiddenReason to the author and moderators only.
	Reason    *string
	EditedAt  *time.Time
	CreatedAt time.Time
}

// IsEntity marks Comment as a federation entity.
func (Comment) IsEntity() {}

// ChannelMember is a membership, request, invitation or ban.
type ChannelMember struct {
	ChannelID    uuid.UUID
	User         *User
	Role         *ChannelRole
	Status       MembershipStatus
	Since        time.Time
	NotifyOnPost *bool
}
