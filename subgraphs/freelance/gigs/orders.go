package gigs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"supergraph/platform/apperr"
	"supergraph/platform/identity"
	"supergraph/platform/paging"
	"supergraph/platform/pg"
	"supergraph/platform/tasks"
	"supergraph/subgraphs/freelance/store"
)

// The order state machine:
//
//	PENDING ──start──> IN_PROGRESS ──deliver──> DELIVERED ──complete──> COMPLETED
//	                        ^                      │
//	                        └─deliver── REVISION_REQUESTED <──requestRevision (within the package's revisions)
//
// and CANCELLED from any state before COMPLETED: by the buyer while PENDING,
// by either party later with a reason, by STAFF at any time. Every
// transition locks the order row first (SELECT ... FOR UPDATE), so of two
// racing transitions exactly one applies and the other is checked against
// its outcome; each appends to the timeline and, in the same transaction,
// writes an outbox event notifying the other party.

// open is every state an order can still leave.
var open = []OrderStatus{
	OrderStatusPENDING, OrderStatusINPROGRESS, OrderStatusDELIVERED, OrderStatusREVISIONREQUESTED,
}

// CanSeeOrder reports whether p may see o: its buyer, its freelancer and STAFF.
func CanSeeOrder(p identity.Principal, o Order) bool {
	me := p.UUID()
	return p.IsStaff() || (me != uuid.Nil && (me == o.BuyerID || me == o.FreelancerID))
}

// Orders returns the orders with these ids; callers apply CanSeeOrder.
func (s *Service) Orders(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]Order, error) {
	rows, err := s.q.GetOrders(ctx, ids)
	if err != nil {
		return nil, apperr.Wrap("get orders", err)
	}
	return mapBy(mapAll(rows, toOrder), func(o Order) uuid.UUID { return o.ID }), nil
}

// Timelines returns the events of these orders, oldest first.
func (s *Service) Timelines(ctx context.Context, orderIDs []uuid.UUID) (map[uuid.UUID][]Event, error) {
	rows, err := s.q.OrderEvents(ctx, orderIDs)
	if err != nil {
		return nil, apperr.Wrap("get order events", err)
	}
	return groupBy(mapAll(rows, toEvent), func(e Event) uuid.UUID { return e.OrderID }), nil
}

// OrderRole narrows a user's orders to one side.
type OrderRole string

// Sides of an order.
const (
	RoleBuyer      OrderRole = "BUYER"
	RoleFreelancer OrderRole = "FREELANCER"
)

// UserOrders returns one page of userID's orders, newest first: their own
// (or anyone's for STAFF).
func (s *Service) UserOrders(ctx context.Context, p identity.Principal, userID uuid.UUID, role *OrderRole, status *OrderStatus, firstArg *int32, after *string) (paging.Page[Order], error) {
	me, err := p.SignedIn()
	if err != nil {
		return paging.Page[Order]{}, err
	}
	if me != userID && !p.IsStaff() {
		return paging.Page[Order]{}, apperr.Forbidden("orders are visible to their own user only")
	}
	first, err := paging.First(firstArg, DefaultFirst)
	if err != nil {
		return paging.Page[Order]{}, err
	}
	params := store.ListUserOrdersParams{UserID: userID, Status: (*store.OrderStatus)(status), Lim: int32(first + 1)}
	if role != nil {
		params.Role = ptr(string(*role))
	}
	if err := timeCursor(after, &params.AfterCreated, &params.AfterID); err != nil {
		return paging.Page[Order]{}, err
	}
	rows, err := s.q.ListUserOrders(ctx, params)
	if err != nil {
		return paging.Page[Order]{}, apperr.Wrap("list orders", err)
	}
	return timePage(mapAll(rows, toOrder), first, func(o Order) (time.Time, uuid.UUID) { return o.CreatedAt, o.ID }), nil
}

// PlaceOrder buys one package of an ACTIVE gig; price, delivery time and
// revisions are snapshotted from the package, and the freelancer is
// notified (ORDER_PLACED).
func (s *Service) PlaceOrder(ctx context.Context, p identity.Principal, gigID uuid.UUID, tier PackageTier, requirements string) (Order, error) {
	return s.placeOrder(ctx, p, pg.NewID(), gigID, tier, requirements)
}

func (s *Service) placeOrder(ctx context.Context, p identity.Principal, id, gigID uuid.UUID, tier PackageTier, requirements string) (Order, error) {
	me, err := p.SignedIn()
	if err != nil {
		return Order{}, err
	}
	requirements = strings.TrimSpace(requirements)
	if utf8.RuneCountInString(requirements) > maxRequirements {
		return Order{}, apperr.BadInput("requirements", fmt.Sprintf("requirements must be at most %d characters", maxRequirements))
	}
	var o Order
	err = pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		row, err := q.GetGigForShare(ctx, gigID)
		if err != nil {
			return pg.NotFound(err, "gig")
		}
		g := toGig(row)
		if !CanSeeGig(p, g) {
			return apperr.NotFound("gig")
		}
		if g.FreelancerID == me {
			return apperr.Forbidden("you cannot order your own gig")
		}
		if g.Status != GigStatusACTIVE {
			return apperr.Conflict("gigId", fmt.Sprintf("the gig is %s and takes no orders", g.Status))
		}
		pkg, err := q.GetPackage(ctx, store.GetPackageParams{GigID: gigID, Tier: store.PackageTier(tier)})
		if errors.Is(err, pgx.ErrNoRows) {
			return apperr.BadInput("tier", fmt.Sprintf("the gig has no %s package", tier))
		}
		if err != nil {
			return err
		}
		now := s.now()
		created, err := q.CreateOrder(ctx, store.CreateOrderParams{
			ID: id, GigID: gigID, BuyerID: me, FreelancerID: g.FreelancerID, Tier: store.PackageTier(tier),
			GigTitle: g.Title, PackageTitle: pkg.Title, PriceCents: pkg.PriceCents, Currency: g.Currency,
			DeliveryDays: pkg.DeliveryDays, RevisionsAllowed: pkg.Revisions, Requirements: requirements,
			DueAt: now.AddDate(0, 0, int(pkg.DeliveryDays)), Now: now,
		})
		if err != nil {
			return err
		}
		o = toOrder(created)
		if err := s.appendEvent(ctx, q, o, nil, &me, nil, now); err != nil {
			return err
		}
		return s.notify(ctx, tx, o, o.FreelancerID, tasks.KindOrderPlaced,
			"New order: "+o.GigTitle,
			fmt.Sprintf("You have a new %s order (%s) for %q, due %s.", strings.ToLower(string(tier)),
				tasks.Money(o.PriceCents, o.Currency), o.GigTitle, o.DueAt.Format("2 Jan 2006")), now)
	})
	if err != nil {
		return Order{}, apperr.Wrap("place order", err)
	}
	s.invalidateStats(ctx, o.FreelancerID)
	return o, nil
}

// step is what a transition does to a locked order, decided by its check.
type step struct {
	to      OrderStatus
	message *string
	// notify lists who hears of it: the other party, or both when STAFF
	// or the platform acted.
	notify []uuid.UUID
	kind   string
	title  string
	body   string
}

// transition locks order id, lets check decide (or refuse) the step, and
// applies it with its timeline entry and notifications in one transaction.
func (s *Service) transition(ctx context.Context, p identity.Principal, id uuid.UUID, check func(o Order, me uuid.UUID) (step, error)) (Order, error) {
	me, err := p.SignedIn()
	if err != nil {
		return Order{}, err
	}
	var o Order
	err = pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		row, err := q.GetOrderForUpdate(ctx, id)
		if err != nil {
			return pg.NotFound(err, "order")
		}
		current := toOrder(row)
		if !CanSeeOrder(p, current) {
			return apperr.NotFound("order")
		}
		st, err := check(current, me)
		if err != nil {
			return err
		}
		o, err = s.apply(ctx, tx, current, st, &me)
		return err
	})
	if err != nil {
		return Order{}, err
	}
	s.invalidateStats(ctx, o.FreelancerID)
	return o, nil
}

// apply moves a locked order on, records the event and queues the notices.
func (s *Service) apply(ctx context.Context, tx pgx.Tx, current Order, st step, actor *uuid.UUID) (Order, error) {
	q := s.q.WithTx(tx)
	now := s.now()
	row, err := q.TransitionOrder(ctx, store.TransitionOrderParams{ID: current.ID, Status: store.OrderStatus(st.to), Now: now})
	if err != nil {
		return Order{}, err
	}
	o := toOrder(row)
	if err := s.appendEvent(ctx, q, o, &current.Status, actor, st.message, now); err != nil {
		return Order{}, err
	}
	body := st.body
	if st.message != nil {
		body += "\n\n" + *st.message
	}
	for _, to := range st.notify {
		if err := s.notify(ctx, tx, o, to, st.kind, st.title, body, now); err != nil {
			return Order{}, err
		}
	}
	return o, nil
}

func (s *Service) appendEvent(ctx context.Context, q *store.Queries, o Order, from *OrderStatus, actor *uuid.UUID, message *string, now time.Time) error {
	return q.InsertOrderEvent(ctx, store.InsertOrderEventParams{
		ID: pg.NewID(), OrderID: o.ID, FromStatus: (*store.OrderStatus)(from), ToStatus: store.OrderStatus(o.Status), ActorID: actor, Message: message, CreatedAt: now,
	})
}

// invalid is the error of a transition the order's state does not allow;
// it names the current state.
func invalid(verb string, o Order) error {
	return apperr.Conflict("status", fmt.Sprintf("cannot %s an order that is %s", verb, o.Status))
}

func requireText(field, v string, maxLen int) (*string, error) {
	v = strings.TrimSpace(v)
	if v == "" || utf8.RuneCountInString(v) > maxLen {
		return nil, apperr.BadInput(field, fmt.Sprintf("%s must be 1 to %d characters", field, maxLen))
	}
	return &v, nil
}

// StartOrder: the freelancer accepts a PENDING order (ORDER_STARTED to the buyer).
func (s *Service) StartOrder(ctx context.Context, p identity.Principal, id uuid.UUID) (Order, error) {
	o, err := s.transition(ctx, p, id, func(o Order, me uuid.UUID) (step, error) {
		if me != o.FreelancerID {
			return step{}, apperr.Forbidden("only the order's freelancer can start it")
		}
		if o.Status != OrderStatusPENDING {
			return step{}, invalid("start", o)
		}
		return step{to: OrderStatusINPROGRESS, notify: []uuid.UUID{o.BuyerID}, kind: tasks.KindOrderStarted,
			title: "Work started: " + o.GigTitle,
			body:  fmt.Sprintf("The freelancer started your order for %q. It is due %s.", o.GigTitle, o.DueAt.Format("2 Jan 2006"))}, nil
	})
	return o, apperr.Wrap("start order", err)
}

// DeliverOrder: the freelancer delivers work with a message (ORDER_DELIVERED
// to the buyer), first or after a revision request.
func (s *Service) DeliverOrder(ctx context.Context, p identity.Principal, id uuid.UUID, message string) (Order, error) {
	msg, err := requireText("message", message, maxOrderMessage)
	if err != nil {
		return Order{}, err
	}
	o, err := s.transition(ctx, p, id, func(o Order, me uuid.UUID) (step, error) {
		if me != o.FreelancerID {
			return step{}, apperr.Forbidden("only the order's freelancer can deliver it")
		}
		if o.Status != OrderStatusINPROGRESS && o.Status != OrderStatusREVISIONREQUESTED {
			return step{}, invalid("deliver", o)
		}
		return step{to: OrderStatusDELIVERED, message: msg, notify: []uuid.UUID{o.BuyerID}, kind: tasks.KindOrderDelivered,
			title: "Delivered: " + o.GigTitle,
			body:  fmt.Sprintf("Your order for %q was delivered. Accept it, or ask for a revision.", o.GigTitle)}, nil
	})
	return o, apperr.Wrap("deliver order", err)
}

// RequestRevision: the buyer sends a delivery back, while the package's
// revisions last (ORDER_REVISION_REQUESTED to the freelancer).
func (s *Service) RequestRevision(ctx context.Context, p identity.Principal, id uuid.UUID, message string) (Order, error) {
	msg, err := requireText("message", message, maxOrderMessage)
	if err != nil {
		return Order{}, err
	}
	o, err := s.transition(ctx, p, id, func(o Order, me uuid.UUID) (step, error) {
		if me != o.BuyerID {
			return step{}, apperr.Forbidden("only the order's buyer can request a revision")
		}
		if o.Status != OrderStatusDELIVERED {
			return step{}, invalid("request a revision of", o)
		}
		if o.RevisionsUsed >= o.RevisionsAllowed {
			return step{}, apperr.Conflict("revisions", fmt.Sprintf("all %d revisions of this package are used", o.RevisionsAllowed))
		}
		return step{to: OrderStatusREVISIONREQUESTED, message: msg, notify: []uuid.UUID{o.FreelancerID},
			kind:  tasks.KindOrderRevisionRequested,
			title: "Revision requested: " + o.GigTitle,
			body:  fmt.Sprintf("The buyer asked for a revision of %q (%d of %d).", o.GigTitle, o.RevisionsUsed+1, o.RevisionsAllowed)}, nil
	})
	return o, apperr.Wrap("request revision", err)
}

// CompleteOrder: the buyer accepts a delivery (ORDER_COMPLETED to the freelancer).
func (s *Service) CompleteOrder(ctx context.Context, p identity.Principal, id uuid.UUID) (Order, error) {
	o, err := s.transition(ctx, p, id, func(o Order, me uuid.UUID) (step, error) {
		if me != o.BuyerID {
			return step{}, apperr.Forbidden("only the order's buyer can complete it")
		}
		if o.Status != OrderStatusDELIVERED {
			return step{}, invalid("complete", o)
		}
		return completion(o, []uuid.UUID{o.FreelancerID}, "The buyer accepted your delivery"), nil
	})
	return o, apperr.Wrap("complete order", err)
}

func completion(o Order, notify []uuid.UUID, who string) step {
	return step{to: OrderStatusCOMPLETED, notify: notify, kind: tasks.KindOrderCompleted,
		title: "Completed: " + o.GigTitle,
		body:  fmt.Sprintf("%s for %q: the order is complete (%s).", who, o.GigTitle, tasks.Money(o.PriceCents, o.Currency))}
}

// CancelOrder cancels an order before completion (ORDER_CANCELLED to the
// other party, to both when STAFF cancels): the buyer while PENDING, either
// party later with a reason, STAFF at any time.
func (s *Service) CancelOrder(ctx context.Context, p identity.Principal, id uuid.UUID, reason *string) (Order, error) {
	var msg *string
	if reason != nil && strings.TrimSpace(*reason) != "" {
		var err error
		if msg, err = requireText("reason", *reason, maxOrderMessage); err != nil {
			return Order{}, err
		}
	}
	o, err := s.transition(ctx, p, id, func(o Order, me uuid.UUID) (step, error) {
		if !slices.Contains(open, o.Status) {
			return step{}, invalid("cancel", o)
		}
		var notify []uuid.UUID
		switch me {
		case o.BuyerID:
			notify = []uuid.UUID{o.FreelancerID}
		case o.FreelancerID:
			notify = []uuid.UUID{o.BuyerID}
		default: // STAFF: CanSeeOrder let nobody else this far
			notify = []uuid.UUID{o.BuyerID, o.FreelancerID}
		}
		switch {
		case p.IsStaff():
		case o.Status == OrderStatusPENDING && me != o.BuyerID:
			return step{}, apperr.Forbidden("only the buyer can cancel a PENDING order")
		case o.Status != OrderStatusPENDING && msg == nil:
			return step{}, apperr.BadInput("reason", "a reason is required to cancel an order in progress")
		}
		return step{to: OrderStatusCANCELLED, message: msg, notify: notify, kind: tasks.KindOrderCancelled,
			title: "Cancelled: " + o.GigTitle,
			body:  fmt.Sprintf("The order for %q was cancelled.", o.GigTitle)}, nil
	})
	return o, apperr.Wrap("cancel order", err)
}

// AutoCompleteDelivered completes every order left DELIVERED for longer
// than Config.AutoCompleteAfter, as the platform (the timeline shows no
// actor), and notifies both parties. It returns how many it completed.
// Each order is its own transaction under the same row lock as the users'
// transitions, so a buyer completing or asking for a revision at the same
// moment either wins or sees the order completed; running it twice, or on
// two replicas at once, completes each order once.
func (s *Service) AutoCompleteDelivered(ctx context.Context) (int, error) {
	before := s.now().Add(-s.cfg.AutoCompleteAfter)
	const batch = 100
	done := 0
	for {
		ids, err := s.q.DeliveredBefore(ctx, store.DeliveredBeforeParams{Before: ptr(before), Lim: batch})
		if err != nil {
			return done, apperr.Wrap("auto-complete", err)
		}
		progressed := false
		for _, id := range ids {
			var completed Order
			err := pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
				q := s.q.WithTx(tx)
				row, err := q.GetOrderForUpdate(ctx, id)
				if err != nil {
					return err
				}
				o := toOrder(row)
				if o.Status != OrderStatusDELIVERED || o.DeliveredAt == nil || !o.DeliveredAt.Before(before) {
					return nil // someone acted first
				}
				st := completion(o, []uuid.UUID{o.BuyerID, o.FreelancerID}, "No reply came to the delivery")
				completed, err = s.apply(ctx, tx, o, st, nil)
				return err
			})
			if err != nil {
				return done, apperr.Wrap("auto-complete", err)
			}
			if completed.ID != uuid.Nil {
				done++
				progressed = true
				s.invalidateStats(ctx, completed.FreelancerID)
			}
		}
		if len(ids) < batch || !progressed {
			return done, nil
		}
	}
}

// notify queues a notification for recipient in tx, the transaction of the
// change it reports. The outbox row id is the event id, so a re-sent row is
// one notification.
func (s *Service) notify(ctx context.Context, tx pgx.Tx, o Order, recipient uuid.UUID, kind, title, body string, at time.Time) error {
	return s.queueNotice(ctx, tx, recipient, kind, title, body, "/orders/"+o.ID.String(), map[string]any{
		"orderId": o.ID.String(), "gigId": o.GigID.String(), "status": string(o.Status),
		"tier": string(o.Tier), "priceCents": o.PriceCents, "currency": o.Currency,
	}, at)
}

// timeCursor decodes an `after` over a (timestamp, id) order.
func timeCursor(after *string, at **time.Time, id **uuid.UUID) error {
	c, err := paging.Decode(after)
	if err != nil || c == nil {
		return err
	}
	t, err := c.Time()
	if err != nil {
		return err
	}
	*at, *id = &t, &c.ID
	return nil
}

// timePage cuts rows fetched with limit first+1 to a page with cursors.
func timePage[T any](rows []T, first int, key func(T) (time.Time, uuid.UUID)) paging.Page[T] {
	return paging.Cut(rows, first, func(r T) paging.Cursor { return paging.TimeCursor(key(r)) })
}
