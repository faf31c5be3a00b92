package clientsecret

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/faceidp/faceidp/factors/password"
	"github.com/faceidp/faceidp/keyring"
)

func ring(t *testing.T, ids ...string) *keyring.Keyring {
	t.Helper()
	var keys []keyring.Key
	for i, id := range ids {
		keys = append(keys, keyring.Key{ID: id, Secret: bytes.Repeat([]byte{byte(i + 1)}, keyring.KeySize)})
	}
	kr, err := keyring.New(keys, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

var fastArgon = password.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

func newHasher(t *testing.T, kr *keyring.Keyring) *Hasher {
	t.Helper()
	legacy, err := password.New(fastArgon, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(kr, legacy, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestGeneratedSecretsHave256BitsAndVerify(t *testing.T) {
	h := newHasher(t, ring(t, "k1"))
	s1, err := h.Generate()
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := h.Generate()
	raw, err := base64.RawURLEncoding.DecodeString(s1)
	if err != nil || len(raw) != SecretBytes || s1 == s2 {
		t.Fatalf("Generate = %q (%d bytes, err %v), then %q", s1, len(raw), err, s2)
	}
	if err := CheckSupplied(s1); err != nil {
		t.Errorf("a generated secret fails CheckSupplied: %v", err)
	}
	enc, err := h.Hash("app", s1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$hmac-sha256$k=k1$") || strings.Contains(enc, s1) {
		t.Fatalf("stored form %q", enc)
	}
	if ok, rehash, err := h.Verify("app", enc, s1); !ok || rehash || err != nil {
		t.Errorf("Verify(right) = %v, %v, %v", ok, rehash, err)
	}
	for name, c := range map[string][2]string{
		"wrong secret":    {"app", s2},
		"other client":    {"app2", s1},
		"shifted id":      {"ap", "p" + s1},
		"empty secret":    {"app", ""},
		"over-long input": {"app", s1 + strings.Repeat("x", MaxLength)},
	} {
		if ok, _, err := h.Verify(c[0], enc, c[1]); ok || err != nil {
			t.Errorf("%s: Verify = %v, %v; want false, nil", name, ok, err)
		}
	}
}

// A hash made under an older master key still verifies after a rotation
// and asks to be replaced; once the old key is gone it is an error, never
// a match.
func TestMasterKeyRotation(t *testing.T) {
	old := newHasher(t, ring(t, "k1"))
	enc, _ := old.Hash("app", "s3cret-s3cret-s3cret")
	rotated := newHasher(t, ring(t, "k1", "k2"))
	if ok, rehash, err := rotated.Verify("app", enc, "s3cret-s3cret-s3cret"); !ok || !rehash || err != nil {
		t.Fatalf("after rotation: Verify = %v, %v, %v; want a match that asks for a rehash", ok, rehash, err)
	}
	fresh, _ := rotated.Hash("app", "s3cret-s3cret-s3cret")
	if KeyID(fresh) != "k2" || Describe(fresh) != "hmac-sha256 (key k2)" {
		t.Errorf("new hash under %q, described %q", KeyID(fresh), Describe(fresh))
	}
	gone := newHasher(t, ring(t, "k2"))
	if ok, _, err := gone.Verify("app", enc, "s3cret-s3cret-s3cret"); ok || !errors.Is(err, keyring.ErrUnknownKey) {
		t.Errorf("hash under a removed key: Verify = %v, %v", ok, err)
	}
}

// Hashes from before (argon2id of an operator-chosen secret) keep working
// and are marked for replacement; a wrong secret is still refused.
func TestLegacyArgon2idHashes(t *testing.T) {
	h := newHasher(t, ring(t, "k1"))
	legacy, _ := password.New(fastArgon, rand.Reader)
	enc, _ := legacy.Hash("an old sixteen+ char secret")
	if !Legacy(enc) || Describe(enc) != "argon2id (legacy)" {
		t.Fatalf("Legacy/Describe of %q", enc)
	}
	if ok, rehash, err := h.Verify("app", enc, "an old sixteen+ char secret"); !ok || !rehash || err != nil {
		t.Errorf("legacy right secret: %v, %v, %v; want a match that asks for a rehash", ok, rehash, err)
	}
	if ok, rehash, err := h.Verify("app", enc, "wrong"); ok || rehash || err != nil {
		t.Errorf("legacy wrong secret: %v, %v, %v", ok, rehash, err)
	}
	// Under a full gate nothing is hashed and the caller learns it is busy.
	gate := password.NewGate(1, 0)
	gated, _ := password.New(fastArgon, rand.Reader, password.WithGate(gate))
	busy, _ := New(ring(t, "k1"), gated, rand.Reader)
	hold, held := make(chan struct{}), make(chan struct{})
	go func() { _ = gate.Do(t.Context(), func() { close(held); <-hold }) }()
	<-held
	if ok, _, err := busy.Verify("app", enc, "an old sixteen+ char secret"); ok || !errors.Is(err, password.ErrBusy) {
		t.Errorf("legacy verify with the gate full: %v, %v; want ErrBusy", ok, err)
	}
	close(hold)
}

func TestMalformedHashesAreErrors(t *testing.T) {
	h := newHasher(t, ring(t, "k1"))
	good, _ := h.Hash("app", "x")
	for _, enc := range []string{"", "plaintext", "$hmac-sha256$k=$AAAA", "$hmac-sha256$k=k1$!!", "$hmac-sha256$k=k1$" + base64.RawStdEncoding.EncodeToString([]byte("short")), good + "x"} {
		if ok, _, err := h.Verify("app", enc, "x"); ok || err == nil {
			t.Errorf("Verify(%q) = %v, %v; want an error", enc, ok, err)
		}
	}
}

func TestCheckSuppliedRefusesWhatAPersonTypes(t *testing.T) {
	random := make([]byte, 32)
	_, _ = rand.Read(random)
	for _, ok := range []string{
		base64.StdEncoding.EncodeToString(random),    // openssl rand -base64 32
		hex.EncodeToString(random),                   // openssl rand -hex 32
		base64.RawURLEncoding.EncodeToString(random), // what Generate makes
	} {
		if err := CheckSupplied(ok); err != nil {
			t.Errorf("CheckSupplied(%q) = %v", ok, err)
		}
	}
	for _, weak := range []string{
		"0123456789abcdef-secret",                            // the old 16-character minimum
		"correct horse battery staple correct horse battery", // a passphrase (spaces: not base64)
		strings.Repeat("A", 44),                              // 32 zero bytes in base64
		strings.Repeat("0123456789abcdef", 4),                // 32 bytes, 8 distinct values
		base64.StdEncoding.EncodeToString(random[:16]),       // 128 bits
		"",
	} {
		if err := CheckSupplied(weak); !errors.Is(err, ErrWeakSecret) {
			t.Errorf("CheckSupplied(%q) = %v, want ErrWeakSecret", weak, err)
		}
	}
}
