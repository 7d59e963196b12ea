// Package e2e holds the end-to-end tests: the real subgraphs and the router
// started in-process on loopback sockets, exercised through the router only.
package e2e
