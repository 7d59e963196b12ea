// Package model holds the users subgraph's GraphQL models: generated ones in
// models_gen.go, and those written by hand where a field needs a resolver.
package model
