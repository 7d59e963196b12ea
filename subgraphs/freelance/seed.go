package freelance

import (
	"context"
	"log/slog"

	"supergraph/subgraphs/freelance/gigs"
)

// Seed creates the demo data; see gigs.Seed.
func Seed(ctx context.Context, svc *gigs.Service, log *slog.Logger) error {
	return svc.Seed(ctx, log)
}
