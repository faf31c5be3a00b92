package faceauth

import "testing"

// The engine's recognizer pool is the only parallelism: once an engine exists,
// OpenBLAS (installed on every supported machine) must run single-threaded.
func TestEngineLimitsOpenBLASThreads(t *testing.T) {
	testEngine(t)
	if n := blasThreads(); n != 1 {
		t.Fatalf("OpenBLAS threads after NewEngine = %d, want 1 (-1 means OpenBLAS is not the BLAS in use: install libopenblas0)", n)
	}
}
