package gqlserver

import (
	"github.com/google/uuid"

	"supergraph/platform/apperr"
)

// ParseID parses an ID argument. A malformed id is BAD_USER_INPUT naming
// field ("<field> is not a valid id"), so every subgraph answers alike.
func ParseID(field, id string) (uuid.UUID, error) {
	parsed, err := uuid.Parse(id)
	if err != nil {
		return uuid.Nil, apperr.BadInput(field, field+" is not a valid id")
	}
	return parsed, nil
}

// OptionalID is ParseID for a nullable argument: nil stays nil.
func OptionalID(field string, id *string) (*uuid.UUID, error) {
	if id == nil {
		return nil, nil
	}
	parsed, err := ParseID(field, *id)
	if err != nil {
		return nil, err
	}
	return &parsed, nil
}
