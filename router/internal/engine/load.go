package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/wundergraph/cosmo/router/gen/proto/wg/cosmo/common"
	nodev1 "github.com/wundergraph/cosmo/router/gen/proto/wg/cosmo/node/v1"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/ast"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/engine/datasource/graphql_datasource"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/engine/plan"
)

// Subgraph is one subgraph the composed graph routes to.
type Subgraph struct {
	Name string
	// URL is the routing URL queries and mutations are sent to.
	URL string
	// SubscriptionURL is where subscriptions are opened (ws, http for SSE).
	SubscriptionURL string
}

// Graph is a composed graph: the execution config and what this router reads
// from it besides the protobuf types it compiles against.
type Graph struct {
	Config *nodev1.RouterConfig
	// costs holds each data source's @cost/@listSize, by data source id.
	costs map[string]*plan.DataSourceCostConfig
}

// ReadGraph reads an execution config composed by Cosmo's composition
// (`wgc router compose`): the protobuf RouterConfig in its JSON form.
func ReadGraph(path string) (*Graph, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read graph config: %w", err)
	}
	var rc nodev1.RouterConfig
	// DiscardUnknown: a newer composition may add fields this router does not use yet.
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, &rc); err != nil {
		return nil, fmt.Errorf("parse graph config %s: %w", path, err)
	}
	if rc.GetEngineConfig() == nil || rc.GetEngineConfig().GetGraphqlSchema() == "" {
		return nil, fmt.Errorf("graph config %s has no engine configuration", path)
	}
	costs, err := readCosts(data)
	if err != nil {
		return nil, fmt.Errorf("graph config %s: %w", path, err)
	}
	return &Graph{Config: &rc, costs: costs}, nil
}

// buildOptions are what building a planner configuration needs besides the composed config.
type buildOptions struct {
	// urlOverrides replaces a subgraph's routing (and subscription) URL by name.
	urlOverrides map[string]string
	clientFor    func(subgraph string) *http.Client
	subscription graphql_datasource.GraphQLSubscriptionClient
	engineCtx    context.Context
	costs        map[string]*plan.DataSourceCostConfig
	schema       *ast.Document // the federated schema, for argument defaults
	log          *slog.Logger
}

// buildPlanConfiguration turns the composed config into the planner's configuration:
// one GraphQL data source per subgraph, named after the subgraph (composition numbers
// them "0", "1", … and every error would otherwise say "Subgraph '0'").
func buildPlanConfiguration(rc *nodev1.RouterConfig, opts buildOptions) (plan.Configuration, []Subgraph, error) {
	ec := rc.GetEngineConfig()
	var out plan.Configuration
	out.DefaultFlushIntervalMillis = ec.GetDefaultFlushInterval()

	for _, fc := range ec.GetFieldConfigurations() {
		args := make([]plan.ArgumentConfiguration, 0, len(fc.GetArgumentsConfiguration()))
		for _, a := range fc.GetArgumentsConfiguration() {
			arg := plan.ArgumentConfiguration{Name: a.GetName()}
			switch a.GetSourceType() {
			case nodev1.ArgumentSource_FIELD_ARGUMENT:
				arg.SourceType = plan.FieldArgumentSource
			case nodev1.ArgumentSource_OBJECT_FIELD:
				arg.SourceType = plan.ObjectFieldSource
			}
			args = append(args, arg)
		}
		out.Fields = append(out.Fields, plan.FieldConfiguration{
			TypeName:  fc.GetTypeName(),
			FieldName: fc.GetFieldName(),
			Arguments: args,
		})
	}
	for _, tc := range ec.GetTypeConfigurations() {
		out.Types = append(out.Types, plan.TypeConfiguration{TypeName: tc.GetTypeName(), RenameTo: tc.GetRenameTo()})
	}

	names := make(map[string]string, len(rc.GetSubgraphs()))
	for _, sg := range rc.GetSubgraphs() {
		names[sg.GetId()] = sg.GetName()
	}

	var subgraphs []Subgraph
	for _, ds := range ec.GetDatasourceConfigurations() {
		if ds.GetKind() != nodev1.DataSourceKind_GRAPHQL || ds.GetCustomGraphql() == nil {
			return out, nil, fmt.Errorf("data source %s: kind %s is not supported by this router", ds.GetId(), ds.GetKind())
		}
		name := names[ds.GetId()]
		if name == "" {
			name = ds.GetId()
		}
		gql := ds.GetCustomGraphql()
		if gql.GetGrpc() != nil {
			return out, nil, fmt.Errorf("subgraph %s: gRPC subgraphs are not supported by this router", name)
		}

		header := http.Header{}
		for k, h := range gql.GetFetch().GetHeader() {
			for _, v := range h.GetValues() {
				header.Add(k, loadVariable(v))
			}
		}
		fetchURL := loadVariable(gql.GetFetch().GetUrl())
		subURL := loadVariable(gql.GetSubscription().GetUrl())
		if u, ok := opts.urlOverrides[name]; ok {
			fetchURL, subURL = u, u
		}
		if subURL == "" {
			subURL = fetchURL
		}
		if fetchURL == "" {
			return out, nil, fmt.Errorf("subgraph %s has no routing URL", name)
		}

		upstreamSchema, ok := ec.GetStringStorage()[gql.GetUpstreamSchema().GetKey()]
		if !ok {
			return out, nil, fmt.Errorf("subgraph %s: upstream schema missing from the config's string storage", name)
		}
		schemaCfg, err := graphql_datasource.NewSchemaConfiguration(upstreamSchema, &graphql_datasource.FederationConfiguration{
			Enabled:    gql.GetFederation().GetEnabled(),
			ServiceSDL: gql.GetFederation().GetServiceSdl(),
		})
		if err != nil {
			return out, nil, fmt.Errorf("subgraph %s schema: %w", name, err)
		}

		useSSE, ssePost := false, false
		if p := gql.GetSubscription().Protocol; p != nil {
			switch *p {
			case common.GraphQLSubscriptionProtocol_GRAPHQL_SUBSCRIPTION_PROTOCOL_SSE:
				useSSE = true
			case common.GraphQLSubscriptionProtocol_GRAPHQL_SUBSCRIPTION_PROTOCOL_SSE_POST:
				useSSE, ssePost = true, true
			}
		}
		// Pinned to graphql-transport-ws unless the graph config asks for legacy graphql-ws:
		// with "auto" the engine offers both and gqlgen picks the legacy protocol.
		wsProtocol := "graphql-transport-ws"
		if p := gql.GetSubscription().WebsocketSubprotocol; p != nil && *p == common.GraphQLWebsocketSubprotocol_GRAPHQL_WEBSOCKET_SUBPROTOCOL_WS {
			wsProtocol = "graphql-ws"
		}

		scalarFields := make([]graphql_datasource.SingleTypeField, 0, len(gql.GetCustomScalarTypeFields()))
		for _, f := range gql.GetCustomScalarTypeFields() {
			scalarFields = append(scalarFields, graphql_datasource.SingleTypeField{TypeName: f.GetTypeName(), FieldName: f.GetFieldName()})
		}

		custom, err := graphql_datasource.NewConfiguration(graphql_datasource.ConfigurationInput{
			Fetch: &graphql_datasource.FetchConfiguration{
				URL:    fetchURL,
				Method: gql.GetFetch().GetMethod().String(),
				Header: header,
			},
			Subscription: &graphql_datasource.SubscriptionConfiguration{
				URL:           subURL,
				UseSSE:        useSSE,
				SSEMethodPost: ssePost,
				WsSubProtocol: wsProtocol,
			},
			SchemaConfiguration:    schemaCfg,
			CustomScalarTypeFields: scalarFields,
		})
		if err != nil {
			return out, nil, fmt.Errorf("subgraph %s: %w", name, err)
		}
		factory, err := graphql_datasource.NewFactory(opts.engineCtx, opts.clientFor(name), subscriptionClientFor(name, opts.subscription, opts.log))
		if err != nil {
			return out, nil, fmt.Errorf("subgraph %s: graphql data source factory: %w", name, err)
		}
		meta := dataSourceMetadata(ds)
		c := opts.costs[ds.GetId()]
		if c == nil {
			c = plan.NewDataSourceCostConfig()
		}
		assumeArgumentDefaults(c, opts.schema)
		weighLeafTypes(c, opts.schema)
		meta.CostConfig = c
		dsc, err := plan.NewDataSourceConfigurationWithName(name, name, factory, meta, custom)
		if err != nil {
			return out, nil, fmt.Errorf("subgraph %s: %w", name, err)
		}
		out.DataSources = append(out.DataSources, dsc)
		subgraphs = append(subgraphs, Subgraph{Name: name, URL: fetchURL, SubscriptionURL: subURL})
	}
	if len(subgraphs) == 0 {
		return out, nil, errors.New("graph config lists no subgraphs")
	}
	return out, subgraphs, nil
}

func dataSourceMetadata(in *nodev1.DataSourceConfiguration) *plan.DataSourceMetadata {
	directives := make(plan.DirectiveConfigurations, 0, len(in.GetDirectives()))
	for _, d := range in.GetDirectives() {
		directives = append(directives, plan.DirectiveConfiguration{DirectiveName: d.GetDirectiveName(), RenameTo: d.GetDirectiveName()})
	}
	out := &plan.DataSourceMetadata{Directives: &directives}
	for _, n := range in.GetRootNodes() {
		out.RootNodes = append(out.RootNodes, plan.TypeField{TypeName: n.GetTypeName(), FieldNames: n.GetFieldNames()})
	}
	for _, n := range in.GetChildNodes() {
		out.ChildNodes = append(out.ChildNodes, plan.TypeField{TypeName: n.GetTypeName(), FieldNames: n.GetFieldNames()})
	}
	for _, k := range in.GetKeys() {
		var conds []plan.KeyCondition
		for _, c := range k.GetConditions() {
			coords := make([]plan.FieldCoordinate, 0, len(c.GetFieldCoordinatesPath()))
			for _, fc := range c.GetFieldCoordinatesPath() {
				coords = append(coords, plan.FieldCoordinate{TypeName: fc.GetTypeName(), FieldName: fc.GetFieldName()})
			}
			conds = append(conds, plan.KeyCondition{Coordinates: coords, FieldPath: c.GetFieldPath()})
		}
		out.Keys = append(out.Keys, plan.FederationFieldConfiguration{
			TypeName:              k.GetTypeName(),
			FieldName:             k.GetFieldName(),
			SelectionSet:          k.GetSelectionSet(),
			DisableEntityResolver: k.GetDisableEntityResolver(),
			Conditions:            conds,
		})
	}
	for _, p := range in.GetProvides() {
		out.Provides = append(out.Provides, plan.FederationFieldConfiguration{TypeName: p.GetTypeName(), FieldName: p.GetFieldName(), SelectionSet: p.GetSelectionSet()})
	}
	for _, r := range in.GetRequires() {
		out.Requires = append(out.Requires, plan.FederationFieldConfiguration{TypeName: r.GetTypeName(), FieldName: r.GetFieldName(), SelectionSet: r.GetSelectionSet()})
	}
	for _, ei := range in.GetEntityInterfaces() {
		out.EntityInterfaces = append(out.EntityInterfaces, plan.EntityInterfaceConfiguration{InterfaceTypeName: ei.GetInterfaceTypeName(), ConcreteTypeNames: ei.GetConcreteTypeNames()})
	}
	for _, io := range in.GetInterfaceObjects() {
		out.InterfaceObjects = append(out.InterfaceObjects, plan.EntityInterfaceConfiguration{InterfaceTypeName: io.GetInterfaceTypeName(), ConcreteTypeNames: io.GetConcreteTypeNames()})
	}
	return out
}

// loadVariable resolves a configuration variable: static content, or an environment
// variable with its default.
func loadVariable(v *nodev1.ConfigurationVariable) string {
	if v == nil {
		return ""
	}
	switch v.GetKind() {
	case nodev1.ConfigurationVariableKind_ENV_CONFIGURATION_VARIABLE:
		if val, ok := os.LookupEnv(v.GetEnvironmentVariableName()); ok && v.GetEnvironmentVariableName() != "" {
			return val
		}
		return v.GetEnvironmentVariableDefaultValue()
	case nodev1.ConfigurationVariableKind_STATIC_CONFIGURATION_VARIABLE:
		return v.GetStaticVariableContent()
	}
	return ""
}
