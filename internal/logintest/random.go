package logintest

import (
	"crypto/rand"
	"testing"
)

// RandomBytes is n bytes from crypto/rand (keys and secrets of a test
// provider), failing the test if there are none.
func RandomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}
