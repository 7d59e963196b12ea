package account

import (
	"github.com/alexedwards/argon2id"
)

// Passwords hashes and checks passwords with argon2id.
type Passwords struct {
	params *argon2id.Params
	// dummy is compared against when the e-mail is unknown, so that a login
	// takes as long for an unknown address as for a wrong password.
	dummy string
}

// DefaultPasswordParams are argon2id's recommended parameters.
var DefaultPasswordParams = *argon2id.DefaultParams

// NewPasswords returns a hasher with params.
func NewPasswords(params argon2id.Params) (*Passwords, error) {
	dummy, err := argon2id.CreateHash("not a real password", &params)
	if err != nil {
		return nil, err
	}
	return &Passwords{params: &params, dummy: dummy}, nil
}

// Hash returns the encoded hash of password.
func (p *Passwords) Hash(password string) (string, error) {
	return argon2id.CreateHash(password, p.params)
}

// Check reports whether password matches hash; an empty hash is compared
// against a dummy so the timing does not reveal unknown accounts.
func (p *Passwords) Check(password, hash string) bool {
	if hash == "" {
		_, _ = argon2id.ComparePasswordAndHash(password, p.dummy)
		return false
	}
	ok, err := argon2id.ComparePasswordAndHash(password, hash)
	return err == nil && ok
}
