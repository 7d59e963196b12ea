// Package demo names the development data that every service's `seed`
// command shares. The demo accounts' ids derive from their usernames, so a
// service can seed data that references the users service's demo accounts
// without reading its database, and every environment gets the same ids.
package demo

import "github.com/google/uuid"

// The demo accounts (created by `users seed`; password in the README).
const (
	Admin = "admin" // STAFF
	Alice = "alice" // FREELANCER
	Bob   = "bob"   // SELLER
	Carol = "carol" // FREELANCER and SELLER
	Dave  = "dave"  // a buyer
)

// namespace scopes the platform's name-based (version 5) ids.
var namespace = uuid.MustParse("6f1c3c2e-6d0b-4b7e-9a43-3f0f6f2a9d51")

// UserID is the id of the demo account with username.
func UserID(username string) uuid.UUID { return ID("user", username) }

// ID is a stable id for a seeded thing of kind named name (a gig's slug,
// say): running a seed twice finds what the first run created.
func ID(kind, name string) uuid.UUID { return uuid.NewSHA1(namespace, []byte(kind+":"+name)) }
