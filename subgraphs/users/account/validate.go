package account

import (
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"supergraph/platform/apperr"
	"supergraph/platform/identity"
)

var usernamePattern = regexp.MustCompile(`^[a-z0-9_]{3,30}$`)

// Limits on free text, so no single field can bloat rows or responses.
const (
	minPassword    = 10
	maxPassword    = 128 // argon2id hashes any length; the cap stops hashing megabytes
	maxEmail       = 254
	maxDisplayName = 100
	maxBio         = 2000
	maxShortText   = 200
	maxURL         = 500
	maxSkills      = 30
	maxSkill       = 50
)

// selfAssignable are the roles anyone may take at sign-up.
var selfAssignable = []string{identity.RoleFreelancer, identity.RoleSeller}

func validateEmail(email string) (string, error) {
	email = strings.TrimSpace(email)
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || len(email) > maxEmail || !strings.Contains(email[strings.LastIndex(email, "@"):], ".") {
		return "", apperr.BadInput("email", "email is not a valid e-mail address")
	}
	return email, nil
}

func validateUsername(username string) error {
	if !usernamePattern.MatchString(username) {
		return apperr.BadInput("username", "username must be 3 to 30 characters of a-z, 0-9 and _")
	}
	return nil
}

func validatePassword(field, password string) error {
	n := utf8.RuneCountInString(password)
	if n < minPassword {
		return apperr.BadInput(field, "password must be at least 10 characters long")
	}
	if n > maxPassword {
		return apperr.BadInput(field, "password must be at most 128 characters long")
	}
	return nil
}

func validateRoles(roles []string) error {
	for _, r := range roles {
		if !slices.Contains(selfAssignable, r) {
			return apperr.BadInput("roles", "only FREELANCER and SELLER can be chosen at sign-up; "+r+" is granted by STAFF")
		}
	}
	return nil
}

func validateText(field, value string, max int) error {
	if utf8.RuneCountInString(value) > max {
		return apperr.BadInput(field, field+" is too long")
	}
	return nil
}

func validateURL(field, value string) error {
	if value == "" {
		return nil
	}
	if web := strings.HasPrefix(value, "https://") || strings.HasPrefix(value, "http://"); len(value) > maxURL || !web {
		return apperr.BadInput(field, field+" must be an http(s) URL")
	}
	return nil
}

// dedupe returns roles without repeats, in order.
func dedupe(values []string) []string {
	out := make([]string, 0, len(values))
	for _, v := range values {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
