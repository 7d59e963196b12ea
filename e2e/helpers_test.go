package e2e_test

import (
	"crypto/ed25519"

	"supergraph/platform/identity"
	"supergraph/platform/subgraph/subgraphtest"
)

// subgraphtestVerifier is the badges test subgraph's verifier of base's router key.
func subgraphtestVerifier(base *subgraphtest.Env) (*identity.Verifier, error) {
	return identity.NewVerifier(base.RouterKey.Public().(ed25519.PublicKey), "badges"), nil
}
