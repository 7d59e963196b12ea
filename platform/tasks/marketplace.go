package tasks

import "github.com/google/uuid"

// The marketplace service's own background work: who favourited a product
// is in its database, so it drains this queue itself; each step writes one
// batch of notifications to its outbox, which the worker delivers.
const (
	// TypeMarketplacePriceDrop notifies one batch of the users who
	// favourited a product that got cheaper, and queues the next batch.
	// Payload: MarketplacePriceDrop.
	TypeMarketplacePriceDrop = "marketplace:price-drop"
)

// QueueMarketplace is consumed by the marketplace service, not by the worker.
const QueueMarketplace = "marketplace"

// MarketplacePriceDrop is the payload of TypeMarketplacePriceDrop.
type MarketplacePriceDrop struct {
	ProductID     string `json:"product_id"`
	OldPriceCents int32  `json:"old_price_cents"`
	NewPriceCents int32  `json:"new_price_cents"`
	// After is the last user reached by the previous step (users are
	// reached in id order); empty for the first.
	After string `json:"after,omitempty"`
}

// Validate reports why the payload cannot be processed; the error wraps
// ErrInvalidPayload.
func (d MarketplacePriceDrop) Validate() error {
	var problems []string
	if _, err := uuid.Parse(d.ProductID); err != nil {
		problems = append(problems, "product_id must be a UUID")
	}
	if d.After != "" {
		if _, err := uuid.Parse(d.After); err != nil {
			problems = append(problems, "after must be a UUID")
		}
	}
	if d.NewPriceCents >= d.OldPriceCents || d.NewPriceCents < 1 {
		problems = append(problems, "new_price_cents must be positive and below old_price_cents")
	}
	return invalid(TypeMarketplacePriceDrop, problems)
}
