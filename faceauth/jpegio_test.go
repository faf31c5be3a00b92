package faceauth

import (
	"bytes"
	"image"
	"image/jpeg"
	"math"
	"path/filepath"
	"testing"

	"github.com/faceidp/faceidp/internal/fixtures"
)

// fixtureJPEGs are camera frames and photos of the shared fixtures.
func fixtureJPEGs(t *testing.T) map[string][]byte {
	dir := fixtures.SharedDir(t)
	out := map[string][]byte{}
	for _, p := range []string{"liveness/p01_blink/frame_000.jpg", "liveness/p05_smile/frame_010.jpg", "faces/pristin.jpg", "faces/eunseo.jpg"} {
		out[p] = fixtures.ReadFile(t, filepath.Join(dir, filepath.FromSlash(p)))
	}
	return out
}

// The libjpeg-turbo fast path gives the planes Go's decoder gives, up to
// the rounding of their different inverse DCTs, so every decision made on
// them (cues, landmarks) is unchanged.
func TestFastJPEGDecodeMatchesGo(t *testing.T) {
	for name, b := range fixtureJPEGs(t) {
		fast, ok := decodeYCbCrFast(b, nil)
		if !ok {
			t.Fatalf("%s: the fast path refused a camera JPEG", name)
		}
		img, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		ref, ok := img.(*image.YCbCr)
		if !ok {
			t.Fatalf("%s: Go decoded %T", name, img)
		}
		if fast.Rect != ref.Rect || fast.SubsampleRatio != ref.SubsampleRatio {
			t.Fatalf("%s: %v %v, Go %v %v", name, fast.Rect, fast.SubsampleRatio, ref.Rect, ref.SubsampleRatio)
		}
		var worst, sum, n float64
		b := ref.Rect
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				yi, ci := ref.YOffset(x, y), ref.COffset(x, y)
				fy, fc := fast.YOffset(x, y), fast.COffset(x, y)
				for _, d := range []float64{
					float64(ref.Y[yi]) - float64(fast.Y[fy]),
					float64(ref.Cb[ci]) - float64(fast.Cb[fc]),
					float64(ref.Cr[ci]) - float64(fast.Cr[fc]),
				} {
					worst = math.Max(worst, math.Abs(d))
					sum += math.Abs(d)
					n++
				}
			}
		}
		if worst > 2 || sum/n > 0.1 {
			t.Errorf("%s: samples differ from Go's decoder by up to %.0f (mean %.3f)", name, worst, sum/n)
		}
	}
}

// Corrupt data is never repaired by the fast path: it falls back to Go's
// decoder, which refuses it.
func TestFastJPEGDecodeRefusesCorruptData(t *testing.T) {
	frame := fixtureJPEGs(t)["liveness/p01_blink/frame_000.jpg"]
	truncated := frame[:len(frame)/2]
	if _, ok := decodeYCbCrFast(truncated, nil); ok {
		t.Fatal("the fast path decoded a truncated JPEG")
	}
	if _, err := decodeJPEG(truncated, nil); err == nil {
		t.Fatal("a truncated JPEG decoded")
	}
	scrambled := append([]byte(nil), frame...)
	for i := len(scrambled) / 3; i < len(scrambled)/3+64; i++ {
		scrambled[i] = 0xFF
	}
	if _, ok := decodeYCbCrFast(scrambled, nil); ok {
		t.Fatal("the fast path decoded a JPEG with a run of 0xFF in its scan")
	}
	var grey bytes.Buffer
	if err := jpeg.Encode(&grey, image.NewGray(image.Rect(0, 0, 64, 48)), nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := decodeYCbCrFast(grey.Bytes(), nil); ok {
		t.Fatal("the fast path took a greyscale JPEG")
	}
	if img, err := decodeJPEG(grey.Bytes(), nil); err != nil || img.Bounds().Dx() != 64 {
		t.Fatalf("greyscale JPEG: %v, %v", img, err)
	}
}

// The analysis copy go-face reads survives encoding: PSNR over 35 dB.
func TestEncodeJPEGKeepsTheAnalysisCopy(t *testing.T) {
	img, err := decodeJPEG(fixtureJPEGs(t)["liveness/p01_blink/frame_000.jpg"], nil)
	if err != nil {
		t.Fatal(err)
	}
	small := analysisCopy(img, challengeSide, nil)
	b, err := encodeJPEG(small, analysisJPEGQuality)
	if err != nil {
		t.Fatal(err)
	}
	back, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if back.Bounds() != small.Rect {
		t.Fatalf("encoded %v, want %v", back.Bounds(), small.Rect)
	}
	got := toRGBA(back)
	var se float64
	for i := range small.Pix {
		if i%4 == 3 {
			continue
		}
		d := float64(small.Pix[i]) - float64(got.Pix[i])
		se += d * d
	}
	psnr := 10 * math.Log10(255*255/(se/float64(len(small.Pix)*3/4)))
	if psnr < 35 {
		t.Errorf("PSNR %.1f dB", psnr)
	}
	if _, err := encodeJPEG(image.NewRGBA(image.Rect(0, 0, 0, 0)), 90); err == nil {
		t.Error("encoded an empty image")
	}
}
