// Package deploycheck checks the container deployment without a Docker
// engine: docker-compose.yml must load with the Compose specification's own
// loader and keep the platform's rules.
package deploycheck

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/stretchr/testify/require"
)

func TestComposeFile(t *testing.T) {
	opts, err := cli.NewProjectOptions([]string{"../../docker-compose.yml"}, cli.WithWorkingDirectory("../.."))
	require.NoError(t, err)
	project, err := opts.LoadProject(context.Background())
	require.NoError(t, err)

	// The platform's processes and every subgraph of the graph (docker-compose.yml
	// and graph/graph.yaml are both generated from the service registry).
	graphYAML, err := os.ReadFile("../../graph/graph.yaml")
	require.NoError(t, err)
	var subgraphs []string
	for _, m := range regexp.MustCompile(`(?m)^  - name: (\w+)`).FindAllStringSubmatch(string(graphYAML), -1) {
		subgraphs = append(subgraphs, m[1])
	}
	require.NotEmpty(t, subgraphs)
	want := append([]string{"keys", "mailcatcher", "postgres", "redis", "router", "worker"}, subgraphs...)
	require.ElementsMatch(t, want, project.ServiceNames())

	// The image has every binary a container runs.
	built := dockerfileBinaries(t)
	for name, svc := range project.Services {
		if svc.Image != "supergraph:dev" {
			continue // an upstream image
		}
		bin := svc.Command[0]
		if bin == "sh" {
			bin = strings.Fields(svc.Command[len(svc.Command)-1])[0]
		}
		require.Contains(t, built, bin, "%s runs %s, which deploy/Dockerfile does not build", name, bin)
	}

	// Only the router is reachable from outside.
	for name, svc := range project.Services {
		if name == "router" {
			require.Len(t, svc.Ports, 1)
			require.EqualValues(t, 8080, svc.Ports[0].Target)
			continue
		}
		require.Empty(t, svc.Ports, "%s must not be published", name)
	}

	// Redis holds the task queue: it persists it (an append-only file on a
	// volume), so that a restart does not drop pending deliveries.
	redis := project.Services["redis"]
	command := " " + strings.Join(redis.Command, " ") + " "
	require.Contains(t, command, " --appendonly yes ", "redis runs with AOF persistence")
	require.NotContains(t, command, " --appendfsync no ", "redis fsyncs its AOF")
	var dataVolume bool
	for _, v := range redis.Volumes {
		dataVolume = dataVolume || (v.Type == "volume" && v.Target == "/data")
	}
	require.True(t, dataVolume, "redis keeps /data (its AOF) on a named volume")

	// The router's private assertion key is on a volume that only the
	// router (and the one-shot key generator) mounts: a subgraph holding it
	// could mint any user's identity for every other subgraph.
	for name, svc := range project.Services {
		for _, v := range svc.Volumes {
			if v.Source == "router-key" {
				require.Contains(t, []string{"router", "keys"}, name, "%s mounts the router's private key", name)
			}
		}
	}

	// Every service database a container uses is created by the init script.
	initSQL, err := os.ReadFile("../../deploy/postgres-init.sql")
	require.NoError(t, err)
	dbName := regexp.MustCompile(`@postgres:5432/(\w+)`)
	for name, svc := range project.Services {
		for key, value := range svc.Environment {
			if !strings.HasSuffix(key, "DATABASE_URL") || value == nil {
				continue
			}
			m := dbName.FindStringSubmatch(*value)
			require.NotNil(t, m, "%s %s points at the postgres service", name, key)
			require.Contains(t, string(initSQL), "CREATE DATABASE "+m[1]+";", "%s: database %s is created", name, m[1])
		}
	}

	// The router reaches every subgraph the composed graph lists, on the
	// port the subgraph listens on. Subgraphs default to loopback, so each
	// container must set a listen address the router's container can reach.
	urls := *project.Services["router"].Environment["ROUTER_SUBGRAPH_URLS"]
	for _, name := range subgraphs {
		require.Contains(t, urls, name+"=http://"+name+":", "router overrides %s's URL", name)
		addr := project.Services[name].Environment[strings.ToUpper(name)+"_HTTP_ADDR"]
		require.NotNil(t, addr, "%s sets %s_HTTP_ADDR (the default is loopback)", name, strings.ToUpper(name))
		host, port, err := net.SplitHostPort(*addr)
		require.NoError(t, err, name)
		ip := net.ParseIP(host)
		require.False(t, host == "localhost" || (ip != nil && ip.IsLoopback()), "%s listens on loopback: the router cannot reach it", name)
		require.Contains(t, urls, name+"=http://"+name+":"+port+"/", "router reaches %s on the port it listens on", name)

		// It verifies assertions with the router's public key, read-only.
		require.NotNil(t, project.Services[name].Environment[strings.ToUpper(name)+"_ASSERTION_PUBLIC_KEY_FILE"], "%s reads the router's public key", name)
		var public bool
		for _, v := range project.Services[name].Volumes {
			public = public || (v.Source == "assertion-public" && v.ReadOnly)
		}
		require.True(t, public, "%s mounts the public key volume read-only", name)
	}
}

// dockerfileBinaries lists the binaries deploy/Dockerfile builds: the base
// names of the packages its `go build` names, globs expanded as its shell does.
func dockerfileBinaries(t *testing.T) []string {
	t.Helper()
	dockerfile, err := os.ReadFile("../../deploy/Dockerfile")
	require.NoError(t, err)
	var bins []string
	for _, m := range regexp.MustCompile(`(?m)^\s+(\./\S+)`).FindAllStringSubmatch(string(dockerfile), -1) {
		dirs, err := filepath.Glob(filepath.Join("../..", m[1]))
		require.NoError(t, err)
		require.NotEmpty(t, dirs, "deploy/Dockerfile builds %s, which matches nothing", m[1])
		for _, d := range dirs {
			bins = append(bins, filepath.Base(d))
		}
	}
	return bins
}
