package account

import (
	"context"
	"time"

	"github.com/alexedwards/argon2id"

	"supergraph/platform/apperr"
)

// Passwords hashes and checks passwords with argon2id. Each hash takes the
// configured memory (64 MiB by default), so at most a few run at once: a
// flood of sign-ins waits (briefly) instead of exhausting the service's
// memory, and past the wait is told to retry.
type Passwords struct {
	params *argon2id.Params
	// dummy is compared against when the e-mail is unknown, so that a login
	// takes as long for an unknown address as for a wrong password.
	dummy string
	slots chan struct{}
	wait  time.Duration
}

// DefaultPasswordParams are argon2id's recommended parameters.
var DefaultPasswordParams = *argon2id.DefaultParams

// NewPasswords returns a hasher with params running at most concurrent
// hashes at once; a hash waits at most wait for its turn.
func NewPasswords(params argon2id.Params, concurrent int, wait time.Duration) (*Passwords, error) {
	dummy, err := argon2id.CreateHash("not a real password", &params)
	if err != nil {
		return nil, err
	}
	return &Passwords{params: &params, dummy: dummy, slots: make(chan struct{}, max(1, concurrent)), wait: wait}, nil
}

// errBusy answers a request that found every hashing slot taken for too long.
var errBusy = apperr.RateLimited("too many sign-ins at once: try again in a moment", time.Second)

func (p *Passwords) acquire(ctx context.Context) error {
	t := time.NewTimer(p.wait)
	defer t.Stop()
	select {
	case p.slots <- struct{}{}:
		return nil
	case <-t.C:
		return errBusy
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *Passwords) release() { <-p.slots }

// Hash returns the encoded hash of password.
func (p *Passwords) Hash(ctx context.Context, password string) (string, error) {
	if err := p.acquire(ctx); err != nil {
		return "", err
	}
	defer p.release()
	return argon2id.CreateHash(password, p.params)
}

// Check reports whether password matches hash; an empty hash is compared
// against a dummy so the timing does not reveal unknown accounts.
func (p *Passwords) Check(ctx context.Context, password, hash string) (bool, error) {
	if err := p.acquire(ctx); err != nil {
		return false, err
	}
	defer p.release()
	if hash == "" {
		_, _ = argon2id.ComparePasswordAndHash(password, p.dummy)
		return false, nil
	}
	ok, err := argon2id.ComparePasswordAndHash(password, hash)
	return err == nil && ok, nil
}
