package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/wundergraph/graphql-go-tools/v2/pkg/engine/datasource/graphql_datasource"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/engine/resolve"

	"supergraph/platform/apperr"
)

// subscriptionClient is one subgraph's view of the shared upstream
// subscription client: it knows the subgraph's name, so the transport errors
// the library reports as updates ("EOF", "connection reset by peer", …) reach
// clients as a clear SUBGRAPH_UNAVAILABLE error naming the subgraph instead of
// raw internal text.
type subscriptionClient struct {
	graphql_datasource.GraphQLSubscriptionClient
	name string
	log  *slog.Logger
}

func subscriptionClientFor(name string, c graphql_datasource.GraphQLSubscriptionClient, log *slog.Logger) graphql_datasource.GraphQLSubscriptionClient {
	if c == nil {
		return nil
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &subscriptionClient{GraphQLSubscriptionClient: c, name: name, log: log}
}

func (c *subscriptionClient) Subscribe(ctx *resolve.Context, options graphql_datasource.GraphQLSubscriptionOptions, updater resolve.SubscriptionUpdater) error {
	return c.GraphQLSubscriptionClient.Subscribe(ctx, options, &shapedUpdater{SubscriptionUpdater: updater, c: c})
}

func (c *subscriptionClient) SubscribeAsync(ctx *resolve.Context, id uint64, options graphql_datasource.GraphQLSubscriptionOptions, updater resolve.SubscriptionUpdater) error {
	return c.GraphQLSubscriptionClient.SubscribeAsync(ctx, id, options, &shapedUpdater{SubscriptionUpdater: updater, c: c})
}

// shapedUpdater rewrites the library's own transport errors on their way to
// the resolver; the subgraph's updates pass untouched.
type shapedUpdater struct {
	resolve.SubscriptionUpdater
	c *subscriptionClient
}

func (u *shapedUpdater) Update(data []byte) {
	u.SubscriptionUpdater.Update(u.c.shape(data))
}

func (u *shapedUpdater) UpdateSubscription(id resolve.SubscriptionIdentifier, data []byte) {
	u.SubscriptionUpdater.UpdateSubscription(id, u.c.shape(data))
}

var transportErrorPrefix = []byte(`{"errors":[{"message":`)

// shape recognises the library's transport errors: an update that is nothing
// but one error with nothing but a message (a subgraph's own errors carry a
// path or extensions, and its updates data), and replaces it.
func (c *subscriptionClient) shape(data []byte) []byte {
	if !bytes.HasPrefix(data, transportErrorPrefix) {
		return data
	}
	var upd map[string][]map[string]json.RawMessage
	if err := json.Unmarshal(data, &upd); err != nil || len(upd) != 1 || len(upd["errors"]) != 1 || len(upd["errors"][0]) != 1 {
		return data
	}
	var raw string
	_ = json.Unmarshal(upd["errors"][0]["message"], &raw)
	c.log.Warn("subscription upstream failed", "subgraph", c.name, "err", raw)
	body, err := json.Marshal(map[string][]Error{"errors": {{
		Message:    fmt.Sprintf("Lost the subscription's connection to Subgraph '%s'.", c.name),
		Extensions: map[string]any{"code": apperr.CodeSubgraphUnavailable, "serviceName": c.name},
	}}})
	if err != nil {
		return data
	}
	return body
}
