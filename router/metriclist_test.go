package router_test

import (
	"flag"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var updateMetricList = flag.Bool("update-metric-list", false, "rewrite "+metricListPath+" from the running router's /metrics")

// metricListPath lists the series the router's /metrics exposes; the
// deployment check (tools/deploycheck) fails when a dashboard under
// deploy/grafana/dashboards queries a series no list names.
const metricListPath = "../deploy/grafana/metrics/router.txt"

// runtimeSeries are the Go runtime and process series dashboards may use.
// The client library exposes many more, some only on some systems (network
// counters need /proc/net/dev): the list names only these, and fails here if
// one goes missing.
var runtimeSeries = []string{
	"go_gc_duration_seconds_count", "go_gc_duration_seconds_sum", "go_goroutines",
	"go_memstats_alloc_bytes", "go_memstats_heap_inuse_bytes", "go_threads",
	"process_cpu_seconds_total", "process_open_fds", "process_resident_memory_bytes", "process_start_time_seconds",
}

// requireListedMetrics compares the series names of exposition (a running
// router's /metrics, every metric observed at least once) with the list.
func requireListedMetrics(t *testing.T, exposition string) {
	t.Helper()
	exposed := map[string]bool{}
	for line := range strings.Lines(exposition) {
		if line = strings.TrimSpace(line); line == "" || line[0] == '#' {
			continue
		}
		name, _, _ := strings.Cut(line, " ")
		name, _, _ = strings.Cut(name, "{")
		exposed[name] = true
	}
	var names []string
	for name := range exposed {
		if strings.HasPrefix(name, "router_") {
			names = append(names, name)
		}
	}
	for _, name := range runtimeSeries {
		require.True(t, exposed[name], "/metrics no longer exposes %s: take it out of runtimeSeries and the dashboards", name)
		names = append(names, name)
	}
	slices.Sort(names)
	want := "# The series the router's admin /metrics exposes: written by\n" +
		"# `go test -run '^TestMetrics$' . -update-metric-list` in router/ from a running router.\n" +
		"# tools/deploycheck checks that the dashboards query only series listed here.\n" +
		strings.Join(names, "\n") + "\n"
	if *updateMetricList {
		require.NoError(t, os.WriteFile(metricListPath, []byte(want), 0o644))
	}
	have, err := os.ReadFile(metricListPath)
	require.NoError(t, err)
	require.Equal(t, want, string(have), "%s is stale: run `go test -run '^TestMetrics$' . -update-metric-list` in router/ "+
		"(a new metric must be observed in TestMetrics to be listed)", metricListPath)
}
