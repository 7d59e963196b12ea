// Package paging implements the Relay connection arguments every list in the
// graph takes: `first` within bounds and an opaque keyset cursor.
package paging

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"supergraph/platform/apperr"
)

// MaxFirst is the largest page any list returns.
const MaxFirst = 100

// First validates a page size (default when nil) and returns it.
func First(first *int32, def int) (int, error) {
	if first == nil {
		return def, nil
	}
	if *first < 1 || *first > MaxFirst {
		return 0, apperr.BadInput("first", fmt.Sprintf("first must be between 1 and %d", MaxFirst))
	}
	return int(*first), nil
}

// Cursor is a keyset position: the sort value of the last row and its id as
// tie-breaker. Sort values are opaque strings so any order can use it.
type Cursor struct {
	Key string
	ID  uuid.UUID
}

// Encode returns the opaque cursor string.
func (c Cursor) Encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(c.Key + "|" + c.ID.String()))
}

// Decode parses an `after` argument; nil or empty means the first page.
func Decode(after *string) (*Cursor, error) {
	if after == nil || *after == "" {
		return nil, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(*after)
	if err != nil {
		return nil, invalid()
	}
	key, id, ok := strings.Cut(string(raw), "|")
	if !ok {
		return nil, invalid()
	}
	parsed, err := uuid.Parse(id)
	if err != nil {
		return nil, invalid()
	}
	return &Cursor{Key: key, ID: parsed}, nil
}

// TimeCursor is a cursor over a timestamp order.
func TimeCursor(t time.Time, id uuid.UUID) Cursor {
	return Cursor{Key: t.UTC().Format(time.RFC3339Nano), ID: id}
}

// Time returns the cursor's key as a timestamp.
func (c Cursor) Time() (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, c.Key)
	if err != nil {
		return time.Time{}, invalid()
	}
	return t, nil
}

func invalid() error { return apperr.BadInput("after", "after is not a valid cursor") }

// Page is one page of any list: its items, each item's cursor, and whether
// more follow or precede. Domain packages return it; resolvers map it to
// their connection types.
type Page[T any] struct {
	Items   []T
	Cursors []string
	HasNext bool
	// HasPrevious is set by lists that report it (those read after a cursor).
	HasPrevious bool
}

// Cut makes a page of rows read with limit first+1: the extra row only tells
// that a next page exists. cursor gives each kept row its position.
func Cut[T any](rows []T, first int, cursor func(T) Cursor) Page[T] {
	p := Page[T]{HasNext: len(rows) > first, Items: rows[:min(len(rows), first)]}
	p.Cursors = make([]string, len(p.Items))
	for i, r := range p.Items {
		p.Cursors[i] = cursor(r).Encode()
	}
	return p
}

// Map converts a page's items, keeping its cursors and flags.
func Map[T, U any](p Page[T], convert func(T) U) Page[U] {
	out := Page[U]{Cursors: p.Cursors, HasNext: p.HasNext, HasPrevious: p.HasPrevious}
	if p.Items != nil {
		out.Items = make([]U, len(p.Items))
		for i, it := range p.Items {
			out.Items[i] = convert(it)
		}
	}
	return out
}
