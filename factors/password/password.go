// Package password hashes and verifies passwords (and client secrets) with
// argon2id, storing PHC-formatted strings:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt b64>$<hash b64>
//
// Verification is constant-time, reports whether a stored hash uses weaker
// parameters than the current ones (so callers can re-hash on the next
// successful sign-in), and VerifyDummy burns the same time for an unknown
// user so that response timing does not reveal which accounts exist. A
// Hasher built WithGate runs its verifications under a process-wide
// concurrency cap (gate.go) and answers ErrBusy past it.
package password

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id cost parameters.
type Params struct {
	Memory      uint32 // KiB
	Iterations  uint32
	Parallelism uint8
	SaltLen     uint32
	KeyLen      uint32
}

// OWASP is the OWASP Password Storage Cheat Sheet minimum for argon2id:
// m=19 MiB, t=2, p=1.
var OWASP = Params{Memory: 19456, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}

// Limits on accepted input, so a hostile caller cannot make us hash a
// megabyte or parse absurd parameters out of a corrupted record.
const (
	MaxLength = 1024
	maxMemory = 4 << 20 // 4 GiB in KiB
	maxIter   = 64
)

// ErrMalformedHash is returned for a stored hash that is not a PHC argon2id string.
var ErrMalformedHash = errors.New("password hash is not a valid argon2id PHC string")

// ErrTooLong is returned by Hash for inputs over MaxLength bytes.
var ErrTooLong = fmt.Errorf("password is longer than %d bytes", MaxLength)

// Hasher hashes and verifies passwords. It is safe for concurrent use.
type Hasher struct {
	params Params
	rand   io.Reader
	dummy  string
	gate   *Gate
}

// Option configures New.
type Option func(*Hasher)

// WithGate runs every Verify and VerifyDummy through g: at most g's slots
// at once, the queue waiting, ErrBusy beyond. Servers share one Gate for
// everything that verifies an argon2id hash (user passwords, legacy client
// secrets). Hash is not gated: it runs for administrators and after a
// successful sign-in, never for an unauthenticated caller.
func WithGate(g *Gate) Option { return func(h *Hasher) { h.gate = g } }

// New returns a Hasher using params (zero value: OWASP) and rand for salts
// (crypto/rand.Reader in production).
func New(params Params, rand io.Reader, opts ...Option) (*Hasher, error) {
	if params == (Params{}) {
		params = OWASP
	}
	if params.Memory == 0 || params.Iterations == 0 || params.Parallelism == 0 || params.SaltLen < 16 || params.KeyLen < 16 {
		return nil, fmt.Errorf("password: invalid argon2id parameters %+v", params)
	}
	h := &Hasher{params: params, rand: rand}
	// The dummy hash has the current parameters, so verifying against it
	// costs exactly what verifying a real user's password costs.
	dummy, err := h.Hash("faceidp-dummy-password-for-timing")
	if err != nil {
		return nil, fmt.Errorf("password: make dummy hash: %w", err)
	}
	h.dummy = dummy
	for _, o := range opts {
		o(h)
	}
	return h, nil
}

// Gate returns the Gate the Hasher verifies under (nil: none).
func (h *Hasher) Gate() *Gate { return h.gate }

// Params returns the parameters new hashes use.
func (h *Hasher) Params() Params { return h.params }

// Hash returns the PHC string for password with a fresh random salt.
func (h *Hasher) Hash(password string) (string, error) {
	if len(password) > MaxLength {
		return "", ErrTooLong
	}
	salt := make([]byte, h.params.SaltLen)
	if _, err := io.ReadFull(h.rand, salt); err != nil {
		return "", fmt.Errorf("password: read salt: %w", err)
	}
	p := h.params
	key := argon2.IDKey([]byte(password), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Iterations, p.Parallelism,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// Verify reports whether password matches encoded. needsRehash is true when
// encoded was made with weaker parameters than the Hasher's current ones.
// A malformed encoded value is an error, never a match. With a Gate it
// returns ErrBusy, having computed nothing, when the Gate is full.
func (h *Hasher) Verify(encoded, password string) (ok, needsRehash bool, err error) {
	p, salt, want, err := decode(encoded)
	if err != nil {
		return false, false, err
	}
	tooLong := len(password) > MaxLength
	if tooLong {
		password = password[:MaxLength] // still spend the time, then fail
	}
	var got []byte
	if err := h.run(func() {
		got = argon2.IDKey([]byte(password), salt, p.Iterations, p.Memory, p.Parallelism, uint32(len(want)))
	}); err != nil {
		return false, false, err
	}
	if subtle.ConstantTimeCompare(got, want) != 1 || tooLong {
		return false, false, nil
	}
	cur := h.params
	needsRehash = p.Memory < cur.Memory || p.Iterations < cur.Iterations || p.Parallelism < cur.Parallelism ||
		uint32(len(want)) < cur.KeyLen || uint32(len(salt)) < cur.SaltLen
	return true, needsRehash, nil
}

// run runs an argon2id computation, under the Gate if there is one. The
// wait for a slot is bounded by the queue length times one computation, so
// it needs no context.
func (h *Hasher) run(fn func()) error {
	if h.gate == nil {
		fn()
		return nil
	}
	return h.gate.Do(context.Background(), fn)
}

// VerifyDummy spends the time of one Verify against a fixed hash and always
// fails. Call it when the account does not exist (or cannot sign in) so the
// response takes as long as a wrong password for a real account. It returns
// ErrBusy when the Gate is full, exactly as Verify would for a real
// account, so callers answer both alike.
func (h *Hasher) VerifyDummy(password string) error {
	_, _, err := h.Verify(h.dummy, password)
	return err
}

func decode(encoded string) (Params, []byte, []byte, error) {
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return Params{}, nil, nil, ErrMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return Params{}, nil, nil, ErrMalformedHash
	}
	var p Params
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Iterations, &p.Parallelism); err != nil || n != 3 {
		return Params{}, nil, nil, ErrMalformedHash
	}
	if p.Memory < 8*uint32(p.Parallelism) || p.Memory > maxMemory || p.Iterations == 0 || p.Iterations > maxIter || p.Parallelism == 0 {
		return Params{}, nil, nil, ErrMalformedHash
	}
	salt, err := base64.RawStdEncoding.Strict().DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return Params{}, nil, nil, ErrMalformedHash
	}
	hash, err := base64.RawStdEncoding.Strict().DecodeString(parts[5])
	if err != nil || len(hash) < 16 || len(hash) > 128 {
		return Params{}, nil, nil, ErrMalformedHash
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(hash))
	return p, salt, hash, nil
}
