// Package model holds the freelance subgraph's GraphQL models: generated ones
// in models_gen.go, and those written by hand in models.go where a field is
// resolved separately (in batches, through the request's loaders).
package model
