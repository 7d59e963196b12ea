package deploycheck

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// unscraped lists the long-running services Prometheus does not scrape, and
// why. A service that gains a metrics endpoint leaves the list (this test
// fails while it is both scraped and listed).
var unscraped = map[string]string{
	"users":         "no /metrics yet (issue 16, point 3)",
	"notifications": "no /metrics yet (issue 16, point 3)",
	"freelance":     "no /metrics yet (issue 16, point 3)",
	"content":       "no /metrics yet (issue 16, point 3)",
	"marketplace":   "no /metrics yet (issue 16, point 3)",
	"worker":        "no /metrics yet (issue 16, point 3)",
	"mailcatcher":   "a development tool",
	"postgres":      "would need an exporter",
	"redis":         "would need an exporter",
}

// prometheusConfig is the part of prometheus.yml the checks read.
type prometheusConfig struct {
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		StaticConfigs []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
		DNSSDConfigs []struct {
			Names []string `yaml:"names"`
			Type  string   `yaml:"type"`
			Port  int      `yaml:"port"`
		} `yaml:"dns_sd_configs"`
	} `yaml:"scrape_configs"`
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, path))
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(raw, v), path)
}

// Prometheus scrapes every service that has metrics, by compose DNS name, on
// the port it serves them on; services that scale are discovered by DNS, so
// that every replica is a target.
func TestPrometheusScrapesEveryService(t *testing.T) {
	d := load(t)
	var cfg prometheusConfig
	readYAML(t, "deploy/prometheus/prometheus.yml", &cfg)
	require.Contains(t, strings.Join(d.project.Services["prometheus"].Command, " "), "--config.file=/etc/prometheus/prometheus.yml")
	mounted := false
	for _, v := range d.project.Services["prometheus"].Volumes {
		mounted = mounted || (strings.HasSuffix(v.Source, "deploy/prometheus/prometheus.yml") && v.Target == "/etc/prometheus/prometheus.yml")
	}
	require.True(t, mounted, "prometheus mounts deploy/prometheus/prometheus.yml")

	scraped := map[string]int{} // service → port
	var jobs []string
	for _, sc := range cfg.ScrapeConfigs {
		require.NotContains(t, jobs, sc.JobName, "job %s twice", sc.JobName)
		jobs = append(jobs, sc.JobName)
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				host, port, err := net.SplitHostPort(target)
				require.NoError(t, err, "job %s target %s", sc.JobName, target)
				if host == "localhost" {
					require.Equal(t, "prometheus", sc.JobName, "only Prometheus scrapes itself on localhost")
					host = "prometheus"
				}
				svc, ok := d.project.Services[host]
				require.True(t, ok, "job %s scrapes %s, which is no compose service", sc.JobName, host)
				require.False(t, ours(svc), "job %s: %s scales: a static target reaches one replica, use dns_sd_configs", sc.JobName, host)
				scraped[host], _ = strconv.Atoi(port)
			}
		}
		for _, dns := range sc.DNSSDConfigs {
			require.Equal(t, "A", dns.Type, sc.JobName)
			for _, name := range dns.Names {
				_, ok := d.project.Services[name]
				require.True(t, ok, "job %s resolves %s, which is no compose service", sc.JobName, name)
				scraped[name] = dns.Port
			}
		}
	}

	for name, svc := range d.project.Services {
		if oneShot(svc) {
			continue
		}
		_, isScraped := scraped[name]
		if reason := unscraped[name]; reason != "" {
			require.False(t, isScraped, "%s is scraped now: take it out of unscraped (%s)", name, reason)
			continue
		}
		require.True(t, isScraped, "Prometheus does not scrape %s: scrape it, or say why not in unscraped", name)
	}

	// The ports: the router's admin listener, on the network; the
	// gateway's and the collector's metrics listeners as their
	// configurations set them.
	require.Equal(t, listenPort(t, d.project.Services["router"], "ROUTER_ADMIN_ADDR", 0), scraped["router"], "the router's metrics are on ROUTER_ADMIN_ADDR")
	caddyfile, err := os.ReadFile(filepath.Join(root, "deploy/gateway/Caddyfile"))
	require.NoError(t, err)
	require.Regexp(t, fmt.Sprintf(`\n:%d \{\n\s+metrics\n`, scraped[gateway]), string(caddyfile), "the gateway serves metrics where Prometheus asks")
	var collector collectorConfig
	readYAML(t, "deploy/otel/collector.yaml", &collector)
	readers := collector.Service.Telemetry.Metrics.Readers
	require.Len(t, readers, 1)
	require.Equal(t, "0.0.0.0", readers[0].Pull.Exporter.Prometheus.Host, "the collector's metrics are on the network")
	require.Equal(t, scraped["otel-collector"], readers[0].Pull.Exporter.Prometheus.Port)
}

// collectorConfig is the part of the collector's configuration the checks read.
type collectorConfig struct {
	Receivers  map[string]map[string]any `yaml:"receivers"`
	Processors map[string]any            `yaml:"processors"`
	Exporters  map[string]struct {
		Endpoint string `yaml:"endpoint"`
	} `yaml:"exporters"`
	Extensions map[string]any `yaml:"extensions"`
	Service    struct {
		Extensions []string `yaml:"extensions"`
		Pipelines  map[string]struct {
			Receivers  []string `yaml:"receivers"`
			Processors []string `yaml:"processors"`
			Exporters  []string `yaml:"exporters"`
		} `yaml:"pipelines"`
		Telemetry struct {
			Metrics struct {
				Readers []struct {
					Pull struct {
						Exporter struct {
							Prometheus struct {
								Host string `yaml:"host"`
								Port int    `yaml:"port"`
							} `yaml:"prometheus"`
						} `yaml:"exporter"`
					} `yaml:"pull"`
				} `yaml:"readers"`
			} `yaml:"metrics"`
		} `yaml:"telemetry"`
	} `yaml:"service"`
}

// The router's traces reach the collector, which receives OTLP/HTTP where
// the router sends it and passes traces on to Jaeger.
func TestTracesReachJaeger(t *testing.T) {
	d := load(t)
	var cfg collectorConfig
	readYAML(t, "deploy/otel/collector.yaml", &cfg)
	mounted := false
	for _, v := range d.project.Services["otel-collector"].Volumes {
		mounted = mounted || (strings.HasSuffix(v.Source, "deploy/otel/collector.yaml") && v.ReadOnly)
	}
	require.True(t, mounted, "the collector mounts deploy/otel/collector.yaml")

	endpoint := d.project.Services["router"].Environment["ROUTER_OTLP_ENDPOINT"]
	require.NotNil(t, endpoint, "the router exports its traces")
	u, err := url.Parse(*endpoint)
	require.NoError(t, err)
	require.Equal(t, "otel-collector", u.Hostname())
	require.Equal(t, "/v1/traces", u.Path)
	httpReceiver, _ := cfg.Receivers["otlp"]["protocols"].(map[string]any)["http"].(map[string]any)
	require.NotNil(t, httpReceiver, "the collector receives OTLP/HTTP")
	host, port, err := net.SplitHostPort(httpReceiver["endpoint"].(string))
	require.NoError(t, err)
	require.Equal(t, "0.0.0.0", host, "the collector's OTLP/HTTP receiver is on the network")
	require.Equal(t, u.Port(), port, "the router sends where the collector listens")

	traces, ok := cfg.Service.Pipelines["traces"]
	require.True(t, ok, "a traces pipeline")
	require.Contains(t, traces.Receivers, "otlp")
	for _, p := range traces.Processors {
		require.Contains(t, cfg.Processors, p)
	}
	for _, e := range cfg.Service.Extensions {
		require.Contains(t, cfg.Extensions, e)
	}
	var toJaeger bool
	for _, e := range traces.Exporters {
		exp, ok := cfg.Exporters[e]
		require.True(t, ok, "exporter %s is configured", e)
		host, _, err := net.SplitHostPort(exp.Endpoint)
		require.NoError(t, err, e)
		_, ok = d.project.Services[host]
		require.True(t, ok, "exporter %s sends to %s, which is no compose service", e, host)
		toJaeger = toJaeger || host == "jaeger"
	}
	require.True(t, toJaeger, "traces go to Jaeger")
}

// prometheusSeries are series Prometheus makes itself for every target.
var prometheusSeries = []string{"up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling", "scrape_series_added"}

// grafanaVariables are the built-in variables a query may use, with a value
// that parses.
var grafanaVariables = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h")

// The dashboards query only series that exist: each PromQL expression is
// parsed, and every metric it selects must be one a running service exposes
// (deploy/grafana/metrics/<service>.txt, written by that service's tests from
// its /metrics) or one Prometheus adds; every job it names is a scrape job;
// every data source it uses is provisioned.
func TestDashboardsQueryExposedMetrics(t *testing.T) {
	var prom prometheusConfig
	readYAML(t, "deploy/prometheus/prometheus.yml", &prom)
	var jobs []string
	for _, sc := range prom.ScrapeConfigs {
		jobs = append(jobs, sc.JobName)
	}

	var datasources struct {
		Datasources []struct {
			UID  string `yaml:"uid"`
			Type string `yaml:"type"`
		} `yaml:"datasources"`
	}
	readYAML(t, "deploy/grafana/provisioning/datasources/datasources.yaml", &datasources)
	uids := map[string]string{}
	for _, ds := range datasources.Datasources {
		uids[ds.UID] = ds.Type
	}

	exposed := map[string]bool{}
	for _, s := range prometheusSeries {
		exposed[s] = true
	}
	lists, err := filepath.Glob(filepath.Join(root, "deploy/grafana/metrics/*.txt"))
	require.NoError(t, err)
	require.NotEmpty(t, lists)
	for _, list := range lists {
		raw, err := os.ReadFile(list)
		require.NoError(t, err)
		for line := range strings.Lines(string(raw)) {
			if line = strings.TrimSpace(line); line != "" && line[0] != '#' {
				exposed[line] = true
			}
		}
	}

	dashboards, err := filepath.Glob(filepath.Join(root, "deploy/grafana/dashboards/*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, dashboards)
	seenUIDs := map[string]string{}
	for _, path := range dashboards {
		name := filepath.Base(path)
		raw, err := os.ReadFile(path)
		require.NoError(t, err)
		var dash dashboard
		require.NoError(t, json.Unmarshal(raw, &dash), name)
		require.NotEmpty(t, dash.UID, name)
		require.NotContains(t, seenUIDs, dash.UID, "%s and %s share a uid", name, seenUIDs[dash.UID])
		seenUIDs[dash.UID] = name

		queries := 0
		var walk func([]panel)
		walk = func(panels []panel) {
			for _, p := range panels {
				walk(p.Panels) // a row's
				for _, target := range p.Targets {
					ds := target.Datasource
					if ds == nil {
						ds = p.Datasource
					}
					require.NotNil(t, ds, "%s %q: no data source", name, p.Title)
					require.Contains(t, uids, ds.UID, "%s %q: data source %s is not provisioned", name, p.Title, ds.UID)
					if uids[ds.UID] != "prometheus" {
						continue
					}
					queries++
					metrics, jobMatchers, err := selectors(target.Expr)
					require.NoError(t, err, "%s %q: %s", name, p.Title, target.Expr)
					require.NotEmpty(t, metrics, "%s %q: %s selects no metric by name", name, p.Title, target.Expr)
					for _, m := range metrics {
						require.True(t, exposed[m], "%s %q queries %s, which no service exposes (deploy/grafana/metrics/*.txt)", name, p.Title, m)
					}
					for _, job := range jobMatchers {
						require.Contains(t, jobs, job, "%s %q: no scrape job %s", name, p.Title, job)
					}
				}
			}
		}
		walk(dash.Panels)
		require.NotZero(t, queries, name)
	}

	// Grafana's home dashboard is one of them, where Grafana mounts them.
	home := load(t).project.Services["grafana"].Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
	require.NotNil(t, home)
	require.Equal(t, "/etc/grafana/dashboards/", filepath.Dir(*home)+"/")
	require.FileExists(t, filepath.Join(root, "deploy/grafana/dashboards", filepath.Base(*home)))
}

type datasourceRef struct {
	UID string `json:"uid"`
}

type panel struct {
	Title      string         `json:"title"`
	Datasource *datasourceRef `json:"datasource"`
	Targets    []struct {
		Expr       string         `json:"expr"`
		Datasource *datasourceRef `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

type dashboard struct {
	UID    string  `json:"uid"`
	Panels []panel `json:"panels"`
}

// selectors parses a Grafana PromQL query and returns the metric names it
// selects and the jobs its selectors name (job="…").
func selectors(expr string) (metrics, jobs []string, err error) {
	expr = grafanaVariables.Replace(expr)
	if v := regexp.MustCompile(`\$\{?\w+`).FindString(expr); v != "" {
		return nil, nil, fmt.Errorf("variable %s: define it here (grafanaVariables) or in the dashboard's templating", v)
	}
	e, err := parser.ParseExpr(expr)
	if err != nil {
		return nil, nil, err
	}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			switch {
			case m.Name == labels.MetricName && m.Type == labels.MatchEqual:
				name = m.Value
			case m.Name == "job" && m.Type == labels.MatchEqual:
				jobs = append(jobs, m.Value)
			}
		}
		if name != "" && !slices.Contains(metrics, name) {
			metrics = append(metrics, name)
		}
		return nil
	})
	return metrics, jobs, nil
}

func TestSelectors(t *testing.T) {
	metrics, jobs, err := selectors(`sum by (le) (rate(router_request_duration_seconds_bucket{job="router"}[$__rate_interval])) / on() group_left count(up{job="router"} == 1) + {__name__="go_goroutines"}`)
	require.NoError(t, err)
	require.Equal(t, []string{"router_request_duration_seconds_bucket", "up", "go_goroutines"}, metrics)
	require.Equal(t, []string{"router", "router"}, jobs)
	_, _, err = selectors(`rate(x[$window])`)
	require.ErrorContains(t, err, "variable $window")
	_, _, err = selectors(`sum(rate(x[5m])`)
	require.Error(t, err)
}
