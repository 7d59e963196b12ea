package freelance_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"supergraph/platform/config"
	"supergraph/platform/identity"
	"supergraph/platform/keys"
	"supergraph/platform/pg/pgtest"
	"supergraph/platform/redisx/redistest"
	"supergraph/subgraphs/freelance"
	"supergraph/subgraphs/freelance/gigs"
)

// benchPage is issue 6's catalogue page as the router sends it to this
// subgraph: the freelancer is a reference the router resolves elsewhere.
const benchPage = `{"query":"{gigs(first:20){edges{node{title freelancer{__typename id} packages{priceCents}}}}}"}`

// BenchmarkCataloguePage drives the real HTTP handler (assertion check,
// gqlgen, resolvers, PostgreSQL, Redis) with issue 6's catalogue page over
// 200 ACTIVE gigs of 20 freelancers, each request asserted for one of 16
// distinct users as the router's would be, with the catalogue cache (the
// default) and without. Serial: ns/op is the latency of one page;
// Parallel16: 16 requests in flight, as in make bench.
//
//	cd subgraphs && go test -run '^$' -bench CataloguePage -benchmem ./freelance/
func BenchmarkCataloguePage(b *testing.B) {
	for _, c := range []struct {
		name string
		ttl  time.Duration
	}{{"Cached", 10 * time.Second}, {"Uncached", 0}} {
		b.Run(c.name, func(b *testing.B) {
			h, assertions := benchHandler(b, c.ttl)
			do := func(i int) {
				req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(benchPage))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(identity.Header, assertions[i%len(assertions)])
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK || !strings.HasPrefix(w.Body.String(), `{"data":{"gigs":{"edges":[{"node":{"title":`) {
					panic(fmt.Sprintf("status %d: %s", w.Code, w.Body))
				}
			}
			do(0) // warm: the query cache, the pool's connections and statements
			b.Run("Serial", func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					do(i)
					i++
				}
			})
			b.Run("Parallel16", func(b *testing.B) {
				b.ReportAllocs()
				b.SetParallelism(8) // 8 × GOMAXPROCS(2) = 16 in flight
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						do(i)
						i++
					}
				})
			})
		})
	}
}

// benchHandler is a freelance service on a fresh database and Redis with the
// catalogue seeded, and 16 users' assertions.
func benchHandler(b *testing.B, cacheTTL time.Duration) (http.Handler, []string) {
	b.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	pubPEM, err := keys.EncodePublic(pub)
	if err != nil {
		b.Fatal(err)
	}
	redisSrv := redistest.Start(b)
	cfg := freelance.DefaultConfig()
	config.Defaults(&cfg.Subgraph)
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.DatabaseURL = pgtest.URL(b, "freelance")
	cfg.RedisURL = redisSrv.URL(4)
	cfg.QueueRedisURL = redisSrv.URL(3)
	cfg.DevDir = b.TempDir()
	cfg.AssertionPublicKey = string(pubPEM)
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.CatalogueCacheTTL = cacheTTL
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	app, err := freelance.New(ctx, cfg, log)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(app.Close)

	var category uuid.UUID
	if err := app.Pool.QueryRow(ctx, "SELECT id FROM gig_categories WHERE slug = 'logo-design'").Scan(&category); err != nil {
		b.Fatal(err)
	}
	freelancers := make([]identity.Principal, 20)
	for i := range freelancers {
		freelancers[i] = identity.Principal{UserID: uuid.NewString(), Roles: []string{identity.RoleFreelancer}}
	}
	active := gigs.GigStatusACTIVE
	for round := range 10 {
		for i, f := range freelancers {
			_, err := app.Domain.CreateGig(ctx, f, gigs.GigInput{
				Title:       fmt.Sprintf("Bench gig %02d of freelancer %02d", round, i),
				Description: "A careful, complete piece of work delivered on time.",
				CategoryID:  category, Tags: []string{"logo", "branding"}, Status: &active,
				Packages: []gigs.PackageInput{
					{Tier: gigs.PackageTierBASIC, Title: "Basic", PriceCents: 5000, DeliveryDays: 3, Revisions: 1, Features: []string{"one concept"}},
					{Tier: gigs.PackageTierSTANDARD, Title: "Standard", PriceCents: 9000, DeliveryDays: 5, Revisions: 2},
				},
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	signer := identity.NewSigner(priv)
	assertions := make([]string, 16)
	for i := range assertions {
		if assertions[i], err = signer.Sign(identity.Principal{UserID: uuid.NewString()}, "freelance"); err != nil {
			b.Fatal(err)
		}
	}
	return app.Handler(), assertions
}
