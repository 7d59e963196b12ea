// Package health serves the router's health endpoints: /api/health/ in the
// platform's shape plus a per-subgraph map, /health/live and /health/ready.
package health

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Subgraph is one subgraph to probe.
type Subgraph struct {
	Name string
	URL  string
}

// Options configure a Checker.
type Options struct {
	Subgraphs []Subgraph
	Client    *http.Client
	// Redis is the deny-list database the router needs to accept tokens; nil skips it.
	Redis   *redis.Client
	Timeout time.Duration
	// CacheFor reuses a probe result this long, so probes cannot be used to flood
	// the subgraphs through the router.
	CacheFor time.Duration
	// Ready, when set, is asked by /health/ready besides the subgraphs: an
	// error keeps the router out of rotation and is reported as the reason.
	Ready func() error
}

// Subgraph states in reports.
const (
	StateHealthy     = "healthy"
	StateUnreachable = "unreachable"
	StateUnhealthy   = "unhealthy"
)

// Checker probes the router's dependencies.
type Checker struct {
	opts Options

	mu      sync.Mutex
	at      time.Time
	last    snapshot
	pending chan struct{}
}

type snapshot struct {
	redis     string
	subgraphs map[string]string
	// answering lists the subgraphs whose GraphQL endpoint answers, whatever
	// their own health report says: readiness needs no more.
	answering map[string]bool
}

// NewChecker returns a Checker.
func NewChecker(opts Options) *Checker {
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	if opts.CacheFor <= 0 {
		opts.CacheFor = time.Second
	}
	return &Checker{opts: opts}
}

// probeQuery is answered by every GraphQL server: no assumption about the schema.
var probeQuery = []byte(`{"query":"query RouterHealthProbe { __typename }"}`)

// check returns a fresh or recently cached snapshot; concurrent callers share one probe.
func (c *Checker) check(ctx context.Context) snapshot {
	c.mu.Lock()
	if !c.at.IsZero() && time.Since(c.at) < c.opts.CacheFor {
		s := c.last
		c.mu.Unlock()
		return s
	}
	if c.pending != nil {
		ch := c.pending
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return snapshot{redis: "disconnected", subgraphs: map[string]string{}}
		}
		c.mu.Lock()
		s := c.last
		c.mu.Unlock()
		return s
	}
	ch := make(chan struct{})
	c.pending = ch
	c.mu.Unlock()

	s := c.probe()
	c.mu.Lock()
	c.last, c.at, c.pending = s, time.Now(), nil
	c.mu.Unlock()
	close(ch)
	return s
}

// probe runs detached from the caller's context: its result is shared.
func (c *Checker) probe() snapshot {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
	defer cancel()
	s := snapshot{redis: "connected", subgraphs: make(map[string]string, len(c.opts.Subgraphs)), answering: make(map[string]bool, len(c.opts.Subgraphs))}
	var mu sync.Mutex
	var wg sync.WaitGroup
	if c.opts.Redis != nil {
		wg.Go(func() {
			if err := c.opts.Redis.Ping(ctx).Err(); err != nil {
				mu.Lock()
				s.redis = "disconnected"
				mu.Unlock()
			}
		})
	}
	for _, sg := range c.opts.Subgraphs {
		wg.Go(func() {
			st := c.probeSubgraph(ctx, sg)
			answering := st == StateHealthy
			if answering && c.reportsUnhealthy(ctx, sg) {
				st = StateUnhealthy
			}
			mu.Lock()
			s.subgraphs[sg.Name], s.answering[sg.Name] = st, answering
			mu.Unlock()
		})
	}
	wg.Wait()
	return s
}

func (c *Checker) probeSubgraph(ctx context.Context, sg Subgraph) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sg.URL, bytes.NewReader(probeQuery))
	if err != nil {
		return StateUnhealthy
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/graphql-response+json, application/json")
	resp, err := c.opts.Client.Do(req)
	if err != nil {
		return StateUnreachable
	}
	defer resp.Body.Close()
	var body struct {
		Data *struct {
			Typename string `json:"__typename"`
		} `json:"data"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<16)).Decode(&body) != nil ||
		body.Data == nil || body.Data.Typename == "" {
		return StateUnhealthy
	}
	return StateHealthy
}

// reportsUnhealthy asks a subgraph that answers GraphQL for its own health
// report, GET /api/health/ beside its GraphQL endpoint (the platform's
// subgraphs serve one: database and Redis), and tells whether it says
// "unhealthy". A subgraph without one (another graph's) is taken at its
// GraphQL answer.
func (c *Checker) reportsUnhealthy(ctx context.Context, sg Subgraph) bool {
	u, err := url.Parse(sg.URL)
	if err != nil {
		return false
	}
	u.Path, u.RawQuery = "/api/health/", ""
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return false
	}
	resp, err := c.opts.Client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
	}
	return resp.StatusCode == http.StatusServiceUnavailable &&
		json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<16)).Decode(&body) == nil && body.Status == "unhealthy"
}

// report is the body of /api/health/.
type report struct {
	Status    string            `json:"status"`
	Service   string            `json:"service"`
	Timestamp string            `json:"timestamp"`
	Redis     string            `json:"redis,omitempty"`
	Subgraphs map[string]string `json:"subgraphs"`
}

// Report serves /api/health/: "healthy" when everything answers, "degraded"
// (still 200: the router serves the other subgraphs' data) when some subgraph
// does not, "unhealthy" with 503 when Redis or every subgraph is down.
func (c *Checker) Report(service string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := c.check(r.Context())
		rep := report{Service: service, Timestamp: time.Now().UTC().Format(time.RFC3339), Subgraphs: s.subgraphs}
		if c.opts.Redis != nil {
			rep.Redis = s.redis
		}
		up := 0
		for _, st := range s.subgraphs {
			if st == StateHealthy {
				up++
			}
		}
		status, code := "healthy", http.StatusOK
		switch {
		case s.redis != "connected" || (len(s.subgraphs) > 0 && up == 0):
			status, code = "unhealthy", http.StatusServiceUnavailable
		case up < len(s.subgraphs):
			status = "degraded"
		}
		rep.Status = status
		writeJSON(w, code, rep)
	})
}

// Ready serves /health/ready: 200 once the graph is loaded (it is, when this
// handler exists), Options.Ready has no objection, and every subgraph answers GraphQL (a subgraph reporting
// its own dependencies down still answers, partly: the router serves it).
func (c *Checker) Ready() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := c.check(r.Context())
		if c.opts.Ready != nil {
			if err := c.opts.Ready(); err != nil {
				writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "reason": err.Error(), "subgraphs": s.subgraphs})
				return
			}
		}
		for name := range s.subgraphs {
			if !s.answering[name] {
				writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "subgraphs": s.subgraphs})
				return
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "subgraphs": s.subgraphs})
	})
}

// Live serves /health/live: the process is up and serving HTTP.
func Live() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "alive"})
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
