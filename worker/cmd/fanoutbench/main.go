// Command fanoutbench measures live notification fan-out: it opens N
// graphql-transport-ws subscriptions to notificationAdded, spread over U
// users, has the worker deliver K notifications per second to them (by
// enqueuing notification:deliver tasks, the path real events take), and
// reports delivery latency (stored-at to received-at, p50/p99) and the
// resident memory per idle connection of the processes named with -pid.
//
// Two modes:
//
//	through the router:   -url http://127.0.0.1:8080/graphql
//	    users are registered through the router (bench_<run>_<i>) and
//	    subscribe with their access tokens in connection_init.
//	straight to a subgraph: -url http://127.0.0.1:8001/graphql -dev-dir .dev
//	    assertions are signed with the development router key, as the
//	    router would.
//
// Not a test: it runs against a platform started with `make run` and prints
// figures. Run it with a raised open-files limit (ulimit -n 65536).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"supergraph/platform/identity"
	"supergraph/platform/keys"
	"supergraph/platform/redisx"
	"supergraph/platform/tasks"
)

type options struct {
	url, devDir, redisURL, pids, password string
	subscribers, users                    int
	rate                                  float64
	duration, settle                      time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.url, "url", "http://127.0.0.1:8080/graphql", "GraphQL endpoint: the router, or a notifications subgraph with -dev-dir")
	flag.StringVar(&o.devDir, "dev-dir", "", "sign assertions with the development router key in this directory (straight to the subgraph)")
	flag.StringVar(&o.redisURL, "redis", "redis://127.0.0.1:6379/3", "the task queue's Redis")
	flag.StringVar(&o.pids, "pid", "", "processes to measure, name=pid,name=pid (e.g. router=123,notifications=456)")
	flag.StringVar(&o.password, "password", "bench-password-1", "password of the registered bench users")
	flag.IntVar(&o.subscribers, "n", 1000, "concurrent subscriptions")
	flag.IntVar(&o.users, "users", 100, "distinct recipients (subscriptions are spread over them)")
	flag.Float64Var(&o.rate, "rate", 50, "notifications per second")
	flag.DurationVar(&o.duration, "duration", 20*time.Second, "how long to deliver")
	flag.DurationVar(&o.settle, "settle", 3*time.Second, "pause before measuring idle memory")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "fanoutbench:", err)
		os.Exit(1)
	}
}

// user is a recipient and how its subscriptions authenticate.
type user struct {
	id   string
	init map[string]any // connection_init payload
}

func run(ctx context.Context, o options) error {
	if o.users < 1 || o.subscribers < o.users {
		return errors.New("need 1 <= users <= n")
	}
	users, err := prepareUsers(ctx, o)
	if err != nil {
		return err
	}
	procs, err := parsePids(o.pids)
	if err != nil {
		return err
	}
	before := rss(procs)

	var (
		received  atomic.Int64
		mu        sync.Mutex
		latencies []time.Duration
		wg        sync.WaitGroup
	)
	ready := make(chan error, o.subscribers)
	subCtx, cancelSubs := context.WithCancel(ctx)
	defer cancelSubs()
	start := time.Now()
	for i := range o.subscribers {
		u := users[i%len(users)]
		wg.Go(func() {
			err := subscribe(subCtx, o.url, u, ready, func(createdAt time.Time) {
				d := time.Since(createdAt)
				received.Add(1)
				mu.Lock()
				latencies = append(latencies, d)
				mu.Unlock()
			})
			if err != nil && subCtx.Err() == nil {
				fmt.Fprintln(os.Stderr, "subscription ended:", err)
			}
		})
		if i%200 == 199 {
			time.Sleep(20 * time.Millisecond) // a gentle ramp, not a connection storm
		}
	}
	for range o.subscribers {
		if err := <-ready; err != nil {
			return fmt.Errorf("subscribe: %w", err)
		}
	}
	fmt.Printf("%d subscriptions over %d users open in %v\n", o.subscribers, len(users), time.Since(start).Round(time.Millisecond))
	time.Sleep(o.settle)
	idle := rss(procs)
	for name, kb := range idle {
		per := float64(kb-before[name]) / float64(o.subscribers)
		fmt.Printf("%s RSS %d KiB -> %d KiB idle: %.1f KiB per connection\n", name, before[name], kb, per)
	}

	opt, err := redisx.AsynqOpt(o.redisURL)
	if err != nil {
		return err
	}
	client := asynq.NewClient(opt)
	defer func() { _ = client.Close() }() // the run is over; its figures are what matter
	perUser := o.subscribers / len(users)
	sent := 0
	tick := time.NewTicker(time.Duration(float64(time.Second) / o.rate))
	defer tick.Stop()
	deadline := time.After(o.duration)
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-deadline:
			break loop
		case <-tick.C:
			u := users[sent%len(users)]
			ev := tasks.NotificationDeliver{
				EventID: uuid.NewString(), RecipientID: u.id, Kind: "BENCH", Title: "bench " + strconv.Itoa(sent),
				CreatedAt: time.Now().UTC(),
			}
			body, _ := json.Marshal(ev)
			if _, err := client.EnqueueContext(ctx, asynq.NewTask(tasks.TypeNotificationDeliver, body),
				asynq.TaskID(ev.EventID), asynq.Queue(tasks.QueueCritical), asynq.Retention(time.Hour)); err != nil {
				return fmt.Errorf("enqueue: %w", err)
			}
			sent++
		}
	}
	want := int64(sent * perUser)
	wait := time.Now().Add(10 * time.Second)
	for received.Load() < want && time.Now().Before(wait) {
		time.Sleep(50 * time.Millisecond) // draining in-flight deliveries before reporting
	}
	cancelSubs()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(latencies)
	fmt.Printf("sent %d notifications at %.0f/s; expected %d deliveries, got %d\n", sent, o.rate, want, len(latencies))
	if len(latencies) > 0 {
		fmt.Printf("delivery latency p50 %v p99 %v max %v\n", pct(latencies, 50), pct(latencies, 99), latencies[len(latencies)-1])
	}
	fmt.Printf("bench process: %d goroutines\n", runtime.NumGoroutine())
	return nil
}

func pct(sorted []time.Duration, p int) time.Duration {
	return sorted[min(len(sorted)-1, len(sorted)*p/100)].Round(100 * time.Microsecond)
}

// prepareUsers signs assertions for random users (straight to a subgraph) or
// registers users through the router and uses their access tokens.
func prepareUsers(ctx context.Context, o options) ([]user, error) {
	users := make([]user, o.users)
	if o.devDir != "" {
		key, err := keys.LoadOrCreate(identity.DevKeyPath(o.devDir))
		if err != nil {
			return nil, err
		}
		signer := identity.NewSigner(key)
		for i := range users {
			id := uuid.NewString()
			// Assertions live a minute: enough for connection_init.
			a, err := signer.Sign(identity.Principal{UserID: id}, "notifications")
			if err != nil {
				return nil, err
			}
			users[i] = user{id: id, init: map[string]any{identity.Header: a}}
		}
		return users, nil
	}
	run := strconv.FormatInt(time.Now().Unix()%1_000_000, 36)
	for i := range users {
		name := fmt.Sprintf("bench_%s_%d", run, i)
		var out struct {
			Data struct {
				Register struct {
					AccessToken string `json:"accessToken"`
					User        struct {
						ID string `json:"id"`
					} `json:"user"`
				} `json:"register"`
			} `json:"data"`
			Errors []json.RawMessage `json:"errors"`
		}
		err := post(ctx, o.url, `mutation($in: RegisterInput!) { register(input: $in) { accessToken user { id } } }`,
			map[string]any{"in": map[string]any{"email": name + "@bench.example", "username": name, "password": o.password}}, &out)
		if err != nil {
			return nil, err
		}
		if len(out.Errors) > 0 {
			return nil, fmt.Errorf("register %s: %s", name, out.Errors[0])
		}
		r := out.Data.Register
		users[i] = user{id: r.User.ID, init: map[string]any{"Authorization": "Bearer " + r.AccessToken}}
	}
	return users, nil
}

func post(ctx context.Context, url, query string, vars map[string]any, out any) error {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(out)
}

type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// subscribe runs one subscription until ctx ends, calling got with each
// notification's creation time.
func subscribe(ctx context.Context, url string, u user, ready chan<- error, got func(time.Time)) error {
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http"), &websocket.DialOptions{
		Subprotocols: []string{"graphql-transport-ws"},
	})
	if err != nil {
		ready <- err
		return err
	}
	defer conn.CloseNow()
	write := func(m wsMessage) error {
		b, _ := json.Marshal(m)
		return conn.Write(ctx, websocket.MessageText, b)
	}
	initPayload, _ := json.Marshal(u.init)
	sub, _ := json.Marshal(map[string]any{"query": `subscription { notificationAdded { id createdAt } }`})
	if err := write(wsMessage{Type: "connection_init", Payload: initPayload}); err != nil {
		ready <- err
		return err
	}
	signalled := false
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			if !signalled {
				ready <- err
			}
			return err
		}
		var m wsMessage
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		switch m.Type {
		case "connection_ack":
			if err := write(wsMessage{ID: "1", Type: "subscribe", Payload: sub}); err != nil {
				ready <- err
				return err
			}
			// The subscription is in effect once the server processed it;
			// the settle pause before delivering covers the round trip.
			signalled = true
			ready <- nil
		case "ping":
			_ = write(wsMessage{Type: "pong"})
		case "next":
			var p struct {
				Data struct {
					NotificationAdded struct {
						CreatedAt time.Time `json:"createdAt"`
					} `json:"notificationAdded"`
				} `json:"data"`
			}
			if json.Unmarshal(m.Payload, &p) == nil && !p.Data.NotificationAdded.CreatedAt.IsZero() {
				got(p.Data.NotificationAdded.CreatedAt)
			}
		case "error", "complete":
			return fmt.Errorf("%s: %s", m.Type, m.Payload)
		}
	}
}

func parsePids(s string) (map[string]int, error) {
	out := map[string]int{}
	for part := range strings.SplitSeq(s, ",") {
		if part == "" {
			continue
		}
		name, pid, ok := strings.Cut(part, "=")
		n, err := strconv.Atoi(pid)
		if !ok || err != nil {
			return nil, fmt.Errorf("-pid: want name=pid, got %q", part)
		}
		out[name] = n
	}
	return out, nil
}

// rss reads VmRSS (KiB) of each process from /proc.
func rss(procs map[string]int) map[string]int {
	out := map[string]int{}
	for name, pid := range procs {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
				out[name] = kb
			}
		}
	}
	return out
}
