package e2e_test

import (
	"supergraph/platform/subgraph/subgraphtest"
)

// wsClient is a graphql-transport-ws client of the router, as a browser or
// app would be: the access token travels in connection_init. It is the
// platform's one test client of the protocol (subgraphtest.WS).
type wsClient struct{ *subgraphtest.WS }

// dialWith connects to the router's /graphql with init as connection_init's
// payload and waits for connection_ack.
func (p *platform) dialWith(init map[string]any) wsClient {
	p.t.Helper()
	return wsClient{subgraphtest.DialWSWith(p.t, p.url, init)}
}

// dial connects as token ("" is anonymous).
func (p *platform) dial(token string) wsClient {
	p.t.Helper()
	init := map[string]any{}
	if token != "" {
		init["Authorization"] = "Bearer " + token
	}
	return p.dialWith(init)
}

// notification reads the next notificationAdded event of operation id.
func (c wsClient) notification(id string) map[string]any {
	return c.Event(id, "notificationAdded")
}
