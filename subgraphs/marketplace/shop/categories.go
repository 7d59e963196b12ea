package shop

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"supergraph/platform/apperr"
	"supergraph/platform/identity"
	"supergraph/platform/pg"
	"supergraph/subgraphs/marketplace/store"
)

// Categories returns the whole tree (it is small), roots and children by name.
func (s *Service) Categories(ctx context.Context) ([]Category, error) {
	rows, err := s.q.ListCategories(ctx)
	if err != nil {
		return nil, apperr.Wrap("categories", err)
	}
	return mapAll(rows, toCategory), nil
}

// SubtreeCounts returns, per category, the listed products in it and in
// every category below it.
func (s *Service) SubtreeCounts(ctx context.Context) (map[uuid.UUID]int32, error) {
	cats, err := s.Categories(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.q.ListedCountsByCategory(ctx)
	if err != nil {
		return nil, apperr.Wrap("category counts", err)
	}
	own := make(map[uuid.UUID]int32, len(rows))
	for _, r := range rows {
		own[r.CategoryID] = r.N
	}
	return subtreeSums(cats, own), nil
}

// subtreeSums adds each category's own count to it and to every ancestor.
func subtreeSums(cats []Category, own map[uuid.UUID]int32) map[uuid.UUID]int32 {
	parent := make(map[uuid.UUID]*uuid.UUID, len(cats))
	for _, c := range cats {
		parent[c.ID] = c.ParentID
	}
	out := make(map[uuid.UUID]int32, len(cats))
	for id, n := range own {
		// Walk up; len(cats) bounds the walk even if the tree were corrupt.
		for at, steps := &id, 0; at != nil && steps <= len(cats); at, steps = parent[*at], steps+1 {
			out[*at] += n
		}
	}
	return out
}

var slugPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

func requireStaff(p identity.Principal) error {
	if _, err := p.SignedIn(); err != nil {
		return err
	}
	if !p.IsStaff() {
		return apperr.Forbidden("only STAFF maintain the category tree")
	}
	return nil
}

func categoryName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if n := utf8.RuneCountInString(name); n < 1 || n > 80 {
		return "", apperr.BadInput("name", "name must be 1 to 80 characters")
	}
	return name, nil
}

// noParent makes a parentId naming no category bad input, like an
// unknown categoryId of a product.
func noParent(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return apperr.BadInput("parentId", "parentId is not a category")
	}
	return err
}

func categoryConflict(err error) error {
	switch c, ok := pg.IsUniqueViolation(err); {
	case ok && c == "product_categories_slug_key":
		return apperr.Conflict("slug", "a category with this slug already exists")
	case ok:
		return apperr.Conflict("name", "a sibling category already has this name")
	}
	return err
}

// CreateCategory adds a category under parent (nil: a root). STAFF.
func (s *Service) CreateCategory(ctx context.Context, p identity.Principal, slug, name string, parent *uuid.UUID) (Category, error) {
	if err := requireStaff(p); err != nil {
		return Category{}, err
	}
	if len(slug) > 60 || !slugPattern.MatchString(slug) {
		return Category{}, apperr.BadInput("slug", "slug must be up to 60 lower-case letters, digits and single dashes")
	}
	name, err := categoryName(name)
	if err != nil {
		return Category{}, err
	}
	if parent != nil {
		if _, err := s.q.GetCategory(ctx, *parent); err != nil {
			return Category{}, apperr.Wrap("create category", noParent(err))
		}
	}
	c, err := s.q.CreateCategory(ctx, store.CreateCategoryParams{ID: pg.NewID(), ParentID: parent, Slug: slug, Name: name})
	if err != nil {
		return Category{}, apperr.Wrap("create category", categoryConflict(err))
	}
	return toCategory(c), nil
}

// RenameCategory renames a category. STAFF.
func (s *Service) RenameCategory(ctx context.Context, p identity.Principal, id uuid.UUID, name string) (Category, error) {
	if err := requireStaff(p); err != nil {
		return Category{}, err
	}
	name, err := categoryName(name)
	if err != nil {
		return Category{}, err
	}
	c, err := s.q.RenameCategory(ctx, store.RenameCategoryParams{ID: id, Name: name})
	if err != nil {
		return Category{}, apperr.Wrap("rename category", categoryConflict(pg.NotFound(err, "category")))
	}
	return toCategory(c), nil
}

// MoveCategory moves a category and its subtree under parent (nil: to the
// top), never below itself. STAFF.
func (s *Service) MoveCategory(ctx context.Context, p identity.Principal, id uuid.UUID, parent *uuid.UUID) (Category, error) {
	if err := requireStaff(p); err != nil {
		return Category{}, err
	}
	var out store.ProductCategory
	err := pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		// Moves are rare: serialise them, so two cannot make a cycle together.
		if _, err := tx.Exec(ctx, "LOCK TABLE product_categories IN SHARE ROW EXCLUSIVE MODE"); err != nil {
			return err
		}
		if _, err := q.GetCategory(ctx, id); err != nil {
			return pg.NotFound(err, "category")
		}
		if parent != nil {
			if _, err := q.GetCategory(ctx, *parent); err != nil {
				return noParent(err)
			}
			cycle, err := q.IsDescendant(ctx, store.IsDescendantParams{ID: id, Candidate: *parent})
			if err != nil {
				return err
			}
			if cycle {
				return apperr.BadInput("parentId", "a category cannot move below itself")
			}
		}
		var err error
		out, err = q.MoveCategory(ctx, store.MoveCategoryParams{ID: id, ParentID: parent})
		return categoryConflict(err)
	})
	if err != nil {
		return Category{}, apperr.Wrap("move category", err)
	}
	s.searchChanged(ctx)
	return toCategory(out), nil
}

// DeleteCategory deletes a category without children or products. STAFF.
func (s *Service) DeleteCategory(ctx context.Context, p identity.Principal, id uuid.UUID) error {
	if err := requireStaff(p); err != nil {
		return err
	}
	err := pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		if _, err := tx.Exec(ctx, "LOCK TABLE product_categories IN SHARE ROW EXCLUSIVE MODE"); err != nil {
			return err
		}
		if _, err := q.GetCategory(ctx, id); err != nil {
			return pg.NotFound(err, "category")
		}
		used, err := q.CategoryInUse(ctx, id)
		if err != nil {
			return err
		}
		if used {
			return apperr.Conflict("id", "the category still has subcategories or products")
		}
		return q.DeleteCategory(ctx, id)
	})
	return apperr.Wrap("delete category", err)
}
