package users

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"supergraph/platform/apperr"
	"supergraph/platform/demo"
	"supergraph/platform/identity"
	"supergraph/subgraphs/users/account"
)

// demoUsers are the development accounts `users seed` creates, with the ids
// other services' seeds reference (platform/demo); all share the seed
// password (USERS_SEED_PASSWORD, stated in the README).
var demoUsers = []struct {
	username, displayName string
	roles                 []string
	staff                 bool
}{
	{demo.Admin, "Platform Admin", nil, true},
	{demo.Alice, "Alice Freelancer", []string{identity.RoleFreelancer}, false},
	{demo.Bob, "Bob Seller", []string{identity.RoleSeller}, false},
	{demo.Carol, "Carol Maker", []string{identity.RoleFreelancer, identity.RoleSeller}, false},
	{demo.Dave, "Dave Buyer", nil, false},
}

// Seed creates the demo accounts that do not exist yet; running it again
// changes nothing.
func Seed(ctx context.Context, accounts *account.Service, password string, log *slog.Logger) error {
	for _, d := range demoUsers {
		if _, err := accounts.UserByUsername(ctx, d.username); err == nil {
			continue
		} else if !errors.Is(err, apperr.ErrNotFound) {
			return err
		}
		name := d.displayName
		s, err := accounts.Register(ctx, account.RegisterInput{
			ID:    demo.UserID(d.username),
			Email: d.username + "@example.com", Username: d.username, Password: password,
			DisplayName: &name, Roles: d.roles,
		})
		if err != nil {
			return fmt.Errorf("seed %s: %w", d.username, err)
		}
		if d.staff {
			seeder := identity.Principal{UserID: "seed"}
			if _, err := accounts.SetRole(ctx, seeder, s.User.ID, identity.RoleStaff, true); err != nil {
				return fmt.Errorf("seed %s: %w", d.username, err)
			}
		}
		log.Info("seeded user", "username", d.username, "email", d.username+"@example.com")
	}
	return nil
}
