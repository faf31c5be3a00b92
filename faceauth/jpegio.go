package faceauth

/*
#cgo CFLAGS: -O2 -Wall
#cgo LDFLAGS: -ljpeg
#include <stdlib.h>
#include "jpegio.h"
*/
import "C"

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"unsafe"
)

// JPEG work is most of what the engine does per frame outside dlib: Go's
// image/jpeg took about a fifth of a 2-step challenge's CPU (decoding each
// 640x480 frame, re-encoding the analysis copy go-face reads). libjpeg-
// turbo, the library dlib and go-face already link, does both in SIMD at a
// small fraction of that. Go's decoder still reads what the fast path
// does not take (greyscale, CMYK, unusual chroma sampling) and anything
// libjpeg-turbo complains about, so it decides on odd files as before.

// decodeJPEG decodes a JPEG whose header has been checked (frameConfig),
// into buffers from bufs when it takes the fast path.
func decodeJPEG(b []byte, bufs *buffers) (image.Image, error) {
	if img, ok := decodeYCbCrFast(b, bufs); ok {
		return img, nil
	}
	return jpeg.Decode(bytes.NewReader(b))
}

// ycbcrRatio maps luma's sampling factors (chroma at 1x1) to Go's ratio.
func ycbcrRatio(h, v int) (image.YCbCrSubsampleRatio, bool) {
	switch [2]int{h, v} {
	case [2]int{1, 1}:
		return image.YCbCrSubsampleRatio444, true
	case [2]int{1, 2}:
		return image.YCbCrSubsampleRatio440, true
	case [2]int{2, 1}:
		return image.YCbCrSubsampleRatio422, true
	case [2]int{2, 2}:
		return image.YCbCrSubsampleRatio420, true
	case [2]int{4, 1}:
		return image.YCbCrSubsampleRatio411, true
	case [2]int{4, 2}:
		return image.YCbCrSubsampleRatio410, true
	}
	return 0, false
}

// decodeYCbCrFast decodes a YCbCr JPEG with libjpeg-turbo straight into
// the planes of an image.YCbCr (no colour conversion, as Go's decoder). It
// reports false for anything else, or when libjpeg-turbo finds the data
// corrupt.
func decodeYCbCrFast(b []byte, bufs *buffers) (*image.YCbCr, bool) {
	if len(b) == 0 {
		return nil, false
	}
	data := (*C.uchar)(unsafe.Pointer(&b[0]))
	var info C.faceauth_jpeg_info
	if msg := C.faceauth_jpeg_probe(data, C.long(len(b)), &info); msg != nil {
		C.free(unsafe.Pointer(msg))
		return nil, false
	}
	ratio, ok := ycbcrRatio(int(info.h_samp), int(info.v_samp))
	if info.ycbcr == 0 || !ok {
		return nil, false
	}
	ys, cs := int(info.y_stride), int(info.c_stride)
	img := &image.YCbCr{
		Y: bufs.plane(ys * int(info.y_rows)), Cb: bufs.chromaPlane(cs * int(info.c_rows)), Cr: bufs.chromaPlane(cs * int(info.c_rows)),
		YStride: ys, CStride: cs,
		SubsampleRatio: ratio,
		Rect:           image.Rect(0, 0, int(info.width), int(info.height)),
	}
	if msg := C.faceauth_jpeg_decode_ycbcr(data, C.long(len(b)), (*C.uchar)(&img.Y[0]), (*C.uchar)(&img.Cb[0]), (*C.uchar)(&img.Cr[0])); msg != nil {
		C.free(unsafe.Pointer(msg))
		bufs.release(img)
		return nil, false
	}
	return img, true
}

// encodeJPEG encodes img as a baseline 4:2:0 JPEG at quality with
// libjpeg-turbo.
func encodeJPEG(img *image.RGBA, quality int) ([]byte, error) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if w == 0 || h == 0 {
		return nil, errors.New("encode JPEG: empty image")
	}
	pix := img.Pix[img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y):]
	var out *C.uchar
	var n C.ulong
	if msg := C.faceauth_jpeg_encode_rgbx((*C.uchar)(&pix[0]), C.int(w), C.int(h), C.int(img.Stride), C.int(quality), &out, &n); msg != nil {
		defer C.free(unsafe.Pointer(msg))
		return nil, errors.New("encode JPEG: " + C.GoString(msg))
	}
	defer C.free(unsafe.Pointer(out))
	return C.GoBytes(unsafe.Pointer(out), C.int(n)), nil
}
