// Package deploycheck checks the container deployment without a Docker
// engine: docker-compose.yml must load with the Compose specification's own
// loader and keep the platform's rules, and the configuration it mounts
// (gateway, Prometheus, Grafana, OpenTelemetry collector) must agree with it.
package deploycheck

import (
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/require"
)

// root is the repository, seen from this package.
const root = "../.."

// image is the platform's own image: every binary, built by deploy/Dockerfile.
const image = "supergraph:dev"

// The public endpoint: the gateway in front of the routers.
const gateway = "gateway"

// noHealthcheck lists the long-running containers that cannot have a
// healthcheck, and why.
var noHealthcheck = map[string]string{
	"otel-collector": "its image is the collector binary alone (FROM scratch): nothing inside can probe it",
}

// deployment is the loaded compose project and what the checks derive from it.
type deployment struct {
	project *types.Project
	// secrets maps each variable of deploy/compose.env.example to the
	// sentinel value the project was loaded with.
	secrets map[string]string
	// subgraphs lists graph/graph.yaml's subgraphs; ports is the registry's
	// port of every service (scripts/services.env, generated from it).
	subgraphs []string
	ports     map[string]int
}

// load reads docker-compose.yml as `docker compose` would, with a sentinel
// for every secret of the env file.
func load(t *testing.T) *deployment {
	t.Helper()
	d := &deployment{secrets: map[string]string{}}
	var env []string
	for _, name := range envFileVariables(t) {
		d.secrets[name] = "sentinel" + strings.ReplaceAll(strings.ToLower(name), "_", "")
		env = append(env, name+"="+d.secrets[name])
	}
	var err error
	d.project, err = loadProject(env)
	require.NoError(t, err)

	graphYAML, err := os.ReadFile(filepath.Join(root, "graph/graph.yaml"))
	require.NoError(t, err)
	for _, m := range regexp.MustCompile(`(?m)^  - name: (\w+)`).FindAllStringSubmatch(string(graphYAML), -1) {
		d.subgraphs = append(d.subgraphs, m[1])
	}
	require.NotEmpty(t, d.subgraphs)

	servicesEnv, err := os.ReadFile(filepath.Join(root, "scripts/services.env"))
	require.NoError(t, err)
	line := regexp.MustCompile(`(?m)^declare -A PORT=\((.*)\)$`).FindSubmatch(servicesEnv)
	require.NotNil(t, line, "scripts/services.env declares PORT")
	d.ports = map[string]int{}
	for _, m := range regexp.MustCompile(`\[(\w+)\]=(\d+)`).FindAllStringSubmatch(string(line[1]), -1) {
		d.ports[m[1]], _ = strconv.Atoi(m[2])
	}
	return d
}

func loadProject(env []string) (*types.Project, error) {
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root), cli.WithEnv(env))
	if err != nil {
		return nil, err
	}
	return opts.LoadProject(context.Background())
}

// envFileVariables lists the variables deploy/compose.env.example declares.
func envFileVariables(t *testing.T) []string {
	t.Helper()
	example, err := os.ReadFile(filepath.Join(root, "deploy/compose.env.example"))
	require.NoError(t, err)
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^([A-Z_][A-Z0-9_]*)=(.*)$`).FindAllStringSubmatch(string(example), -1) {
		require.Empty(t, m[2], "deploy/compose.env.example sets %s: the example holds no secret, scripts/compose-env.sh makes them", m[1])
		names = append(names, m[1])
	}
	require.NotEmpty(t, names)
	return names
}

// oneShot reports whether a service is a job that runs to completion.
func oneShot(svc types.ServiceConfig) bool { return svc.Restart == "no" }

// ours reports whether a long-running service runs the platform's image:
// those scale (no host ports, probed by their own binary).
func ours(svc types.ServiceConfig) bool { return svc.Image == image && !oneShot(svc) }

// binary is the platform binary a service of its image runs.
func binary(svc types.ServiceConfig) string {
	if svc.Command[0] == "sh" { // sh -c "<binary> ... && ..."
		return strings.Fields(svc.Command[len(svc.Command)-1])[0]
	}
	return svc.Command[0]
}

// listenPort is the port of a listen address in a service's environment, or
// fallback when the variable is unset; it fails on a loopback address, which
// no other container reaches.
func listenPort(t *testing.T, svc types.ServiceConfig, variable string, fallback int) int {
	t.Helper()
	addr := svc.Environment[variable]
	if addr == nil {
		require.NotZero(t, fallback, "%s sets no %s", svc.Name, variable)
		return fallback
	}
	host, port, err := net.SplitHostPort(*addr)
	require.NoError(t, err, "%s %s", svc.Name, variable)
	ip := net.ParseIP(host)
	require.False(t, host == "localhost" || (ip != nil && ip.IsLoopback()), "%s %s=%s is loopback: no other container reaches it", svc.Name, variable, *addr)
	p, err := strconv.Atoi(port)
	require.NoError(t, err)
	return p
}

func TestComposeFile(t *testing.T) {
	d := load(t)
	project := d.project

	// The platform's processes, every subgraph of the graph (docker-compose.yml
	// and graph/graph.yaml are both generated from the service registry), the
	// gateway and the observability stack.
	want := append([]string{"keys", "seed", "mailcatcher", "postgres", "redis", "router", "worker", gateway,
		"prometheus", "grafana", "otel-collector", "jaeger"}, d.subgraphs...)
	require.ElementsMatch(t, want, project.ServiceNames())

	// The image has every binary a container runs.
	built := dockerfileBinaries(t)
	for name, svc := range project.Services {
		if svc.Image == image {
			require.Contains(t, built, binary(svc), "%s runs %s, which deploy/Dockerfile does not build", name, binary(svc))
		}
	}

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
	initSQL, err := os.ReadFile(filepath.Join(root, "deploy/postgres-init.sql"))
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
	for _, name := range d.subgraphs {
		prefix := strings.ToUpper(name) + "_"
		port := listenPort(t, project.Services[name], prefix+"HTTP_ADDR", 0)
		require.Contains(t, urls, name+"=http://"+name+":"+strconv.Itoa(port)+"/", "router reaches %s on the port it listens on", name)

		// It verifies assertions with the router's public key, read-only.
		require.NotNil(t, project.Services[name].Environment[prefix+"ASSERTION_PUBLIC_KEY_FILE"], "%s reads the router's public key", name)
		var public bool
		for _, v := range project.Services[name].Volumes {
			public = public || (v.Source == "assertion-public" && v.ReadOnly)
		}
		require.True(t, public, "%s mounts the public key volume read-only", name)

		// The seed job has the same configuration, and runs it.
		for key, value := range project.Services[name].Environment {
			if key != prefix+"HTTP_ADDR" {
				require.Equal(t, value, project.Services["seed"].Environment[key], "seed has %s's %s", name, key)
			}
		}
		require.Contains(t, project.Services["seed"].Command[len(project.Services["seed"].Command)-1], name+" seed")
		require.Equal(t, types.ServiceConditionCompletedSuccessfully, project.Services[name].DependsOn["seed"].Condition,
			"%s starts after its database is migrated and seeded", name)
	}
}

// Redis holds the task queue: it persists it (an append-only file on a
// volume), so that a restart does not drop pending deliveries, and refuses
// writes at its memory limit rather than evicting queued tasks.
func TestRedisKeepsTheQueue(t *testing.T) {
	redis := load(t).project.Services["redis"]
	command := " " + strings.Join(redis.Command, " ") + " "
	require.Contains(t, command, " --appendonly yes ", "redis runs with AOF persistence")
	require.NotContains(t, command, " --appendfsync no ", "redis fsyncs its AOF")
	require.Regexp(t, ` --maxmemory \d+[kmg]b `, command, "redis has a memory limit")
	require.Contains(t, command, " --maxmemory-policy noeviction ", "no key is evicted: the queue shares the limit")
	var dataVolume bool
	for _, v := range redis.Volumes {
		dataVolume = dataVolume || (v.Type == "volume" && v.Target == "/data")
	}
	require.True(t, dataVolume, "redis keeps /data (its AOF) on a named volume")
}

// Every image is pinned by a tag; the platform's own is built here.
func TestImagesArePinned(t *testing.T) {
	for name, svc := range load(t).project.Services {
		require.NotEmpty(t, svc.Image, name)
		ref := svc.Image
		if i := strings.LastIndexByte(ref, '/'); i >= 0 {
			ref = ref[i+1:]
		}
		_, tag, ok := strings.Cut(ref, ":")
		require.True(t, ok, "%s: image %s has no tag", name, svc.Image)
		require.NotEqual(t, "latest", tag, "%s: image %s: pin a version", name, svc.Image)
		if svc.Image == image {
			require.NotNil(t, svc.Build, "%s: %s is built from deploy/Dockerfile", name, image)
		}
	}
}

// Every long-running container is probed: the platform's binaries by their
// own health command (the image has no curl), others by their image's tools.
// A dependency on a probed service waits for it to be healthy, on a job for
// it to succeed.
func TestHealthchecksAndDependencies(t *testing.T) {
	project := load(t).project
	for name, svc := range project.Services {
		hc := svc.HealthCheck
		switch {
		case oneShot(svc):
			require.True(t, hc == nil || hc.Disable, "%s runs once: nothing to probe", name)
		case noHealthcheck[name] != "":
			require.Nil(t, hc, "%s has a healthcheck now: take it out of noHealthcheck", name)
		default:
			require.NotNil(t, hc, "%s has no healthcheck", name)
			require.False(t, hc.Disable, name)
			require.NotEmpty(t, hc.Test, name)
			require.Equal(t, "CMD", hc.Test[0], "%s: exec form, no shell", name)
			if svc.Image == image {
				require.Equal(t, types.HealthCheckTest{"CMD", binary(svc), "health"}, hc.Test,
					"%s is probed by its binary's health command", name)
				// The command gives up after 3 s (server.HealthTimeout).
				require.NotNil(t, hc.Timeout, name)
				require.GreaterOrEqual(t, time.Duration(*hc.Timeout), 4*time.Second, "%s: the health command needs up to 3 s", name)
			}
		}
		for dep, cond := range svc.DependsOn {
			target, ok := project.Services[dep]
			require.True(t, ok, "%s depends on %s, which is no service", name, dep)
			switch {
			case oneShot(target):
				require.Equal(t, types.ServiceConditionCompletedSuccessfully, cond.Condition, "%s waits for the job %s to succeed", name, dep)
			case target.HealthCheck != nil && !target.HealthCheck.Disable:
				require.Equal(t, types.ServiceConditionHealthy, cond.Condition, "%s waits for %s to be healthy", name, dep)
			default:
				require.Equal(t, types.ServiceConditionStarted, cond.Condition, "%s: %s has no healthcheck", name, dep)
			}
		}
	}
}

// Only the gateway is public, on the router's port; operators' tools publish
// on loopback only; the services that scale publish nothing (a fixed host
// port lets one replica bind it).
func TestPublishedPorts(t *testing.T) {
	d := load(t)
	for name, svc := range d.project.Services {
		switch {
		case name == gateway:
			require.Len(t, svc.Ports, 1, "the gateway publishes one port")
			p := svc.Ports[0]
			require.EqualValues(t, d.ports["router"], p.Target)
			require.Equal(t, strconv.Itoa(d.ports["router"]), p.Published)
		case ours(svc) || oneShot(svc):
			require.Empty(t, svc.Ports, "%s must not publish a port: it scales, or runs once", name)
		default:
			for _, p := range svc.Ports {
				require.Equal(t, "127.0.0.1", p.HostIP, "%s publishes %d beyond this machine", name, p.Target)
			}
		}
		require.Empty(t, svc.ContainerName, "%s: a container name prevents replicas", name)
	}

	// The gateway balances over every router replica, on the port routers
	// listen on (ROUTER_HTTP_ADDR, else the registry's).
	caddyfile, err := os.ReadFile(filepath.Join(root, "deploy/gateway/Caddyfile"))
	require.NoError(t, err)
	routerPort := listenPort(t, d.project.Services["router"], "ROUTER_HTTP_ADDR", d.ports["router"])
	require.Contains(t, string(caddyfile), "\n:"+strconv.Itoa(d.ports["router"])+" {\n", "the gateway listens on its published port")
	require.Regexp(t, `\n\s+dynamic a router `+strconv.Itoa(routerPort)+` \{`, string(caddyfile), "the gateway finds every router replica by DNS")
	require.Equal(t, "X-Forwarded-For", *d.project.Services["router"].Environment["ROUTER_CLIENT_IP_HEADER"],
		"behind the gateway, routers take the client's address from the header it appends")
}

// Secrets come from the env file: compose refuses to start without it, no
// value is written in the compose file, and every password a container
// gets is one of its variables.
func TestSecretsComeFromTheEnvFile(t *testing.T) {
	d := load(t)

	compose, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	require.NoError(t, err)
	var referenced []string
	for _, m := range regexp.MustCompile(`\$\{([A-Z_][A-Z0-9_]*)`).FindAllStringSubmatch(string(compose), -1) {
		if !slices.Contains(referenced, m[1]) {
			referenced = append(referenced, m[1])
		}
	}
	require.ElementsMatch(t, envFileVariables(t), referenced, "the compose file reads what deploy/compose.env.example declares, and nothing else")
	_, err = loadProject(nil)
	require.ErrorContains(t, err, "POSTGRES_PASSWORD", "without .env, compose stops and names the variable")

	postgres := d.project.Services["postgres"]
	require.Equal(t, d.secrets["POSTGRES_PASSWORD"], *postgres.Environment["POSTGRES_PASSWORD"])
	require.NotContains(t, postgres.Environment, "POSTGRES_HOST_AUTH_METHOD", "password authentication, not trust")

	sentinel := func(v string) bool {
		for _, s := range d.secrets {
			if v == s {
				return true
			}
		}
		return false
	}
	secretName := regexp.MustCompile(`PASSWORD|SECRET|TOKEN|_KEY$`)
	for name, svc := range d.project.Services {
		for key, value := range svc.Environment {
			if value == nil {
				continue
			}
			if secretName.MatchString(key) {
				require.True(t, sentinel(*value), "%s %s is a secret written in the compose file: take it from .env", name, key)
			}
			if u, err := url.Parse(*value); err == nil && u.User != nil {
				pw, ok := u.User.Password()
				require.True(t, ok && sentinel(pw), "%s %s has no password from .env", name, key)
			}
			if strings.HasSuffix(key, "DATABASE_URL") {
				u, err := url.Parse(*value)
				require.NoError(t, err)
				pw, _ := u.User.Password()
				require.Equal(t, d.secrets["POSTGRES_PASSWORD"], pw, "%s %s uses POSTGRES_PASSWORD", name, key)
			}
		}
	}

	// .env stays out of git and out of the image's build context.
	gitignore, err := os.ReadFile(filepath.Join(root, ".gitignore"))
	require.NoError(t, err)
	require.Regexp(t, `(?m)^/?\.env$`, string(gitignore))
	dockerignore, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	require.NoError(t, err)
	require.Regexp(t, `(?m)^\.env$`, string(dockerignore))
}

// dockerfileBinaries lists the binaries deploy/Dockerfile builds: the base
// names of the packages its `go build` names, globs expanded as its shell does.
func dockerfileBinaries(t *testing.T) []string {
	t.Helper()
	var bins []string
	for _, pkg := range dockerfilePackages(t) {
		bins = append(bins, filepath.Base(pkg))
	}
	return bins
}

// dockerfilePackages lists the packages deploy/Dockerfile builds, relative
// to the repository ("./router/cmd/router").
func dockerfilePackages(t *testing.T) []string {
	t.Helper()
	dockerfile, err := os.ReadFile(filepath.Join(root, "deploy/Dockerfile"))
	require.NoError(t, err)
	var pkgs []string
	for _, m := range regexp.MustCompile(`(?m)^\s+(\./\S+)`).FindAllStringSubmatch(string(dockerfile), -1) {
		dirs, err := filepath.Glob(filepath.Join(root, m[1]))
		require.NoError(t, err)
		require.NotEmpty(t, dirs, "deploy/Dockerfile builds %s, which matches nothing", m[1])
		for _, dir := range dirs {
			rel, err := filepath.Rel(root, dir)
			require.NoError(t, err)
			pkgs = append(pkgs, "./"+filepath.ToSlash(rel))
		}
	}
	return pkgs
}
