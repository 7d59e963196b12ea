// Command loadgen is the router benchmark's load generator: c connections,
// each its own TCP connection and its own user (one header value per
// connection, so the router's request de-duplication cannot flatter the
// figures), sending one GraphQL POST after the other for a duration. It prints
// one JSON line: requests per second, p50/p99 latency and errors. Run it pinned
// to a core of its own (taskset -c 1) with GOMAXPROCS=1; BenchmarkRouter and
// BenchmarkGigCatalogue (make bench) do.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	url := flag.String("url", "", "GraphQL endpoint")
	conns := flag.Int("c", 1, "connections")
	dur := flag.Duration("d", 5*time.Second, "measured duration")
	warmup := flag.Duration("warmup", time.Second, "unmeasured warm-up")
	query := flag.String("query", "{ me { id } }", "GraphQL query")
	header := flag.String("header", "Authorization", "header carrying each connection's identity")
	values := flag.String("values", "", "file with one header value per line (connection i uses line i mod n)")
	flag.Parse()

	var ids []string
	if *values != "" {
		f, err := os.Open(*values)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		s := bufio.NewScanner(f)
		s.Buffer(nil, 1<<20)
		for s.Scan() {
			if s.Text() != "" {
				ids = append(ids, s.Text())
			}
		}
		_ = f.Close() // opened read-only: closing it cannot lose data
		if err := s.Err(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	body, _ := json.Marshal(map[string]string{"query": *query})

	start := time.Now()
	measureFrom, end := start.Add(*warmup), start.Add(*warmup+*dur)
	var mu sync.Mutex
	var reported atomic.Bool // the first failure is printed, to stderr
	var all []time.Duration
	errs := 0
	var wg sync.WaitGroup
	for i := range *conns {
		wg.Go(func() {
			client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1, DisableCompression: true}}
			var lat []time.Duration
			bad := 0
			for {
				t0 := time.Now()
				if t0.After(end) {
					break
				}
				req, _ := http.NewRequest(http.MethodPost, *url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				if len(ids) > 0 {
					req.Header.Set(*header, ids[i%len(ids)])
				}
				resp, err := client.Do(req)
				ok := err == nil
				what := fmt.Sprint(err)
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					ok = resp.StatusCode == http.StatusOK && !bytes.Contains(b, []byte(`"errors"`))
					what = fmt.Sprintf("%d %.300s", resp.StatusCode, b)
				}
				if !ok && reported.CompareAndSwap(false, true) {
					fmt.Fprintln(os.Stderr, "loadgen: first failed request:", what)
				}
				if t0.Before(measureFrom) {
					continue
				}
				if !ok {
					bad++
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			all = append(all, lat...)
			errs += bad
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(all)
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[int(float64(len(all)-1)*p)].Microseconds()) / 1000
	}
	_ = json.NewEncoder(os.Stdout).Encode(map[string]any{
		"requests": len(all), "errors": errs, "rps": float64(len(all)) / dur.Seconds(),
		"p50_ms": pct(0.50), "p99_ms": pct(0.99),
	})
}
