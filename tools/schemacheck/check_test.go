package main

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

const base = `
type Query { user(id: ID!): User  users(first: Int): [User!]! }
type User { id: ID! name: String! email: String role: Role! }
enum Role { A B }
input Filter { q: String  limit: Int }
type Mutation { find(filter: Filter): [User!]! }
`

func schema(t *testing.T, sdl string) *ast.Schema {
	t.Helper()
	s, err := gqlparser.LoadSchema(&ast.Source{Input: sdl})
	require.NoError(t, err)
	return s
}

func TestBreaking(t *testing.T) {
	cases := []struct {
		name, sdl string
		want      []string
	}{
		{"unchanged", base, nil},
		{"additions are safe", base + `extend type User { bio: String } extend enum Role { C } extend input Filter { tag: String }`, nil},
		{"optional argument added", `
type Query { user(id: ID!, x: Int): User  users(first: Int): [User!]! }
type User { id: ID! name: String! email: String role: Role! }
enum Role { A B }
input Filter { q: String  limit: Int }
type Mutation { find(filter: Filter): [User!]! }`, nil},
		{"nullable output made non-null is safe", `
type Query { user(id: ID!): User!  users(first: Int): [User!]! }
type User { id: ID! name: String! email: String role: Role! }
enum Role { A B }
input Filter { q: String  limit: Int }
type Mutation { find(filter: Filter): [User!]! }`, nil},
		{"removals and type changes", `
type Query { user(id: String!): User  users(first: Int!): [User!]! }
type User { id: ID! name: String role: Role! }
enum Role { A }
input Filter { q: String  must: Int! }
type Mutation { find(filter: Filter): [User!]! }`, []string{
			"argument Query.user(id) changed type from ID! to String!",
			"argument Query.users(first) changed type from Int to Int!",
			"enum value Role.B was removed",
			"field User.email was removed",
			"field User.name changed type from String! to String",
			"input field Filter.limit was removed",
			"required input field Filter.must was added",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, Breaking(schema(t, base), schema(t, c.sdl)))
		})
	}
}
