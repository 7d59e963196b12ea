package e2e_test

import (
	"crypto/ed25519"

	"supergraph/platform/identity"
	"supergraph/platform/subgraph/subgraphtest"
)

func subgraphtestVerifier(base *subgraphtest.Env) (*identity.Verifier, error) {
	return identity.NewVerifier(base.RouterKey.Public().(ed25519.PublicKey)), nil
}
