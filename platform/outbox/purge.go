package outbox

import (
	"context"
	"fmt"
	"time"

	"supergraph/platform/outbox/store"
)

// purgeBatch bounds one DELETE, so purging a large backlog never holds many
// row locks or one long transaction.
const purgeBatch = 1000

// Purge deletes rows confirmed more than olderThan ago and reports how many.
// Confirmed rows are only history (asynq has finished the task), kept a while
// for operators; rows sent but not confirmed are never purged, since they
// are the durable copy of a task Redis may still lose. Call Purge
// periodically, from a scheduled job or a relay's service. Several callers
// at once are harmless.
func Purge(ctx context.Context, db store.DBTX, olderThan time.Duration) (int64, error) {
	before := time.Now().Add(-olderThan)
	q := store.New(db)
	var total int64
	for {
		n, err := q.PurgeConfirmed(ctx, store.PurgeConfirmedParams{Before: before, BatchSize: purgeBatch})
		total += n
		if err != nil {
			return total, fmt.Errorf("outbox: purge: %w", err)
		}
		if n < purgeBatch {
			return total, nil
		}
	}
}

// Purge is the package-level Purge on the relay's database.
func (r *Relay) Purge(ctx context.Context, olderThan time.Duration) (int64, error) {
	return Purge(ctx, r.pool, olderThan)
}
