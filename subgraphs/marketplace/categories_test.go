package marketplace_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
	"supergraph/platform/subgraph/subgraphtest"
)

const (
	createCategory = `mutation($in: CreateProductCategoryInput!) { createProductCategory(input: $in) { id slug name parent { id } } }`
	renameCategory = `mutation($id: ID!, $n: String!) { renameProductCategory(id: $id, name: $n) { id name } }`
	moveCategory   = `mutation($id: ID!, $p: ID) { moveProductCategory(id: $id, parentId: $p) { id parent { id } } }`
	deleteCategory = `mutation($id: ID!) { deleteProductCategory(id: $id) }`
)

// tree reads productCategories: every category by id, with its parent id.
func (e *env) tree() map[string]map[string]any {
	e.T.Helper()
	r := e.Do(e.Anonymous(), `{ productCategories { id slug name productCount parent { id } children { id } } }`, nil).NoErrors(e.T)
	out := map[string]map[string]any{}
	for _, c := range r.Data["productCategories"].([]any) {
		out[c.(map[string]any)["id"].(string)] = c.(map[string]any)
	}
	return out
}

func TestOnlyStaffMaintainTheCategoryTree(t *testing.T) {
	t.Parallel()
	e := setup(t)
	root := e.category("electronics", nil)
	leaf := e.category("phones", &root)

	callers := map[string]subgraphtest.Caller{
		"seller":    e.as(newPerson(identity.RoleSeller)),
		"moderator": e.as(newPerson(identity.RoleModerator)),
		"user":      e.as(newPerson()),
	}
	for name, c := range callers {
		t.Run(name, func(t *testing.T) {
			r := e.Do(c, createCategory, vars{"in": vars{"slug": "nope", "name": "Nope"}})
			require.Equal(t, "FORBIDDEN", r.Code(t))
			require.Equal(t, "FORBIDDEN", e.Do(c, renameCategory, vars{"id": leaf, "n": "Mobiles"}).Code(t))
			require.Equal(t, "FORBIDDEN", e.Do(c, moveCategory, vars{"id": leaf, "p": nil}).Code(t))
			require.Equal(t, "FORBIDDEN", e.Do(c, deleteCategory, vars{"id": leaf}).Code(t))
		})
	}
	anon := e.Anonymous()
	require.Equal(t, "UNAUTHENTICATED", e.Do(anon, createCategory, vars{"in": vars{"slug": "nope", "name": "Nope"}}).Code(t))
	require.Equal(t, "UNAUTHENTICATED", e.Do(anon, deleteCategory, vars{"id": leaf}).Code(t))

	// Nothing changed.
	tree := e.tree()
	require.Len(t, tree, 2)
	require.Equal(t, "Category phones", tree[leaf]["name"])
	require.Equal(t, root, str(tree[leaf], "parent", "id"))
}

func TestCategoryCreateRenameMoveDelete(t *testing.T) {
	t.Parallel()
	e := setup(t)
	s := e.as(staff)

	r := e.Do(s, createCategory, vars{"in": vars{"slug": "home", "name": "  Home  "}}).NoErrors(t)
	home := str(r.Data, "createProductCategory", "id")
	require.Equal(t, "Home", str(r.Data, "createProductCategory", "name"), "names are trimmed")
	require.Nil(t, field(r.Data, "createProductCategory", "parent"))
	kitchen := e.category("kitchen", &home)
	knives := e.category("knives", &kitchen)
	garden := e.category("garden", &home)
	tools := e.category("tools", nil)

	// Rename.
	r = e.Do(s, renameCategory, vars{"id": kitchen, "n": " Kitchen & dining "}).NoErrors(t)
	require.Equal(t, "Kitchen & dining", str(r.Data, "renameProductCategory", "name"))
	r = e.Do(s, renameCategory, vars{"id": kitchen, "n": "KITCHEN & DINING"}).NoErrors(t)
	require.Equal(t, "KITCHEN & DINING", str(r.Data, "renameProductCategory", "name"), "a new case of its own name is no conflict")

	// Move a subtree: its children come along.
	r = e.Do(s, moveCategory, vars{"id": kitchen, "p": tools}).NoErrors(t)
	require.Equal(t, tools, str(r.Data, "moveProductCategory", "parent", "id"))
	tree := e.tree()
	require.Equal(t, kitchen, str(tree[knives], "parent", "id"))
	require.Equal(t, tools, str(tree[kitchen], "parent", "id"))
	require.Equal(t, []any{map[string]any{"id": kitchen}}, tree[tools]["children"])
	require.Equal(t, []any{map[string]any{"id": garden}}, tree[home]["children"])
	// ... and to the top.
	r = e.Do(s, moveCategory, vars{"id": kitchen, "p": nil}).NoErrors(t)
	require.Nil(t, field(r.Data, "moveProductCategory", "parent"))
	require.Nil(t, e.tree()[kitchen]["parent"])

	// Never below itself.
	for _, p := range []string{kitchen, knives} {
		r = e.Do(s, moveCategory, vars{"id": kitchen, "p": p})
		require.Equal(t, "BAD_USER_INPUT", r.Code(t))
		require.Equal(t, "parentId", r.Field(t))
	}
	deeper := e.category("paring-knives", &knives)
	require.Equal(t, "BAD_USER_INPUT", e.Do(s, moveCategory, vars{"id": kitchen, "p": deeper}).Code(t))
	require.Nil(t, e.tree()[kitchen]["parent"], "a refused move changes nothing")

	// Unknown ids.
	unknown := "00000000-0000-0000-0000-000000000001"
	require.Equal(t, "NOT_FOUND", e.Do(s, renameCategory, vars{"id": unknown, "n": "X"}).Code(t))
	require.Equal(t, "NOT_FOUND", e.Do(s, moveCategory, vars{"id": unknown, "p": nil}).Code(t))
	r = e.Do(s, moveCategory, vars{"id": kitchen, "p": unknown})
	require.Equal(t, "BAD_USER_INPUT", r.Code(t), "like an unknown categoryId of a product")
	require.Equal(t, "parentId", r.Field(t))
	r = e.Do(s, createCategory, vars{"in": vars{"slug": "orphan", "name": "Orphan", "parentId": unknown}})
	require.Equal(t, "BAD_USER_INPUT", r.Code(t))
	require.Equal(t, "parentId", r.Field(t))
	require.Equal(t, "NOT_FOUND", e.Do(s, deleteCategory, vars{"id": unknown}).Code(t))
	r = e.Do(s, deleteCategory, vars{"id": "not-an-id"})
	require.Equal(t, "BAD_USER_INPUT", r.Code(t))
	require.Equal(t, "id", r.Field(t))

	// Delete: only empty ones.
	r = e.Do(s, deleteCategory, vars{"id": knives})
	require.Equal(t, "CONFLICT", r.Code(t), "it has a child")
	seller := newPerson(identity.RoleSeller)
	e.product(seller, garden, "Garden hose", 1500, withStatus("DRAFT"))
	require.Equal(t, "CONFLICT", e.Do(s, deleteCategory, vars{"id": garden}).Code(t), "it has a product, even a draft")
	r = e.Do(s, deleteCategory, vars{"id": deeper}).NoErrors(t)
	require.Equal(t, true, r.Data["deleteProductCategory"])
	r = e.Do(s, deleteCategory, vars{"id": knives}).NoErrors(t)
	require.Equal(t, true, r.Data["deleteProductCategory"], "empty once its child is gone")
	tree = e.tree()
	require.NotContains(t, tree, knives)
	require.NotContains(t, tree, deeper)
	require.Len(t, tree, 4)
	require.Equal(t, []any{}, tree[kitchen]["children"])
}

func TestCategoryValidationAndConflicts(t *testing.T) {
	t.Parallel()
	e := setup(t)
	s := e.as(staff)
	books := e.category("books", nil)
	fiction := e.categoryNamed("fiction", "Fiction", &books)
	music := e.category("music", nil)

	for _, tc := range []struct {
		slug, name, field string
	}{
		{"Bad Slug", "Fine", "slug"},
		{"bad_slug", "Fine", "slug"},
		{"-leading", "Fine", "slug"},
		{"double--dash", "Fine", "slug"},
		{"", "Fine", "slug"},
		{strings.Repeat("a", 61), "Fine", "slug"},
		{"fine", "", "name"},
		{"fine", "   ", "name"},
		{"fine", strings.Repeat("n", 81), "name"},
	} {
		r := e.Do(s, createCategory, vars{"in": vars{"slug": tc.slug, "name": tc.name}})
		require.Equal(t, "BAD_USER_INPUT", r.Code(t), "%q %q", tc.slug, tc.name)
		require.Equal(t, tc.field, r.Field(t), "%q %q", tc.slug, tc.name)
	}
	e.categoryNamed(strings.Repeat("a", 60), strings.Repeat("n", 80), nil) // the limits themselves are fine
	r := e.Do(s, createCategory, vars{"in": vars{"slug": "x", "name": "X", "parentId": "nope"}})
	require.Equal(t, "BAD_USER_INPUT", r.Code(t))
	require.Equal(t, "parentId", r.Field(t))

	// Slugs are unique across the tree.
	r = e.Do(s, createCategory, vars{"in": vars{"slug": "fiction", "name": "Other fiction", "parentId": music}})
	require.Equal(t, "CONFLICT", r.Code(t))
	require.Equal(t, "slug", r.Field(t))
	// Sibling names are unique regardless of case; roots are siblings too.
	r = e.Do(s, createCategory, vars{"in": vars{"slug": "fiction-2", "name": " FICTION ", "parentId": books}})
	require.Equal(t, "CONFLICT", r.Code(t))
	require.Equal(t, "name", r.Field(t))
	r = e.Do(s, createCategory, vars{"in": vars{"slug": "books-2", "name": "category BOOKS"}})
	require.Equal(t, "CONFLICT", r.Code(t))
	require.Equal(t, "name", r.Field(t))
	// The same name elsewhere is fine.
	musicFiction := e.categoryNamed("music-fiction", "Fiction", &music)

	// Renames and moves meet the same rule.
	poetry := e.categoryNamed("poetry", "Poetry", &books)
	r = e.Do(s, renameCategory, vars{"id": poetry, "n": "fiction"})
	require.Equal(t, "CONFLICT", r.Code(t))
	require.Equal(t, "name", r.Field(t))
	r = e.Do(s, renameCategory, vars{"id": poetry, "n": strings.Repeat("n", 81)})
	require.Equal(t, "BAD_USER_INPUT", r.Code(t))
	require.Equal(t, "name", r.Field(t))
	r = e.Do(s, moveCategory, vars{"id": musicFiction, "p": books})
	require.Equal(t, "CONFLICT", r.Code(t))
	require.Equal(t, "name", r.Field(t))
	e.Do(s, moveCategory, vars{"id": fiction, "p": nil}).NoErrors(t)
	r = e.Do(s, moveCategory, vars{"id": musicFiction, "p": nil})
	require.Equal(t, "CONFLICT", r.Code(t), "a root is called Fiction now")
	require.Equal(t, "name", r.Field(t))
	require.Equal(t, music, str(e.tree()[musicFiction], "parent", "id"))
}

func TestProductCountSumsListedProductsOverSubtrees(t *testing.T) {
	t.Parallel()
	e := setup(t)
	seller := newPerson(identity.RoleSeller)
	elec := e.category("electronics", nil)
	phones := e.category("phones", &elec)
	smart := e.category("smartphones", &phones)
	audio := e.category("audio", &elec)
	books := e.category("books", nil)
	empty := e.category("empty", nil)

	e.product(seller, smart, "Smartphone one", 10000)
	e.product(seller, smart, "Smartphone two", 20000)
	soldOut := e.product(seller, phones, "Phone sold out", 5000)
	e.update(seller, soldOut, vars{"stock": 0})
	e.product(seller, elec, "Electronics grab bag", 900)
	e.product(seller, audio, "Radio listed", 3000)
	e.product(seller, audio, "Radio draft", 3000, withStatus("DRAFT"))
	archived := e.product(seller, phones, "Phone archived", 3000)
	e.Do(e.as(seller), `mutation($id: ID!) { setProductStatus(id: $id, status: ARCHIVED) { status } }`, vars{"id": archived}).NoErrors(t)
	deleted := e.product(seller, smart, "Smartphone deleted", 3000)
	e.Do(e.as(seller), `mutation($id: ID!) { deleteProduct(id: $id) }`, vars{"id": deleted}).NoErrors(t)
	e.product(seller, books, "A good book", 1200)

	counts := func() map[string]float64 {
		out := map[string]float64{}
		for id, c := range e.tree() {
			out[id] = c["productCount"].(float64)
		}
		return out
	}
	require.Equal(t, map[string]float64{
		smart:  2,
		phones: 3, // the two below, and the sold-out one (still listed)
		audio:  1,
		elec:   5, // 3 + 1 + its own
		books:  1,
		empty:  0,
	}, counts())

	// A move carries the subtree's products.
	e.Do(e.as(staff), moveCategory, vars{"id": phones, "p": books}).NoErrors(t)
	got := counts()
	require.EqualValues(t, 2, got[elec])
	require.EqualValues(t, 4, got[books])
	require.EqualValues(t, 3, got[phones])
}

func TestProductCategoriesRootsFirstSiblingsByName(t *testing.T) {
	t.Parallel()
	e := setup(t)
	zeta := e.categoryNamed("zeta", "zeta", nil)
	alpha := e.categoryNamed("alpha", "Alpha", nil)
	mid := e.categoryNamed("mid", "Mid", nil)
	// Children created out of order and with mixed case.
	zy := e.categoryNamed("zy", "y under zeta", &zeta)
	zb := e.categoryNamed("zb", "B under zeta", &zeta)
	aw := e.categoryNamed("aw", "w under alpha", &alpha)
	ac := e.categoryNamed("ac", "C under alpha", &alpha)
	deep := e.categoryNamed("deep", "Deep", &ac)
	abc := e.categoryNamed("abc", "abc", &ac)

	r := e.Do(e.Anonymous(), `{ productCategories { id } }`, nil).NoErrors(t)
	var got []string
	for _, c := range r.Data["productCategories"].([]any) {
		got = append(got, c.(map[string]any)["id"].(string))
	}
	// Roots by name, then each level, siblings by name (case aside).
	require.Equal(t, []string{alpha, mid, zeta, ac, aw, zb, zy, abc, deep}, got)
}
