package shop

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"supergraph/platform/apperr"
	"supergraph/platform/outbox"
	"supergraph/platform/pg"
	"supergraph/platform/tasks"
	"supergraph/subgraphs/marketplace/store"
)

// KindPriceDrop tells a user that a product they favourited got cheaper.
const KindPriceDrop = "PRICE_DROP"

type notice struct {
	recipient uuid.UUID
	kind      string
	title     string
	body      string
	link      string
	data      map[string]any
}

// queueNotice writes a notification to the outbox in tx; id, when set, is
// its event id (a retried fan-out step writes the same ids).
func (s *Service) queueNotice(ctx context.Context, tx pgx.Tx, n notice, id ...uuid.UUID) error {
	eventID := pg.NewID()
	if len(id) > 0 {
		eventID = id[0]
	}
	_, err := outbox.Add(ctx, tx, tasks.TypeNotificationDeliver, tasks.NotificationDeliver{
		EventID: eventID.String(), RecipientID: n.recipient.String(), Kind: n.kind,
		Title: n.title, Body: n.body, Link: n.link, Data: n.data, CreatedAt: s.now(),
	}.Fit(), outbox.WithID(eventID))
	return err
}

// A price drop notifies everyone who favourited the product. The request
// queues one step; each step (FanOutStep, run by this service from its own
// queue) reaches one batch and queues the next.
func (s *Service) queuePriceDrop(ctx context.Context, tx pgx.Tx, old, now Product) error {
	_, err := outbox.Add(ctx, tx, tasks.TypeMarketplacePriceDrop, tasks.MarketplacePriceDrop{
		ProductID: now.ID.String(), OldPriceCents: old.PriceCents, NewPriceCents: now.PriceCents,
	}, outbox.WithQueue(tasks.QueueMarketplace))
	return err
}

// FanOutStep notifies one batch of a price drop's audience and queues the
// next step in the same transaction. For the service's own queue (trusted).
// A step that runs again finds its notification ids (derived from the drop's
// prices and the user) in the outbox and does nothing; so does a later drop
// between the same two prices, which its audience has heard of.
func (s *Service) FanOutStep(ctx context.Context, step tasks.MarketplacePriceDrop) error {
	productID, err := uuid.Parse(step.ProductID)
	if err != nil {
		return fmt.Errorf("price drop: %w", err)
	}
	after := uuid.Nil
	if step.After != "" {
		if after, err = uuid.Parse(step.After); err != nil {
			return fmt.Errorf("price drop: %w", err)
		}
	}
	err = pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		prod, err := q.GetProduct(ctx, productID)
		if err != nil {
			return nil // deleted since: nobody to tell
		}
		users, err := q.ListFavoriters(ctx, store.ListFavoritersParams{ProductID: productID, AfterUser: after, MaxRows: int32(s.cfg.FanOutBatch)})
		if err != nil {
			return err
		}
		// One id per drop and user: the old and new price name the drop.
		drop := uuid.NewSHA1(productID, fmt.Appendf(nil, "%d>%d", step.OldPriceCents, step.NewPriceCents))
		for _, u := range users {
			err := s.queueNotice(ctx, tx, notice{
				recipient: u, kind: KindPriceDrop, title: "Price drop: " + prod.Title,
				body: fmt.Sprintf("Now %s, was %s.", tasks.Money(step.NewPriceCents, prod.Currency), tasks.Money(step.OldPriceCents, prod.Currency)),
				link: "/products/" + prod.Slug,
				data: map[string]any{"productId": productID.String(), "oldPriceCents": step.OldPriceCents, "newPriceCents": step.NewPriceCents},
			}, uuid.NewSHA1(drop, u[:]))
			if err != nil {
				return err
			}
		}
		if len(users) < s.cfg.FanOutBatch {
			return nil
		}
		next := step
		next.After = users[len(users)-1].String()
		_, err = outbox.Add(ctx, tx, tasks.TypeMarketplacePriceDrop, next, outbox.WithQueue(tasks.QueueMarketplace))
		return err
	})
	if c, ok := pg.IsUniqueViolation(err); ok && c == "outbox_pkey" {
		// A notice of this batch is in the outbox already: the step ran
		// before and queued the next one, which covers every user after
		// its batch.
		return nil
	}
	return apperr.Wrap("price drop", err)
}
