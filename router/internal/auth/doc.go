// Package auth turns a client's access token into the principal a request acts
// for: the token's signature is checked against the users service's JWKS, its
// claims and the Redis deny-list; the principal then travels to subgraphs only as
// the router-signed internal assertion (see SubgraphHeaders).
//
// The files, by component:
//   - verifier.go: Verifier, Verify and VerifyDeferred (token checks and the
//     remembered-token cache), DenyCheck, Recheck; the errors a token fails with.
//   - jwks.go: fetching the key set, retrying until it loads (Ready), and its
//     background refresh.
//   - denylist.go: reading the deny-list for one principal (CheckRevoked).
//   - revocation.go: Watch, which ends a long-lived connection's context when
//     its token expires or is revoked (periodic sweeps of the deny-list and
//     the users service's revocation announcements).
//   - headers.go: what the router sends subgraphs (SubgraphHeaders and the
//     internal assertions).
package auth
