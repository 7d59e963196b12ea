// Package model holds the notifications subgraph's GraphQL models: generated
// ones in models_gen.go, and those written by hand where a field needs a
// resolver or a custom scalar.
package model
