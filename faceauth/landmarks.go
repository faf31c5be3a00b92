package faceauth

/*
#cgo CXXFLAGS: -std=c++17 -Wall -O3 -DNDEBUG -march=native
#cgo LDFLAGS: -ldlib -ljpeg
#include <stdlib.h>
#include "landmarks.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"unsafe"

	face "github.com/Kagami/go-face"
)

// go-face has no call that stops before the descriptor network, about 60 %
// of its time per frame (25 ms per 320x240 frame; 10 ms without it). landmarks.cc runs the same dlib
// detector, shape predictor and JPEG decoder without it, for the frames of
// a challenge whose landmarks are needed but whose descriptor is not (see
// descriptorPlan).

// landmarkModel is the shape predictor, loaded once per engine and shared
// read-only by every worker's detector.
type landmarkModel struct{ p *C.faceauth_lm_model }

func loadLandmarkModel(path string) (*landmarkModel, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var cerr *C.char
	p := C.faceauth_lm_model_load(cpath, &cerr)
	if p == nil {
		defer C.free(unsafe.Pointer(cerr))
		return nil, fmt.Errorf("%s: %s", path, C.GoString(cerr))
	}
	return &landmarkModel{p: p}, nil
}

func (m *landmarkModel) close() {
	if m != nil && m.p != nil {
		C.faceauth_lm_model_free(m.p)
		m.p = nil
	}
}

// landmarker finds faces and their landmarks; one goroutine at a time.
type landmarker struct{ p *C.faceauth_lm_detector }

func newLandmarker(m *landmarkModel) (*landmarker, error) {
	p := C.faceauth_lm_detector_new(m.p)
	if p == nil {
		return nil, errors.New("create face detector: out of memory")
	}
	return &landmarker{p: p}, nil
}

func (l *landmarker) close() {
	if l != nil && l.p != nil {
		C.faceauth_lm_detector_free(l.p)
		l.p = nil
	}
}

// maxLandmarkFaces is how many faces detect describes.
const maxLandmarkFaces = C.FACEAUTH_LM_MAX_FACES

// detect returns the number of faces in a JPEG and, for up to
// maxLandmarkFaces of them, their boxes and landmarks in go-face's form
// (without descriptors).
func (l *landmarker) detect(jpg []byte) (int, []face.Face, error) {
	if len(jpg) == 0 {
		return 0, nil, errors.New("empty image")
	}
	res := (*C.faceauth_lm_result)(C.malloc(C.sizeof_faceauth_lm_result))
	defer C.free(unsafe.Pointer(res))
	C.faceauth_lm_detect(l.p, (*C.uchar)(unsafe.Pointer(&jpg[0])), C.long(len(jpg)), res)
	if res.err != nil {
		defer C.free(unsafe.Pointer(res.err))
		return 0, nil, errors.New(C.GoString(res.err))
	}
	n := min(int(res.faces), maxLandmarkFaces)
	parts := int(res.parts)
	faces := make([]face.Face, n)
	for i := range faces {
		r := res.rects[i*4 : i*4+4]
		faces[i].Rectangle = image.Rect(int(r[0]), int(r[1]), int(r[2]), int(r[3]))
		pts := res.points[i*C.FACEAUTH_LM_POINTS*2:]
		faces[i].Shapes = make([]image.Point, parts)
		for k := range parts {
			faces[i].Shapes[k] = image.Point{X: int(pts[2*k]), Y: int(pts[2*k+1])}
		}
	}
	return int(res.faces), faces, nil
}
