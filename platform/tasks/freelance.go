package tasks

// The freelance service's own housekeeping. Like the users service's, it
// runs on a queue the freelance service consumes itself: the worker's
// scheduler only enqueues the task, and no other service touches the
// freelance tables or imports its code.
const (
	// TypeFreelanceAutoCompleteOrders completes the orders left DELIVERED
	// for longer than the freelance service's FREELANCE_AUTO_COMPLETE_AFTER
	// and notifies both parties. Safe to run at any frequency and on several
	// replicas at once: each order completes once. Empty payload.
	TypeFreelanceAutoCompleteOrders = "freelance:auto-complete-orders"
)

// QueueFreelance is consumed by the freelance service, not by the worker.
const QueueFreelance = "freelance"
