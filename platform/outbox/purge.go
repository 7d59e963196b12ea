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

// Purge deletes rows sent more than olderThan ago and reports how many. Sent
// rows are only history (the task lives in asynq), kept a while for
// operators; call Purge periodically, from a scheduled job or a relay's
// service. Several callers at once are harmless.
func Purge(ctx context.Context, db store.DBTX, olderThan time.Duration) (int64, error) {
	before := time.Now().Add(-olderThan)
	q := store.New(db)
	var total int64
	for {
		n, err := q.PurgeSent(ctx, store.PurgeSentParams{Before: before, BatchSize: purgeBatch})
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
