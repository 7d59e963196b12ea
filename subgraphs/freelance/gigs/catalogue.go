package gigs

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"supergraph/platform/apperr"
	"supergraph/platform/identity"
	"supergraph/platform/pg"
	"supergraph/subgraphs/freelance/store"
)

// Limits of a gig, checked here with messages naming the field; the
// database's CHECK constraints back them up.
const (
	minTitle         = 5
	maxTitle         = 120
	maxDescription   = 5000
	maxTags          = 10
	maxTag           = 30
	maxPackages      = 3
	maxPackageTitle  = 80
	maxFeatures      = 10
	maxFeature       = 100
	maxPriceCents    = 100_000_000 // one million in major units
	minDeliveryDays  = 1
	maxDeliveryDays  = 90
	maxRevisions     = 100
	maxCategoryName  = 80
	defaultCurrency  = "USD"
	maxRequirements  = 5000
	maxOrderMessage  = 5000
	maxReviewComment = 5000
)

// --- Categories ---

// Categories returns the whole tree, parents before children within each
// level's position order.
func (s *Service) Categories(ctx context.Context) ([]Category, error) {
	rows, err := s.q.ListCategories(ctx)
	return mapAll(rows, toCategory), apperr.Wrap("list categories", err)
}

// CategoryInput is a new category.
type CategoryInput struct {
	Name     string
	Slug     *string
	ParentID *uuid.UUID
}

var slugPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// CreateCategory adds a category (STAFF).
func (s *Service) CreateCategory(ctx context.Context, p identity.Principal, in CategoryInput) (Category, error) {
	if !p.IsStaff() {
		return Category{}, apperr.Forbidden("requires the STAFF role")
	}
	name := strings.TrimSpace(in.Name)
	if name == "" || utf8.RuneCountInString(name) > maxCategoryName {
		return Category{}, apperr.BadInput("name", fmt.Sprintf("name must be 1 to %d characters", maxCategoryName))
	}
	slug := slugify(name)
	if in.Slug != nil {
		slug = *in.Slug
	}
	if !slugPattern.MatchString(slug) || len(slug) > 60 {
		return Category{}, apperr.BadInput("slug", "slug must be lower-case words joined by hyphens, at most 60 characters")
	}
	if in.ParentID != nil {
		ok, err := s.q.CategoryExists(ctx, *in.ParentID)
		if err != nil {
			return Category{}, apperr.Wrap("create category", err)
		}
		if !ok {
			return Category{}, apperr.BadInput("parentId", "no such category")
		}
	}
	c, err := s.q.CreateCategory(ctx, store.CreateCategoryParams{ParentID: in.ParentID, Slug: slug, Name: name})
	if constraint, ok := pg.IsUniqueViolation(err); ok {
		if constraint == "gig_categories_slug_key" {
			return Category{}, apperr.Conflict("slug", "a category with this slug exists")
		}
		return Category{}, apperr.Conflict("name", "a sibling category has this name")
	}
	return toCategory(c), apperr.Wrap("create category", err)
}

func slugify(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// --- Gigs ---

// PackageInput is one package of a gig.
type PackageInput struct {
	Tier         PackageTier
	Title        string
	Description  string
	PriceCents   int32
	DeliveryDays int32
	Revisions    int32
	Features     []string
}

// GigInput is a new gig.
type GigInput struct {
	Title, Description string
	CategoryID         uuid.UUID
	Tags               []string
	Currency           *string
	Packages           []PackageInput
	Status             *GigStatus
}

// GigUpdate changes a gig; nil fields keep their value.
type GigUpdate struct {
	Title, Description *string
	CategoryID         *uuid.UUID
	Tags               []string
	TagsSet            bool
	Currency           *string
	Packages           []PackageInput
	PackagesSet        bool
}

// CanSeeGig reports whether p may see g: ACTIVE gigs are public; drafts and
// paused gigs are their freelancer's and STAFF's; deleted gigs nobody's
// (orders reach them through their own, stricter visibility).
func CanSeeGig(p identity.Principal, g Gig) bool {
	if g.DeletedAt != nil {
		return false
	}
	return g.Status == GigStatusACTIVE || ownsOrStaff(p, g.FreelancerID)
}

func ownsOrStaff(p identity.Principal, owner uuid.UUID) bool {
	return p.IsStaff() || (p.UUID() != uuid.Nil && p.UUID() == owner)
}

// CreateGig creates a gig of the caller's, who must hold the FREELANCER role.
func (s *Service) CreateGig(ctx context.Context, p identity.Principal, in GigInput) (Gig, error) {
	return s.createGig(ctx, p, pg.NewID(), in)
}

func (s *Service) createGig(ctx context.Context, p identity.Principal, id uuid.UUID, in GigInput) (Gig, error) {
	me, err := p.SignedIn()
	if err != nil {
		return Gig{}, err
	}
	if !p.HasRole(identity.RoleFreelancer) {
		return Gig{}, apperr.Forbidden("requires the FREELANCER role")
	}
	title, description, err := validateText(in.Title, in.Description)
	if err != nil {
		return Gig{}, err
	}
	tags, err := validateTags(in.Tags)
	if err != nil {
		return Gig{}, err
	}
	currency, err := validateCurrency(in.Currency, defaultCurrency)
	if err != nil {
		return Gig{}, err
	}
	pkgs, minPrice, minDays, err := validatePackages(in.Packages)
	if err != nil {
		return Gig{}, err
	}
	status := GigStatusDRAFT
	if in.Status != nil {
		status = *in.Status
	}
	err = pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		if err := s.checkCategory(ctx, q, in.CategoryID); err != nil {
			return err
		}
		if err := q.CreateGig(ctx, store.CreateGigParams{
			ID: id, FreelancerID: me, CategoryID: in.CategoryID, Title: title, Description: description,
			Tags: tags, Currency: currency, Status: store.GigStatus(status), MinPriceCents: minPrice, MinDeliveryDays: minDays,
		}); err != nil {
			return err
		}
		return insertPackages(ctx, q, id, pkgs)
	})
	if err != nil {
		return Gig{}, apperr.Wrap("create gig", err)
	}
	s.invalidateCatalogue(ctx)
	return s.gig(ctx, id)
}

// UpdateGig edits a gig (owner or STAFF).
func (s *Service) UpdateGig(ctx context.Context, p identity.Principal, id uuid.UUID, in GigUpdate) (Gig, error) {
	err := s.editGig(ctx, p, id, func(q *store.Queries, g Gig) error {
		title, description := g.Title, g.Description
		if in.Title != nil {
			title = *in.Title
		}
		if in.Description != nil {
			description = *in.Description
		}
		title, description, err := validateText(title, description)
		if err != nil {
			return err
		}
		tags := g.Tags
		if in.TagsSet {
			if tags, err = validateTags(in.Tags); err != nil {
				return err
			}
		}
		currency, err := validateCurrency(in.Currency, g.Currency)
		if err != nil {
			return err
		}
		category := g.CategoryID
		if in.CategoryID != nil {
			category = *in.CategoryID
			if err := s.checkCategory(ctx, q, category); err != nil {
				return err
			}
		}
		minPrice, minDays := g.MinPriceCents, g.MinDeliveryDays
		if in.PackagesSet {
			var pkgs []PackageInput
			if pkgs, minPrice, minDays, err = validatePackages(in.Packages); err != nil {
				return err
			}
			if err := q.DeletePackages(ctx, id); err != nil {
				return err
			}
			if err := insertPackages(ctx, q, id, pkgs); err != nil {
				return err
			}
		}
		return q.UpdateGig(ctx, store.UpdateGigParams{
			ID: id, CategoryID: category, Title: title, Description: description, Tags: tags,
			Currency: currency, MinPriceCents: minPrice, MinDeliveryDays: minDays,
		})
	})
	if err != nil {
		return Gig{}, apperr.Wrap("update gig", err)
	}
	return s.gig(ctx, id)
}

// SetGigStatus publishes, pauses or unpublishes a gig (owner or STAFF).
func (s *Service) SetGigStatus(ctx context.Context, p identity.Principal, id uuid.UUID, status GigStatus) (Gig, error) {
	if !status.Valid() {
		return Gig{}, apperr.BadInput("status", "unknown status")
	}
	err := s.editGig(ctx, p, id, func(q *store.Queries, _ Gig) error {
		return q.SetGigStatus(ctx, store.SetGigStatusParams{ID: id, Status: store.GigStatus(status)})
	})
	if err != nil {
		return Gig{}, apperr.Wrap("set gig status", err)
	}
	return s.gig(ctx, id)
}

// DeleteGig soft-deletes a gig (owner or STAFF): it leaves the catalogue,
// and its orders keep showing it.
func (s *Service) DeleteGig(ctx context.Context, p identity.Principal, id uuid.UUID) error {
	err := s.editGig(ctx, p, id, func(q *store.Queries, _ Gig) error {
		return q.SoftDeleteGig(ctx, id)
	})
	return apperr.Wrap("delete gig", err)
}

// editGig locks a gig the caller may change and runs fn in that transaction.
// A gig the caller cannot see is NOT_FOUND; one they see but do not own is
// FORBIDDEN. Once it commits, the catalogue cache is invalidated.
func (s *Service) editGig(ctx context.Context, p identity.Principal, id uuid.UUID, fn func(*store.Queries, Gig) error) error {
	if _, err := p.SignedIn(); err != nil {
		return err
	}
	err := pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		g, err := q.GetGigForUpdate(ctx, id)
		if err != nil {
			return pg.NotFound(err, "gig")
		}
		if !CanSeeGig(p, toGig(g)) {
			return apperr.NotFound("gig")
		}
		if !ownsOrStaff(p, g.FreelancerID) {
			return apperr.Forbidden("only the gig's freelancer or STAFF can change it")
		}
		return fn(q, toGig(g))
	})
	if err == nil {
		s.invalidateCatalogue(ctx)
	}
	return err
}

func (s *Service) checkCategory(ctx context.Context, q *store.Queries, id uuid.UUID) error {
	ok, err := q.CategoryExists(ctx, id)
	if err != nil {
		return err
	}
	if !ok {
		return apperr.BadInput("categoryId", "no such category")
	}
	return nil
}

func insertPackages(ctx context.Context, q *store.Queries, gigID uuid.UUID, pkgs []PackageInput) error {
	rows := make([]store.InsertPackagesParams, len(pkgs))
	for i, p := range pkgs {
		rows[i] = store.InsertPackagesParams{
			GigID: gigID, Tier: store.PackageTier(p.Tier), Title: p.Title, Description: p.Description, PriceCents: p.PriceCents,
			DeliveryDays: p.DeliveryDays, Revisions: p.Revisions, Features: p.Features,
		}
	}
	_, err := q.InsertPackages(ctx, rows)
	return err
}

// gig reads one gig without visibility checks (after a write by its owner).
func (s *Service) gig(ctx context.Context, id uuid.UUID) (Gig, error) {
	rows, err := s.q.GetGigs(ctx, []uuid.UUID{id})
	if err != nil {
		return Gig{}, err
	}
	if len(rows) == 0 {
		return Gig{}, apperr.NotFound("gig")
	}
	return toGig(rows[0]), nil
}

// Gigs returns the gigs with these ids, deleted ones included; callers
// apply CanSeeGig (or an order's visibility) themselves.
func (s *Service) Gigs(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]Gig, error) {
	rows, err := s.q.GetGigs(ctx, ids)
	if err != nil {
		return nil, apperr.Wrap("get gigs", err)
	}
	return mapBy(mapAll(rows, toGig), func(g Gig) uuid.UUID { return g.ID }), nil
}

// Packages returns the packages of these gigs by tier.
func (s *Service) Packages(ctx context.Context, gigIDs []uuid.UUID) (map[uuid.UUID][]Package, error) {
	rows, err := s.q.PackagesByGigs(ctx, gigIDs)
	if err != nil {
		return nil, apperr.Wrap("get packages", err)
	}
	return groupBy(mapAll(rows, toPackage), func(p Package) uuid.UUID { return p.GigID }), nil
}

// Rating returns a gig's average rating, nil before its first review.
func Rating(sum, count int32) *float64 {
	if count == 0 {
		return nil
	}
	return ptr(float64(sum) / float64(count))
}

func validateText(title, description string) (string, string, error) {
	title = strings.TrimSpace(title)
	description = strings.TrimSpace(description)
	if n := utf8.RuneCountInString(title); n < minTitle || n > maxTitle {
		return "", "", apperr.BadInput("title", fmt.Sprintf("title must be %d to %d characters", minTitle, maxTitle))
	}
	if n := utf8.RuneCountInString(description); n < 1 || n > maxDescription {
		return "", "", apperr.BadInput("description", fmt.Sprintf("description must be 1 to %d characters", maxDescription))
	}
	return title, description, nil
}

// validateTags lower-cases, trims and de-duplicates tags: "Logo " and "logo"
// are one tag to search and filter.
func validateTags(in []string) ([]string, error) {
	tags := make([]string, 0, len(in))
	for _, t := range in {
		t = strings.ToLower(strings.Join(strings.Fields(t), " "))
		if t == "" || utf8.RuneCountInString(t) > maxTag {
			return nil, apperr.BadInput("tags", fmt.Sprintf("each tag must be 1 to %d characters", maxTag))
		}
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	if len(tags) > maxTags {
		return nil, apperr.BadInput("tags", fmt.Sprintf("at most %d tags", maxTags))
	}
	return tags, nil
}

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

func validateCurrency(in *string, def string) (string, error) {
	if in == nil {
		return def, nil
	}
	if !currencyPattern.MatchString(*in) {
		return "", apperr.BadInput("currency", "currency must be an ISO 4217 code such as USD")
	}
	return *in, nil
}

// validatePackages checks one to three packages with distinct tiers and
// returns them in tier order with the cheapest price and fastest delivery.
func validatePackages(in []PackageInput) (pkgs []PackageInput, minPrice, minDays int32, err error) {
	if len(in) < 1 || len(in) > maxPackages {
		return nil, 0, 0, apperr.BadInput("packages", "a gig has one to three packages")
	}
	seen := map[PackageTier]bool{}
	for _, p := range in {
		if !p.Tier.Valid() {
			return nil, 0, 0, apperr.BadInput("packages", "unknown tier")
		}
		if seen[p.Tier] {
			return nil, 0, 0, apperr.BadInput("packages", fmt.Sprintf("tier %s appears twice", p.Tier))
		}
		seen[p.Tier] = true
		p.Title = strings.TrimSpace(p.Title)
		p.Description = strings.TrimSpace(p.Description)
		switch {
		case p.Title == "" || utf8.RuneCountInString(p.Title) > maxPackageTitle:
			return nil, 0, 0, apperr.BadInput("packages", fmt.Sprintf("%s: title must be 1 to %d characters", p.Tier, maxPackageTitle))
		case utf8.RuneCountInString(p.Description) > maxDescription:
			return nil, 0, 0, apperr.BadInput("packages", fmt.Sprintf("%s: description is too long", p.Tier))
		case p.PriceCents <= 0 || p.PriceCents > maxPriceCents:
			return nil, 0, 0, apperr.BadInput("packages", fmt.Sprintf("%s: priceCents must be between 1 and %d", p.Tier, maxPriceCents))
		case p.DeliveryDays < minDeliveryDays || p.DeliveryDays > maxDeliveryDays:
			return nil, 0, 0, apperr.BadInput("packages", fmt.Sprintf("%s: deliveryDays must be %d to %d", p.Tier, minDeliveryDays, maxDeliveryDays))
		case p.Revisions < 0 || p.Revisions > maxRevisions:
			return nil, 0, 0, apperr.BadInput("packages", fmt.Sprintf("%s: revisions must be 0 to %d", p.Tier, maxRevisions))
		case len(p.Features) > maxFeatures:
			return nil, 0, 0, apperr.BadInput("packages", fmt.Sprintf("%s: at most %d features", p.Tier, maxFeatures))
		}
		features := make([]string, 0, len(p.Features))
		for _, f := range p.Features {
			f = strings.TrimSpace(f)
			if f == "" || utf8.RuneCountInString(f) > maxFeature {
				return nil, 0, 0, apperr.BadInput("packages", fmt.Sprintf("%s: each feature must be 1 to %d characters", p.Tier, maxFeature))
			}
			features = append(features, f)
		}
		p.Features = features
		pkgs = append(pkgs, p)
		if minPrice == 0 || p.PriceCents < minPrice {
			minPrice = p.PriceCents
		}
		if minDays == 0 || p.DeliveryDays < minDays {
			minDays = p.DeliveryDays
		}
	}
	slices.SortFunc(pkgs, func(a, b PackageInput) int { return tierRank(a.Tier) - tierRank(b.Tier) })
	return pkgs, minPrice, minDays, nil
}

func tierRank(t PackageTier) int {
	switch t {
	case PackageTierBASIC:
		return 0
	case PackageTierSTANDARD:
		return 1
	default:
		return 2
	}
}
