// Package account is the users service's domain: sign-up, sign-in, token
// rotation and revocation, profiles and roles. Resolvers call it; it owns the
// transactions, the profile cache and the deny-list.
package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"supergraph/platform/apperr"
	"supergraph/platform/identity"
	"supergraph/platform/outbox"
	"supergraph/platform/paging"
	"supergraph/platform/pg"
	"supergraph/platform/tasks"
	"supergraph/subgraphs/users/store"
)

// Config tunes the service.
type Config struct {
	AccessTTL  time.Duration
	RefreshTTL time.Duration
	CacheTTL   time.Duration
	// Throttle slows password guessing per account and e-mail address.
	Throttle ThrottleOptions
}

// Service implements the users domain.
type Service struct {
	pool      *pgxpool.Pool
	q         *store.Queries
	rdb       *redis.Client
	issuer    *Issuer
	passwords *Passwords
	throttle  *Throttle
	cfg       Config
	log       *slog.Logger
	// decoded remembers the last profile decoded from each cache entry's
	// text: the entry in Redis stays the truth (a changed text is decoded
	// afresh), only decoding the same JSON again is saved; it was half the
	// CPU of resolving a page of users from the cache.
	decoded *lru.Cache[uuid.UUID, decodedUser]
}

type decodedUser struct {
	raw  string
	user User
}

// New returns a Service.
func New(pool *pgxpool.Pool, rdb *redis.Client, issuer *Issuer, passwords *Passwords, cfg Config, log *slog.Logger) *Service {
	decoded, _ := lru.New[uuid.UUID, decodedUser](10_000)
	return &Service{pool: pool, q: store.New(pool), rdb: rdb, issuer: issuer, passwords: passwords,
		throttle: NewThrottle(rdb, cfg.Throttle, log), cfg: cfg, log: log, decoded: decoded}
}

// User is an account as the rest of the service sees it: never with its
// password hash. (Cached profiles are this type's JSON.)
type User struct {
	ID          uuid.UUID
	Email       string
	Username    string
	DisplayName string
	Roles       []string
	Bio         string
	AvatarUrl   *string
	Location    string
	Website     *string
	Skills      []string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Session is what sign-up, sign-in and refresh return.
type Session struct {
	AccessToken  string
	RefreshToken string
	ExpiresAt    time.Time
	User         User
}

// RegisterInput is a sign-up request.
type RegisterInput struct {
	// ID is the new account's id; zero picks a random one. Only the demo
	// seed sets it, so other services' seeds can reference demo accounts.
	ID                        uuid.UUID
	Email, Username, Password string
	DisplayName               *string
	Roles                     []string
}

// Register creates an account, signs it in and, in the same transaction,
// queues the WELCOME notification.
func (s *Service) Register(ctx context.Context, in RegisterInput) (Session, error) {
	email, err := validateEmail(in.Email)
	if err != nil {
		return Session{}, err
	}
	if err := validateUsername(in.Username); err != nil {
		return Session{}, err
	}
	if err := validatePassword("password", in.Password); err != nil {
		return Session{}, err
	}
	if err := validateRoles(in.Roles); err != nil {
		return Session{}, err
	}
	displayName := in.Username
	if in.DisplayName != nil && *in.DisplayName != "" {
		displayName = *in.DisplayName
		if err := validateText("displayName", displayName, maxDisplayName); err != nil {
			return Session{}, err
		}
	}
	// A sign-up counts against the address (its account, when it has one)
	// like a sign-in: probing which addresses have accounts costs as much as
	// guessing their passwords.
	throttle, _, err := s.throttleKey(ctx, email)
	if err != nil {
		return Session{}, fmt.Errorf("register: %w", err)
	}
	if err := s.throttle.Admit(ctx, throttle); err != nil {
		return Session{}, err
	}
	hash, err := s.passwords.Hash(ctx, in.Password)
	if err != nil {
		s.throttle.Refund(ctx, throttle)
		return Session{}, fmt.Errorf("hash password: %w", err)
	}

	var user store.User
	var refresh string
	family := uuid.New()
	id := in.ID
	if id == uuid.Nil {
		id = uuid.New()
	}
	err = pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		var err error
		user, err = q.CreateUser(ctx, store.CreateUserParams{
			ID: id, Email: email, Username: in.Username, PasswordHash: hash,
			DisplayName: displayName, Roles: dedupe(in.Roles),
		})
		if constraint, ok := pg.IsUniqueViolation(err); ok {
			if constraint == "users_username_key" {
				return apperr.Conflict("username", "username is taken")
			}
			return apperr.Conflict("email", "an account with this e-mail already exists")
		}
		if err != nil {
			return fmt.Errorf("create user: %w", err)
		}
		if refresh, err = s.newRefreshToken(ctx, q, user.ID, family); err != nil {
			return err
		}
		// The event id doubles as the outbox (and so task) id: one identity
		// from the sign-up to the stored notification.
		eventID := uuid.New()
		_, err = outbox.Add(ctx, tx, tasks.TypeNotificationDeliver, tasks.NotificationDeliver{
			EventID:     eventID.String(),
			RecipientID: user.ID.String(),
			Kind:        tasks.KindWelcome,
			Title:       "Welcome, " + user.DisplayName + "!",
			Body:        "Your account @" + user.Username + " is ready. Find gigs, products and channels to follow.",
			Link:        "/users/" + user.Username,
			CreatedAt:   user.CreatedAt,
		}, outbox.WithID(eventID))
		if err != nil {
			return err
		}
		return publishRecipient(ctx, tx, user)
	})
	if err != nil {
		return Session{}, fmt.Errorf("register: %w", err)
	}
	s.throttle.Reset(ctx, throttle) // the address's count, if any: its account starts afresh
	return s.session(user, family, refresh)
}

// publishRecipient tells the notifications service, through the outbox, what
// it needs to reach the user (address, names, roles for broadcasts): it
// cannot read this service's database.
func publishRecipient(ctx context.Context, tx pgx.Tx, u store.User) error {
	_, err := outbox.Add(ctx, tx, tasks.TypeNotificationRecipient, tasks.NotificationRecipient{
		UserID: u.ID.String(), Email: u.Email, Username: u.Username, DisplayName: u.DisplayName,
		Roles: u.Roles, Version: u.UpdatedAt,
	})
	return err
}

// errBadCredentials is the one answer for an unknown e-mail and a wrong password.
var errBadCredentials = apperr.Unauthenticated("invalid e-mail or password")

// Login signs a user in with e-mail and password.
func (s *Service) Login(ctx context.Context, email, password string) (Session, error) {
	if len(password) > 4*maxPassword || len(email) > maxEmail {
		return Session{}, errBadCredentials
	}
	email = strings.TrimSpace(email) // as sign-up stores it
	throttle, user, err := s.throttleKey(ctx, email)
	if err != nil {
		return Session{}, fmt.Errorf("login: %w", err)
	}
	if err := s.throttle.Admit(ctx, throttle); err != nil {
		return Session{}, err
	}
	// An unknown address has no hash: the check runs on a dummy.
	ok, err := s.passwords.Check(ctx, password, user.PasswordHash)
	if err != nil {
		s.throttle.Refund(ctx, throttle)
		return Session{}, err
	}
	if !ok {
		return Session{}, errBadCredentials
	}
	s.throttle.Reset(ctx, throttle)
	// The roles were read before the (slow) password check: read them again
	// under the lock a role change takes, so that a revokeRole meanwhile
	// either revokes this new session or is reflected in its token.
	family := uuid.New()
	var refresh string
	err = pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		var err error
		if user, err = q.GetUserForShare(ctx, user.ID); err != nil {
			return err
		}
		refresh, err = s.newRefreshToken(ctx, q, user.ID, family)
		return err
	})
	if err != nil {
		return Session{}, fmt.Errorf("login: %w", err)
	}
	return s.session(user, family, refresh)
}

// throttleKey names the throttle that attempts against email count on: its
// account's when it has one (however the address is spelt), else the
// address's own. user is the account, zero when there is none.
func (s *Service) throttleKey(ctx context.Context, email string) (key string, user store.User, err error) {
	user, err = s.q.GetUserByEmail(ctx, email)
	switch {
	case err == nil:
		return accountThrottle(user.ID), user, nil
	case errors.Is(err, pgx.ErrNoRows):
		return addressThrottle(email), store.User{}, nil
	default:
		return "", store.User{}, err
	}
}

var errInvalidRefresh = apperr.Unauthenticated("refresh token is invalid or expired; sign in again")

// Refresh rotates a refresh token. Presenting a token that was already used
// means it was copied: the whole family is revoked, the thief's copy and the
// owner's alike.
func (s *Service) Refresh(ctx context.Context, token string) (Session, error) {
	var (
		user    store.User
		refresh string
		family  uuid.UUID
		reused  bool
	)
	err := pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		// The user first, locked as role and password changes lock it: the
		// new access token carries the roles as they are once a concurrent
		// revokeRole has committed, and a concurrent sign-out-everywhere
		// sees (and revokes) the token this refresh adds.
		var err error
		if user, err = q.GetRefreshTokenUserForShare(ctx, hashToken(token)); errors.Is(err, pgx.ErrNoRows) {
			return errInvalidRefresh
		} else if err != nil {
			return err
		}
		row, err := q.GetRefreshTokenForUpdate(ctx, hashToken(token))
		if errors.Is(err, pgx.ErrNoRows) {
			return errInvalidRefresh
		}
		if err != nil {
			return err
		}
		family = row.FamilyID
		if row.RevokedAt != nil || time.Now().After(row.ExpiresAt) {
			return errInvalidRefresh
		}
		if row.UsedAt != nil {
			reused = true
			return q.RevokeFamily(ctx, row.FamilyID) // committed: the revocation must stick
		}
		if err := q.MarkRefreshTokenUsed(ctx, row.ID); err != nil {
			return err
		}
		refresh, err = s.newRefreshToken(ctx, q, row.UserID, row.FamilyID)
		return err
	})
	if err != nil {
		return Session{}, fmt.Errorf("refresh: %w", err)
	}
	if reused {
		s.log.WarnContext(ctx, "refresh token reuse: family revoked", "family", family)
		if err := s.denySessions(ctx, family); err != nil {
			return Session{}, err
		}
		return Session{}, apperr.Unauthenticated("refresh token was already used; every session it belongs to has been signed out")
	}
	return s.session(user, family, refresh)
}

// Logout revokes the refresh token's family and deny-lists the access token
// the request was made with (the router passes its jti in the assertion).
func (s *Service) Logout(ctx context.Context, p identity.Principal, token string) error {
	row, err := s.q.GetRefreshTokenByHash(ctx, hashToken(token))
	if errors.Is(err, pgx.ErrNoRows) {
		return errInvalidRefresh
	}
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	if !p.Anonymous() && p.UserID != row.UserID.String() {
		return apperr.Forbidden("this refresh token belongs to another user")
	}
	if err := s.q.RevokeFamily(ctx, row.FamilyID); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	if err := s.denySessions(ctx, row.FamilyID); err != nil {
		return err
	}
	if p.TokenID != "" {
		if ttl := time.Until(time.Unix(p.TokenExpiresAt, 0)); ttl > -identity.DenyMargin {
			if err := identity.Deny(ctx, s.rdb, ttl+identity.DenyMargin, identity.DenyTokenKey(p.TokenID)); err != nil {
				return fmt.Errorf("deny-list access token: %w", err)
			}
		}
	}
	return nil
}

// ChangePassword sets a new password and signs out every other session.
func (s *Service) ChangePassword(ctx context.Context, p identity.Principal, current, next string) error {
	if err := validatePassword("newPassword", next); err != nil {
		return err
	}
	id, err := p.SignedIn()
	if err != nil {
		return err
	}
	user, err := s.q.GetUser(ctx, id)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	// Guessing the current password (with a stolen access token) counts
	// against the account's sign-in throttle: it is the same secret.
	throttle := accountThrottle(id)
	if err := s.throttle.Admit(ctx, throttle); err != nil {
		return err
	}
	ok, err := s.passwords.Check(ctx, current, user.PasswordHash)
	if err != nil {
		s.throttle.Refund(ctx, throttle)
		return err
	}
	if !ok {
		return apperr.BadInput("currentPassword", "current password is wrong")
	}
	s.throttle.Reset(ctx, throttle)
	hash, err := s.passwords.Hash(ctx, next)
	if err != nil {
		return err
	}
	keep, _ := uuid.Parse(p.SessionID) // zero when unknown: then every session goes
	var revoked []uuid.UUID
	err = pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		if err := q.SetPasswordHash(ctx, store.SetPasswordHashParams{ID: id, PasswordHash: hash}); err != nil {
			return err
		}
		revoked, err = q.RevokeOtherFamilies(ctx, store.RevokeOtherFamiliesParams{UserID: id, KeepFamily: keep})
		return err
	})
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	return s.denySessions(ctx, revoked...)
}

// denySessions makes the router refuse access tokens of the given refresh
// families for as long as such a token can live, and close their live
// connections at once.
func (s *Service) denySessions(ctx context.Context, families ...uuid.UUID) error {
	if len(families) == 0 {
		return nil
	}
	keys := make([]string, len(families))
	for i, f := range families {
		keys[i] = identity.DenySessionKey(f.String())
	}
	if err := identity.Deny(ctx, s.rdb, s.cfg.AccessTTL+identity.DenyMargin, keys...); err != nil {
		return fmt.Errorf("deny-list sessions: %w", err)
	}
	return nil
}

func (s *Service) newRefreshToken(ctx context.Context, q *store.Queries, userID, family uuid.UUID) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	err := q.CreateRefreshToken(ctx, store.CreateRefreshTokenParams{
		ID: uuid.New(), FamilyID: family, UserID: userID, TokenHash: hashToken(token),
		ExpiresAt: time.Now().Add(s.cfg.RefreshTTL),
	})
	if err != nil {
		return "", fmt.Errorf("store refresh token: %w", err)
	}
	return token, nil
}

// hashToken: refresh tokens are 256 random bits, so a plain SHA-256 is as
// good as a slow hash and lets the database look them up.
func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

func (s *Service) session(user store.User, family uuid.UUID, refresh string) (Session, error) {
	access, expires, err := s.issuer.Issue(user.ID, user.Roles, family)
	if err != nil {
		return Session{}, fmt.Errorf("issue access token: %w", err)
	}
	return Session{AccessToken: access, RefreshToken: refresh, ExpiresAt: expires, User: public(user)}, nil
}

// public converts a row to a User, leaving the password hash behind.
func public(u store.User) User {
	return User{
		ID: u.ID, Email: u.Email, Username: u.Username, DisplayName: u.DisplayName, Roles: u.Roles,
		Bio: u.Bio, AvatarUrl: u.AvatarUrl, Location: u.Location, Website: u.Website, Skills: u.Skills,
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
	}
}

// --- Profiles (cached in Redis) ---

func cacheKey(id uuid.UUID) string { return "users:user:" + id.String() }

// Users returns the users with ids, in no particular order, skipping unknown
// ones. Profiles come from the cache where present; misses are loaded in one
// query and cached.
func (s *Service) Users(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]User, error) {
	out := make(map[uuid.UUID]User, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = cacheKey(id)
	}
	cached, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		// The cache is an optimisation: serve from the database when it is down.
		s.log.WarnContext(ctx, "profile cache unavailable", "err", err)
		cached = make([]any, len(ids))
	}
	var missing []uuid.UUID
	for i, v := range cached {
		str, ok := v.(string)
		if !ok {
			missing = append(missing, ids[i])
			continue
		}
		if d, hit := s.decoded.Get(ids[i]); hit && d.raw == str {
			out[ids[i]] = d.user
			continue
		}
		var u User
		if json.Unmarshal([]byte(str), &u) != nil || u.ID != ids[i] {
			missing = append(missing, ids[i])
			continue
		}
		s.decoded.Add(ids[i], decodedUser{raw: str, user: u})
		out[u.ID] = u
	}
	if len(missing) == 0 {
		return out, nil
	}
	rows, err := s.q.GetUsers(ctx, missing)
	if err != nil {
		return nil, fmt.Errorf("load users: %w", err)
	}
	pipe := s.rdb.Pipeline()
	for _, row := range rows {
		u := public(row)
		out[u.ID] = u
		if data, err := json.Marshal(u); err == nil {
			pipe.Set(ctx, cacheKey(u.ID), data, s.cfg.CacheTTL)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		s.log.WarnContext(ctx, "profile cache write failed", "err", err)
	}
	return out, nil
}

// User returns one user or NOT_FOUND.
func (s *Service) User(ctx context.Context, id uuid.UUID) (User, error) {
	users, err := s.Users(ctx, []uuid.UUID{id})
	if err != nil {
		return User{}, err
	}
	u, ok := users[id]
	if !ok {
		return User{}, apperr.NotFound("user")
	}
	return u, nil
}

// UserByUsername returns a user by username or NOT_FOUND.
func (s *Service) UserByUsername(ctx context.Context, username string) (User, error) {
	u, err := s.q.GetUserByUsername(ctx, username)
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, apperr.NotFound("user")
	}
	if err != nil {
		return User{}, fmt.Errorf("user by username: %w", err)
	}
	return public(u), nil
}

// invalidate drops a user's cached profile after a write. A failure is
// logged: the entry expires on its own after CacheTTL.
func (s *Service) invalidate(ctx context.Context, id uuid.UUID) {
	if err := s.rdb.Del(ctx, cacheKey(id)).Err(); err != nil {
		s.log.WarnContext(ctx, "profile cache invalidation failed", "user", id, "err", err)
	}
}

// ProfileInput is a partial profile update; nil fields stay as they are, and
// an empty avatarUrl or website clears it.
type ProfileInput struct {
	DisplayName, Bio, AvatarURL, Location, Website *string
	Skills                                         []string
	SkillsSet                                      bool
}

// UpdateProfile changes the signed-in user's profile.
func (s *Service) UpdateProfile(ctx context.Context, p identity.Principal, in ProfileInput) (User, error) {
	id, err := p.SignedIn()
	if err != nil {
		return User{}, err
	}
	params := store.UpdateProfileParams{ID: id}
	if in.DisplayName != nil {
		if *in.DisplayName == "" {
			return User{}, apperr.BadInput("displayName", "displayName cannot be empty")
		}
		if err := validateText("displayName", *in.DisplayName, maxDisplayName); err != nil {
			return User{}, err
		}
		params.DisplayName = in.DisplayName
	}
	if in.Bio != nil {
		if err := validateText("bio", *in.Bio, maxBio); err != nil {
			return User{}, err
		}
		params.Bio = in.Bio
	}
	if in.Location != nil {
		if err := validateText("location", *in.Location, maxShortText); err != nil {
			return User{}, err
		}
		params.Location = in.Location
	}
	if in.AvatarURL != nil {
		if err := validateURL("avatarUrl", *in.AvatarURL); err != nil {
			return User{}, err
		}
		params.SetAvatar, params.AvatarUrl = true, emptyToNil(*in.AvatarURL)
	}
	if in.Website != nil {
		if err := validateURL("website", *in.Website); err != nil {
			return User{}, err
		}
		params.SetWebsite, params.Website = true, emptyToNil(*in.Website)
	}
	if in.SkillsSet {
		if len(in.Skills) > maxSkills {
			return User{}, apperr.BadInput("skills", fmt.Sprintf("at most %d skills", maxSkills))
		}
		for _, sk := range in.Skills {
			if sk == "" || len([]rune(sk)) > maxSkill {
				return User{}, apperr.BadInput("skills", fmt.Sprintf("each skill must be 1 to %d characters", maxSkill))
			}
		}
		params.Skills = dedupe(in.Skills)
	}
	var u store.User
	err = pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		if u, err = s.q.WithTx(tx).UpdateProfile(ctx, params); err != nil {
			return err
		}
		if in.DisplayName != nil {
			return publishRecipient(ctx, tx, u)
		}
		return nil
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, apperr.NotFound("user")
	}
	if err != nil {
		return User{}, fmt.Errorf("update profile: %w", err)
	}
	s.invalidate(ctx, id)
	return public(u), nil
}

// SetRole grants (grant=true) or revokes a role. Revoking a role the user
// holds signs them out of every session at once: their access tokens carry
// the old roles, and must not keep them for the rest of their life.
func (s *Service) SetRole(ctx context.Context, actor identity.Principal, id uuid.UUID, role string, grant bool) (User, error) {
	if !grant && role == identity.RoleStaff && actor.UserID == id.String() {
		return User{}, apperr.Conflict("role", "you cannot revoke your own STAFF role")
	}
	var u store.User
	var signedOut []uuid.UUID
	err := pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		var err error
		if grant {
			u, err = q.AddRole(ctx, store.AddRoleParams{ID: id, Role: role})
		} else {
			// Locked until commit: sign-ins and refreshes wait for the change
			// (see GetUserForShare), so none mints a token with the old roles
			// in a session this revocation does not see.
			var before store.User
			if before, err = q.GetUserForUpdate(ctx, id); err != nil {
				return err
			}
			if u, err = q.RemoveRole(ctx, store.RemoveRoleParams{ID: id, Role: role}); err != nil {
				return err
			}
			if slices.Contains(before.Roles, role) {
				signedOut, err = q.RevokeOtherFamilies(ctx, store.RevokeOtherFamiliesParams{UserID: id}) // no family kept
			}
		}
		if err != nil {
			return err
		}
		return publishRecipient(ctx, tx, u)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, apperr.NotFound("user")
	}
	if err != nil {
		return User{}, fmt.Errorf("set role: %w", err)
	}
	s.invalidate(ctx, id)
	s.log.InfoContext(ctx, "role changed", "user", id, "role", role, "grant", grant, "by", actor.UserID, "sessions_ended", len(signedOut))
	if err := s.denySessions(ctx, signedOut...); err != nil {
		return User{}, err
	}
	return public(u), nil
}

// ListFilter narrows Users.
type ListFilter struct {
	Search *string
	Role   *string
}

// defaultFirst is the page size when the client gives none.
const defaultFirst = 20

// ListUsers returns one page of users, newest first, to STAFF. after is the
// previous page's last cursor.
func (s *Service) ListUsers(ctx context.Context, p identity.Principal, f ListFilter, first *int32, after *string) (paging.Page[User], error) {
	if p.Anonymous() {
		return paging.Page[User]{}, apperr.Unauthenticated("sign in to do this")
	}
	if !p.IsStaff() {
		return paging.Page[User]{}, apperr.Forbidden("only STAFF may list users")
	}
	n, err := paging.First(first, defaultFirst)
	if err != nil {
		return paging.Page[User]{}, err
	}
	cursor, err := paging.Decode(after)
	if err != nil {
		return paging.Page[User]{}, err
	}
	params := store.ListUsersParams{Search: f.Search, Role: f.Role, Lim: int32(n + 1)} // one extra row tells whether there is a next page
	if cursor != nil {
		t, err := cursor.Time()
		if err != nil {
			return paging.Page[User]{}, err
		}
		params.AfterCreated, params.AfterID = &t, &cursor.ID
	}
	if f.Search != nil && len(*f.Search) > maxShortText {
		return paging.Page[User]{}, apperr.BadInput("search", "search is too long")
	}
	rows, err := s.q.ListUsers(ctx, params)
	if err != nil {
		return paging.Page[User]{}, fmt.Errorf("list users: %w", err)
	}
	users := make([]User, len(rows))
	for i, r := range rows {
		users[i] = public(r)
	}
	page := paging.Cut(users, n, func(u User) paging.Cursor { return paging.TimeCursor(u.CreatedAt, u.ID) })
	page.HasPrevious = cursor != nil
	return page, nil
}

// MaySeeEmail reports whether p may read u's e-mail address: u themself
// (own is true where the caller has just proven to be u, as sign-in does)
// and STAFF.
func MaySeeEmail(p identity.Principal, userID uuid.UUID, own bool) bool {
	return own || p.UserID == userID.String() || p.IsStaff()
}

// PurgeExpiredTokens deletes refresh tokens that expired over a day ago.
func (s *Service) PurgeExpiredTokens(ctx context.Context) (int64, error) {
	return s.q.DeleteExpiredRefreshTokens(ctx)
}

func emptyToNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// HasRole reports whether u holds role.
func HasRole(u User, role string) bool { return slices.Contains(u.Roles, role) }
