package password

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
)

func newHasher(t *testing.T, p Params) *Hasher {
	t.Helper()
	h, err := New(p, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHashVerifyRoundTrip(t *testing.T) {
	h := newHasher(t, Params{})
	enc, err := h.Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q does not carry OWASP parameters in PHC form", enc)
	}
	ok, rehash, err := h.Verify(enc, "correct horse battery staple")
	if err != nil || !ok || rehash {
		t.Fatalf("Verify(right) = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
	ok, _, err = h.Verify(enc, "correct horse battery stapl")
	if err != nil || ok {
		t.Fatalf("Verify(wrong) = %v, %v; want false, nil", ok, err)
	}
}

func TestSaltsComeFromInjectedReader(t *testing.T) {
	fixed := bytes.Repeat([]byte{7}, 1024)
	h1, _ := New(Params{}, bytes.NewReader(fixed))
	h2, _ := New(Params{}, bytes.NewReader(fixed))
	a, _ := h1.Hash("pw")
	b, _ := h2.Hash("pw")
	if a != b {
		t.Fatalf("same salt source gave different hashes:\n%s\n%s", a, b)
	}
	h3 := newHasher(t, Params{})
	c, _ := h3.Hash("pw")
	d, _ := h3.Hash("pw")
	if c == d {
		t.Fatal("two hashes of one password with random salts are equal")
	}
}

func TestWeakerParamsNeedRehash(t *testing.T) {
	weak := newHasher(t, Params{Memory: 8192, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32})
	enc, _ := weak.Hash("pw-longer-than-8")
	strong := newHasher(t, Params{})
	ok, rehash, err := strong.Verify(enc, "pw-longer-than-8")
	if err != nil || !ok || !rehash {
		t.Fatalf("Verify(weak hash) = %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
}

func TestMalformedHashesAreErrors(t *testing.T) {
	h := newHasher(t, Params{})
	for _, enc := range []string{
		"",
		"plaintext",
		"$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=16$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=19456,t=2,p=1$!!$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
	} {
		ok, _, err := h.Verify(enc, "pw")
		if ok || !errors.Is(err, ErrMalformedHash) {
			t.Errorf("Verify(%q) = %v, %v; want false, ErrMalformedHash", enc, ok, err)
		}
	}
}

func TestTooLong(t *testing.T) {
	h := newHasher(t, Params{})
	if _, err := h.Hash(strings.Repeat("a", MaxLength+1)); !errors.Is(err, ErrTooLong) {
		t.Fatalf("Hash(too long) err = %v", err)
	}
	enc, _ := h.Hash(strings.Repeat("a", MaxLength))
	if ok, _, _ := h.Verify(enc, strings.Repeat("a", MaxLength+1)); ok {
		t.Fatal("over-long password matched its truncation")
	}
}

func TestVerifyDummyNeverPanicsAndUsesCurrentParams(t *testing.T) {
	h := newHasher(t, Params{})
	if !strings.Contains(h.dummy, "m=19456,t=2,p=1") {
		t.Fatalf("dummy hash %q does not use current params", h.dummy)
	}
	if err := h.VerifyDummy("anything"); err != nil {
		t.Fatal(err)
	}
}

func TestInvalidParams(t *testing.T) {
	if _, err := New(Params{Memory: 1, Iterations: 1, Parallelism: 1, SaltLen: 4, KeyLen: 32}, rand.Reader); err == nil {
		t.Fatal("short salt accepted")
	}
}

func BenchmarkVerify(b *testing.B) {
	h, _ := New(Params{}, rand.Reader)
	enc, _ := h.Hash("benchmark password")
	for b.Loop() {
		h.Verify(enc, "benchmark password")
	}
}
