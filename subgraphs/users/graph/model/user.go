package model

import "time"

// User is the User entity. Its email field has a resolver: the address is
// shown to the user themself and to STAFF only.
type User struct {
	ID          string
	Username    string
	DisplayName string
	Roles       []Role
	Profile     Profile
	CreatedAt   time.Time
	// EmailAddress is never serialised directly; see the email resolver.
	EmailAddress string
	// OwnSession marks the user of an AuthPayload: the caller just proved to
	// be them, though the request itself was anonymous.
	OwnSession bool
}

// IsEntity marks User as a federation entity.
func (User) IsEntity() {}
