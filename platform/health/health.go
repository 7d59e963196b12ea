// Package health serves GET /api/health/ in the seed's shape: 200 with
// "healthy" when PostgreSQL and Redis answer, 503 with "unhealthy" otherwise.
package health

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// Path is where every service serves its health report; the `health`
// command of every binary (platform/server) asks it there.
const Path = "/api/health/"

// Check pings one dependency.
type Check func(ctx context.Context) error

// Report is the body of /api/health/.
type Report struct {
	Status    string `json:"status"`
	Service   string `json:"service"`
	Timestamp string `json:"timestamp"`
	Database  string `json:"database"`
	Redis     string `json:"redis"`
}

// Handler returns the health endpoint for service. Checks run concurrently,
// each bounded by a short timeout so a hung dependency cannot hang probes.
func Handler(service string, database, redis Check) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		db, rd := make(chan string, 1), make(chan string, 1)
		go func() { db <- state(ctx, database) }()
		go func() { rd <- state(ctx, redis) }()
		rep := Report{Service: service, Timestamp: time.Now().UTC().Format(time.RFC3339), Database: <-db, Redis: <-rd}
		code := http.StatusOK
		rep.Status = "healthy"
		if rep.Database != "connected" || rep.Redis != "connected" {
			rep.Status, code = "unhealthy", http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(rep)
	})
}

func state(ctx context.Context, check Check) string {
	if err := check(ctx); err != nil {
		return "disconnected"
	}
	return "connected"
}
