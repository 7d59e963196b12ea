package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"supergraph/platform/services"
)

// TestReferenceClients runs the reference implementations of the router's
// wire protocols against it, so conformance is judged by the specs' own tools
// and not only by ours: graphql-http's audit of GraphQL over HTTP (every MUST
// and SHOULD), graphql-ws, the graphql-transport-ws reference client, and
// graphql-sse, the GraphQL over Server-Sent Events one (tools/conformance).
func TestReferenceClients(t *testing.T) {
	t.Parallel()
	installConformanceTools(t)

	p := newPlatform(t)
	p.startSubgraphs()
	p.startRouter()

	t.Run("GraphQL over HTTP audit", func(t *testing.T) {
		var audit struct {
			Total    int
			Failures []map[string]any
		}
		conformance(t, &audit, "http", p.url+"/graphql")
		require.Greater(t, audit.Total, 50, "the audit ran its checks")
		require.Empty(t, audit.Failures)
	})

	t.Run("graphql-transport-ws and graphql-sse clients", func(t *testing.T) {
		type result struct {
			Query struct {
				Result struct{ Data map[string]any }
			}
			Invalid struct{ Error json.RawMessage }
			Live    struct {
				Result struct{ Data map[string]any }
			}
			Closes []int
		}
		ada, bea := p.register("ada"), p.register("bea")
		var ws, sse result
		var wg sync.WaitGroup
		wg.Go(func() { conformance(t, &ws, "ws", p.url+"/graphql", ada.Token) })
		wg.Go(func() { conformance(t, &sse, "sse", p.url+"/graphql", bea.Token) })
		// The WELCOMEs are delivered once both clients listen, so they arrive live.
		p.waitSubscribed(ada.ID)
		p.waitSubscribed(bea.ID)
		p.startWorker()
		wg.Wait()

		for _, c := range []struct {
			name string
			res  result
			user account
		}{{"graphql-ws", ws, ada}, {"graphql-sse", sse, bea}} {
			require.Equal(t, map[string]any{"me": map[string]any{"id": c.user.ID}}, c.res.Query.Result.Data, c.name)
			require.Equal(t, "WELCOME", dig(c.res.Live.Result.Data, "notificationAdded", "kind"), c.name)
		}
		// graphql-transport-ws reports an invalid operation as an error message...
		var wsErrs []struct {
			Message    string
			Extensions map[string]any
		}
		require.NoError(t, json.Unmarshal(ws.Invalid.Error, &wsErrs), "%s", ws.Invalid.Error)
		require.Len(t, wsErrs, 1)
		require.Equal(t, "GRAPHQL_VALIDATION_FAILED", wsErrs[0].Extensions["code"])
		require.Contains(t, wsErrs[0].Message, "nope")
		require.Equal(t, []int{1000}, ws.Closes, "the client's dispose closes normally")
		// ...and GraphQL over SSE as a 4xx answer before any event.
		require.Contains(t, string(sse.Invalid.Error), "Server responded with 400")
	})
}

// TestApolloComposition composes the platform's subgraphs (graph/graph.yaml)
// with Apollo Federation's own composition as well as Cosmo's (make
// generate-graph): the graph must compose there too, without hints. The
// supergraph SDL it makes (what rover or a conformance suite hands a gateway)
// is then split back into subgraphs and composed for the router
// (tools/compose/compose.sh --supergraph), which must serve it like its own.
func TestApolloComposition(t *testing.T) {
	t.Parallel()
	installConformanceTools(t)
	raw, err := os.ReadFile("../graph/graph.yaml")
	require.NoError(t, err)
	var graph struct {
		Subgraphs []struct {
			Name   string
			Schema struct{ File string }
		}
	}
	require.NoError(t, yaml.Unmarshal(raw, &graph))
	args := []string{"compose"}
	for _, s := range graph.Subgraphs {
		args = append(args, s.Name+"="+filepath.Join("../../graph", s.Schema.File))
	}
	require.Len(t, args, 1+len(services.Subgraphs), "the graph lists every subgraph")
	var res struct {
		Errors, Hints []string
		Supergraph    string
	}
	conformance(t, &res, args...)
	require.Empty(t, res.Errors)
	require.Empty(t, res.Hints)
	require.Contains(t, res.Supergraph, "@join__graph")

	dir := t.TempDir()
	supergraph, config := filepath.Join(dir, "supergraph.graphql"), filepath.Join(dir, "out", "config.json")
	require.NoError(t, os.WriteFile(supergraph, []byte(res.Supergraph), 0o600))
	out, err := exec.Command("../tools/compose/compose.sh", "--supergraph", supergraph, config).CombinedOutput()
	require.NoError(t, err, "%s", out)

	p := newPlatform(t)
	p.startSubgraphs()
	cfg := p.routerConfig()
	cfg.GraphConfig = config
	p.startRouterWith(cfg)

	ada := p.register("ada")
	d := p.ok(ada.Token, `{ me { username notificationPreferences { email } gigs(first: 1) { edges { node { id } } } } }`, nil)
	require.Equal(t, map[string]any{"username": "ada", "notificationPreferences": map[string]any{"email": true},
		"gigs": map[string]any{"edges": []any{}}}, d["me"], "one user across the three subgraphs")
	res2 := p.post("", `{ me { email } }`, nil)
	require.Nil(t, dig(res2.Data, "me"), "anonymous: no user")
}

// installConformanceTools installs the pinned npm packages (and Node.js as
// root on Debian when missing) that conformance runs.
func installConformanceTools(t *testing.T) {
	out, err := exec.Command("../tools/conformance/ensure.sh").CombinedOutput()
	require.NoError(t, err, "install the reference clients: %s", out)
}

// conformance runs tools/conformance/conformance.mjs with args and decodes
// the JSON it prints into out. It may run on a goroutine of the test.
func conformance(t *testing.T, out any, args ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{"conformance.mjs"}, args...)...)
	cmd.Dir = "../tools/conformance"
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Errorf("conformance.mjs %v: %v\n%s", args, err, stderr.Bytes())
		return
	}
	if err := json.Unmarshal(stdout, out); err != nil {
		t.Errorf("conformance.mjs %v printed %q: %v", args, stdout, err)
	}
}
