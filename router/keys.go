package router

import (
	"crypto/ed25519"

	"supergraph/platform/identity"
	"supergraph/platform/keys"
)

// PublishAssertionKey loads the key that signs internal assertions (creating
// it in development: ROUTER_ASSERTION_KEY_FILE, default
// .dev/keys/router-assertion.pem) and writes its public half to publicPath
// (default: beside the private key, as .pub.pem), where subgraphs read it.
// `router keys` runs it before anything starts (make run, compose), so that
// no subgraph ever needs the private key. It returns the public key's path.
func PublishAssertionKey(cfg Config, publicPath string) (string, error) {
	key, err := assertionKey(cfg)
	if err != nil {
		return "", err
	}
	if publicPath == "" {
		publicPath = identity.PublicKeyPath(assertionKeyFile(cfg))
	}
	return publicPath, keys.WritePublic(publicPath, key.Public().(ed25519.PublicKey))
}
