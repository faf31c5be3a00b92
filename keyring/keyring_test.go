package keyring

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
)

func key(id string, b byte) Key { return Key{ID: id, Secret: bytes.Repeat([]byte{b}, KeySize)} }

func TestSealOpenRotate(t *testing.T) {
	old, err := New([]Key{key("k1", 1)}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, sealed, err := old.Seal([]byte("descriptor"), []byte("face-template:u1"))
	if err != nil || id != "k1" {
		t.Fatalf("seal: %v %q", err, id)
	}
	if bytes.Contains(sealed, []byte("descriptor")) {
		t.Fatal("plaintext visible in sealed record")
	}
	_, again, _ := old.Seal([]byte("descriptor"), []byte("face-template:u1"))
	if bytes.Equal(sealed, again) {
		t.Fatal("two seals of the same plaintext are identical: nonce not random")
	}
	if _, err := old.Open(id, sealed, []byte("face-template:u2")); err == nil {
		t.Fatal("record opened under another record's aad")
	}

	rotated, err := New([]Key{key("k1", 1), key("k2", 2)}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	newID, resealed, changed, err := rotated.Reseal(id, sealed, []byte("face-template:u1"))
	if err != nil || !changed || newID != "k2" {
		t.Fatalf("reseal: %v changed=%v id=%q", err, changed, newID)
	}
	pt, err := rotated.Open(newID, resealed, []byte("face-template:u1"))
	if err != nil || string(pt) != "descriptor" {
		t.Fatalf("open after reseal: %v %q", err, pt)
	}
	if _, err := old.Open(newID, resealed, []byte("face-template:u1")); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("old keyring opened a k2 record: %v", err)
	}
}

func TestNewRejectsBadKeys(t *testing.T) {
	for name, keys := range map[string][]Key{
		"none":      nil,
		"short":     {{ID: "a", Secret: []byte("short")}},
		"no id":     {{Secret: make([]byte, KeySize)}},
		"duplicate": {key("a", 1), key("a", 2)},
	} {
		if _, err := New(keys, rand.Reader); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestMAC(t *testing.T) {
	kr, err := New([]Key{key("k1", 1), key("k2", 2)}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a, err := kr.MAC("k1", "recovery", []byte("u1\x00ABCDE"))
	if err != nil || len(a) != 32 {
		t.Fatalf("MAC: %x %v", a, err)
	}
	again, _ := kr.MAC("k1", "recovery", []byte("u1\x00ABCDE"))
	if !bytes.Equal(a, again) {
		t.Fatal("MAC is not deterministic")
	}
	for name, other := range map[string]func() ([]byte, error){
		"other key":     func() ([]byte, error) { return kr.MAC("k2", "recovery", []byte("u1\x00ABCDE")) },
		"other label":   func() ([]byte, error) { return kr.MAC("k1", "bypass", []byte("u1\x00ABCDE")) },
		"other message": func() ([]byte, error) { return kr.MAC("k1", "recovery", []byte("u1\x00ABCDF")) },
	} {
		b, err := other()
		if err != nil || bytes.Equal(a, b) {
			t.Errorf("%s: same MAC (%v)", name, err)
		}
	}
	if _, err := kr.MAC("k9", "recovery", nil); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("MAC under an unknown key: %v", err)
	}
}

func TestDeriveIsPerKeyAndPurpose(t *testing.T) {
	a := bytes.Repeat([]byte{1}, KeySize)
	b := bytes.Repeat([]byte{2}, KeySize)
	kr, err := New([]Key{{ID: "old", Secret: a}, {ID: "new", Secret: b}}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k1, err := kr.Derive("old", "client-secret")
	if err != nil {
		t.Fatal(err)
	}
	again, _ := kr.Derive("old", "client-secret")
	k2, _ := kr.Derive("new", "client-secret")
	k3, _ := kr.Derive("old", "something else")
	if len(k1) != KeySize || !bytes.Equal(k1, again) {
		t.Fatalf("Derive is not a stable %d-byte key: %x / %x", KeySize, k1, again)
	}
	if bytes.Equal(k1, k2) || bytes.Equal(k1, k3) || bytes.Equal(k1, a) {
		t.Fatal("subkeys of different keys or purposes (or the key itself) coincide")
	}
	if _, err := kr.Derive("gone", "client-secret"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("Derive with an unknown key: %v", err)
	}
}
