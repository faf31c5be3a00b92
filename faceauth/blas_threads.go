package faceauth

/*
#cgo LDFLAGS: -ldl
#define _GNU_SOURCE
#include <dlfcn.h>

typedef void (*faceauth_set_fn)(int);
typedef int (*faceauth_get_fn)(void);

// OpenBLAS is found at run time, not linked: the BLAS behind libblas.so.3 is
// whatever the system's alternatives choose, and the reference BLAS has no
// threads to limit.
static int faceauth_set_blas_threads(int n) {
	faceauth_set_fn f = (faceauth_set_fn)dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
	if (f == NULL) return 0;
	f(n);
	return 1;
}

static int faceauth_blas_threads(void) {
	faceauth_get_fn f = (faceauth_get_fn)dlsym(RTLD_DEFAULT, "openblas_get_num_threads");
	if (f == NULL) return -1;
	return f();
}
*/
import "C"

// limitBLASThreads makes OpenBLAS, when it is the BLAS in use, run each call
// on the calling thread. The recognizer pool already keeps one recognizer per
// CPU busy; OpenBLAS's own worker threads would compete with it (measured:
// a 2-step challenge took ~35% longer on 2 cores with them). It reports
// whether OpenBLAS was found.
func limitBLASThreads() bool {
	return C.faceauth_set_blas_threads(1) == 1
}

// blasThreads is OpenBLAS's current thread count, or -1 without OpenBLAS.
func blasThreads() int { return int(C.faceauth_blas_threads()) }
