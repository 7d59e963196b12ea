package gigs

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"supergraph/platform/apperr"
	"supergraph/platform/identity"
	"supergraph/platform/paging"
	"supergraph/platform/pg"
	"supergraph/subgraphs/freelance/store"
)

// PortfolioInput is a portfolio item's content.
type PortfolioInput struct {
	Title       string
	Description string
	ImageURL    *string
	ProjectURL  *string
	GigID       *uuid.UUID
}

const maxURL = 2000

func (in *PortfolioInput) validate() error {
	in.Title = strings.TrimSpace(in.Title)
	in.Description = strings.TrimSpace(in.Description)
	if in.Title == "" || utf8.RuneCountInString(in.Title) > maxTitle {
		return apperr.BadInput("title", fmt.Sprintf("title must be 1 to %d characters", maxTitle))
	}
	if utf8.RuneCountInString(in.Description) > maxDescription {
		return apperr.BadInput("description", fmt.Sprintf("description must be at most %d characters", maxDescription))
	}
	for field, u := range map[string]**string{"imageUrl": &in.ImageURL, "projectUrl": &in.ProjectURL} {
		if *u == nil || strings.TrimSpace(**u) == "" {
			*u = nil
			continue
		}
		v := strings.TrimSpace(**u)
		parsed, err := url.Parse(v)
		if err != nil || (parsed.Scheme != "https" && parsed.Scheme != "http") || parsed.Host == "" || len(v) > maxURL {
			return apperr.BadInput(field, field+" must be an http or https URL")
		}
		*u = &v
	}
	return nil
}

// checkPortfolioGig lets an item point at a gig of its freelancer's only.
func checkPortfolioGig(ctx context.Context, q *store.Queries, gigID *uuid.UUID, freelancer uuid.UUID) error {
	if gigID == nil {
		return nil
	}
	rows, err := q.GetGigs(ctx, []uuid.UUID{*gigID})
	if err != nil {
		return err
	}
	if len(rows) == 0 || rows[0].FreelancerID != freelancer || rows[0].DeletedAt != nil {
		return apperr.BadInput("gigId", "gigId must be a gig of the portfolio's freelancer")
	}
	return nil
}

// AddPortfolioItem adds a work sample to the caller's portfolio (FREELANCER).
func (s *Service) AddPortfolioItem(ctx context.Context, p identity.Principal, in PortfolioInput) (Portfolio, error) {
	return s.addPortfolioItem(ctx, p, pg.NewID(), in)
}

func (s *Service) addPortfolioItem(ctx context.Context, p identity.Principal, id uuid.UUID, in PortfolioInput) (Portfolio, error) {
	me, err := p.SignedIn()
	if err != nil {
		return Portfolio{}, err
	}
	if !p.HasRole(identity.RoleFreelancer) {
		return Portfolio{}, apperr.Forbidden("requires the FREELANCER role")
	}
	if err := in.validate(); err != nil {
		return Portfolio{}, err
	}
	var item store.PortfolioItem
	err = pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		if err := checkPortfolioGig(ctx, q, in.GigID, me); err != nil {
			return err
		}
		item, err = q.CreatePortfolioItem(ctx, store.CreatePortfolioItemParams{
			ID: id, FreelancerID: me, Title: in.Title, Description: in.Description,
			ImageUrl: in.ImageURL, ProjectUrl: in.ProjectURL, GigID: in.GigID,
		})
		return err
	})
	return toPortfolio(item), apperr.Wrap("add portfolio item", err)
}

// UpdatePortfolioItem replaces an item's content (owner or STAFF).
func (s *Service) UpdatePortfolioItem(ctx context.Context, p identity.Principal, id uuid.UUID, in PortfolioInput) (Portfolio, error) {
	if err := in.validate(); err != nil {
		return Portfolio{}, err
	}
	var item store.PortfolioItem
	err := s.editPortfolio(ctx, p, id, func(q *store.Queries, current Portfolio) error {
		if err := checkPortfolioGig(ctx, q, in.GigID, current.FreelancerID); err != nil {
			return err
		}
		var err error
		item, err = q.UpdatePortfolioItem(ctx, store.UpdatePortfolioItemParams{
			ID: id, Title: in.Title, Description: in.Description, ImageUrl: in.ImageURL,
			ProjectUrl: in.ProjectURL, GigID: in.GigID,
		})
		return err
	})
	return toPortfolio(item), apperr.Wrap("update portfolio item", err)
}

// RemovePortfolioItem deletes an item (owner or STAFF).
func (s *Service) RemovePortfolioItem(ctx context.Context, p identity.Principal, id uuid.UUID) error {
	err := s.editPortfolio(ctx, p, id, func(q *store.Queries, _ Portfolio) error {
		return q.DeletePortfolioItem(ctx, id)
	})
	return apperr.Wrap("remove portfolio item", err)
}

func (s *Service) editPortfolio(ctx context.Context, p identity.Principal, id uuid.UUID, fn func(*store.Queries, Portfolio) error) error {
	if _, err := p.SignedIn(); err != nil {
		return err
	}
	return pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		item, err := q.GetPortfolioItemForUpdate(ctx, id)
		if err != nil {
			return pg.NotFound(err, "portfolio item")
		}
		if !ownsOrStaff(p, item.FreelancerID) {
			return apperr.Forbidden("only the item's freelancer or STAFF can change it")
		}
		return fn(q, toPortfolio(item))
	})
}

// PortfolioByFreelancers returns one page of each freelancer's portfolio,
// newest first, in one statement. Portfolios are public.
func (s *Service) PortfolioByFreelancers(ctx context.Context, ids []uuid.UUID, first int, after *string) (map[uuid.UUID]paging.Page[Portfolio], error) {
	params := store.PortfolioByFreelancersParams{FreelancerIds: ids, Lim: int32(first + 1)}
	if err := timeCursor(after, &params.AfterCreated, &params.AfterID); err != nil {
		return nil, err
	}
	rows, err := s.q.PortfolioByFreelancers(ctx, params)
	if err != nil {
		return nil, apperr.Wrap("list portfolio", err)
	}
	out := map[uuid.UUID]paging.Page[Portfolio]{}
	for f, items := range groupBy(mapAll(rows, toPortfolio), func(i Portfolio) uuid.UUID { return i.FreelancerID }) {
		out[f] = timePage(items, first, func(i Portfolio) (time.Time, uuid.UUID) { return i.CreatedAt, i.ID })
	}
	return out, nil
}

// GigsByFreelancers returns one page of each freelancer's gigs, newest
// first, in one statement: ACTIVE ones, plus drafts and paused ones of the
// viewer's own (of everyone's for STAFF).
func (s *Service) GigsByFreelancers(ctx context.Context, p identity.Principal, ids []uuid.UUID, first int, after *string) (map[uuid.UUID]paging.Page[Gig], error) {
	params := store.GigsByFreelancersParams{FreelancerIds: ids, AllFor: []uuid.UUID{}, Lim: int32(first + 1)}
	switch {
	case p.IsStaff():
		params.AllFor = ids
	case p.UUID() != uuid.Nil:
		params.AllFor = []uuid.UUID{p.UUID()}
	}
	if c, err := paging.Decode(after); err != nil {
		return nil, err
	} else if c != nil {
		seq, err := strconv.ParseInt(c.Key, 10, 64)
		if err != nil {
			return nil, apperr.BadInput("after", "after is not a valid cursor")
		}
		params.AfterSeq = &seq
	}
	rows, err := s.q.GigsByFreelancers(ctx, params)
	if err != nil {
		return nil, apperr.Wrap("list freelancer gigs", err)
	}
	out := map[uuid.UUID]paging.Page[Gig]{}
	for f, gs := range groupBy(mapAll(rows, toGig), func(g Gig) uuid.UUID { return g.FreelancerID }) {
		out[f] = paging.Cut(gs, first, func(g Gig) paging.Cursor {
			return paging.Cursor{Key: strconv.FormatInt(*g.Seq, 10), ID: g.ID}
		})
	}
	return out, nil
}
