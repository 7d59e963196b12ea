// Package model holds the marketplace subgraph's GraphQL types: gqlgen's
// (models_gen.go) and the hand-written ones it binds to (models.go).
package model
