package faceauth

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/faceidp/faceidp/keyring"
)

func sampleTemplate() *Template {
	t := &Template{Descriptors: make([]Descriptor, 3)}
	for i := range t.Descriptors {
		for j := range t.Descriptors[i] {
			t.Descriptors[i][j] = float32(i*128+j) / 1000
		}
	}
	return t
}

func testKeyring(t *testing.T, ids ...string) *keyring.Keyring {
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

func TestTemplateMarshalRoundTrip(t *testing.T) {
	tm := sampleTemplate()
	b, err := tm.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != templateVersion {
		t.Fatalf("version byte %d", b[0])
	}
	var got Template
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if got.Samples() != 3 || got.Descriptors[2] != tm.Descriptors[2] {
		t.Fatal("round trip changed the template")
	}
	for name, bad := range map[string][]byte{
		"truncated": b[:len(b)-1],
		"padded":    append(append([]byte(nil), b...), 0),
		"version":   append([]byte{9}, b[1:]...),
		"empty":     {templateVersion, 0, 0, 0, 0},
	} {
		if err := new(Template).UnmarshalBinary(bad); err == nil {
			t.Errorf("%s template accepted", name)
		}
	}
}

// Version 2 templates carry the second embedder's samples and its model id;
// version 1 templates (dlib only, written before it existed) still open.
func TestTemplateV2AndV1(t *testing.T) {
	tm := sampleTemplate()
	tm.EmbeddingModel = "0123456789abcdef"
	for i := range 2 {
		e := make(Embedding, 4)
		e[i] = 1
		tm.Embeddings = append(tm.Embeddings, e)
	}
	b := mustMarshal(t, tm)
	var got Template
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if len(got.Embeddings) != 2 || got.EmbeddingModel != tm.EmbeddingModel || got.Embeddings[1][1] != 1 || got.Descriptors[2] != tm.Descriptors[2] {
		t.Fatalf("round trip: %+v", got)
	}
	if !got.HasEmbeddings("0123456789abcdef") || got.HasEmbeddings("fedcba9876543210") {
		t.Error("HasEmbeddings does not check the model id")
	}
	if s := got.MaxSimilarity(Embedding{0, 1, 0, 0}); s != 1 {
		t.Errorf("MaxSimilarity = %v", s)
	}
	for name, bad := range map[string][]byte{
		"truncated embeddings": b[:len(b)-4],
		"padded":               append(append([]byte(nil), b...), 0),
	} {
		if err := new(Template).UnmarshalBinary(bad); err == nil {
			t.Errorf("%s template accepted", name)
		}
	}
	tm.EmbeddingModel = "short"
	if _, err := tm.MarshalBinary(); err == nil {
		t.Error("a bad model id was marshalled")
	}

	// A version 1 record: version byte 1, the samples, nothing after.
	v2 := mustMarshal(t, sampleTemplate())
	v1 := append([]byte{templateVersion1}, v2[1:len(v2)-2]...)
	var old Template
	if err := old.UnmarshalBinary(v1); err != nil {
		t.Fatalf("version 1 template: %v", err)
	}
	if old.Samples() != 3 || len(old.Embeddings) != 0 || old.Descriptors[1] != sampleTemplate().Descriptors[1] {
		t.Fatalf("version 1 template read as %+v", old)
	}
	if err := new(Template).UnmarshalBinary(append(v1, 0, 0)); err == nil {
		t.Error("a version 1 template with trailing bytes accepted")
	}
}

func TestSealOpenTemplate(t *testing.T) {
	kr := testKeyring(t, "k1")
	keyID, sealed, err := SealTemplate(kr, "user-1", sampleTemplate())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, mustMarshal(t, sampleTemplate())[3:40]) {
		t.Fatal("sealed template contains plaintext descriptors")
	}
	got, err := OpenTemplate(kr, "user-1", keyID, sealed)
	if err != nil || got.Descriptors[1] != sampleTemplate().Descriptors[1] {
		t.Fatalf("OpenTemplate = %v, %v", got, err)
	}
	tampered := append([]byte(nil), sealed...)
	tampered[len(tampered)/2] ^= 1
	if _, err := OpenTemplate(kr, "user-1", keyID, tampered); err == nil {
		t.Error("tampered template opened")
	}
	if _, err := OpenTemplate(kr, "user-2", keyID, sealed); err == nil {
		t.Error("template opened for another user")
	}

	// Rotation: a newer key re-seals, the old record stays readable.
	kr2 := testKeyring(t, "k1", "k2")
	newID, resealed, changed, err := ResealTemplate(kr2, "user-1", keyID, sealed)
	if err != nil || !changed || newID != "k2" {
		t.Fatalf("ResealTemplate = %q, %v, %v", newID, changed, err)
	}
	if _, err := OpenTemplate(kr2, "user-1", newID, resealed); err != nil {
		t.Fatal(err)
	}
}

func mustMarshal(t *testing.T, tm *Template) []byte {
	b, err := tm.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
