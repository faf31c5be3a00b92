package spoofgen

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"testing"
)

// testFrame is a synthetic 640x480 frame: a bright disc on a dark
// background, so the re-filmed screen's extent can be told from it.
func testFrame(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for y := 0; y < 480; y++ {
		for x := 0; x < 640; x++ {
			c := color.RGBA{40, 50, 60, 255}
			if (x-320)*(x-320)+(y-240)*(y-240) < 120*120 {
				c = color.RGBA{220, 180, 150, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestClipIsDeterministicPerSeed(t *testing.T) {
	frames := [][]byte{testFrame(t), testFrame(t)}
	v := Families()[0]
	a, err := Clip(frames, v, 7)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Clip(frames, v, 7)
	c, _ := Clip(frames, v, 8)
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("frame %d differs between two runs with the same seed", i)
		}
	}
	if bytes.Equal(a[0], c[0]) {
		t.Fatal("another seed gave the same frame")
	}
	if bytes.Equal(a[0], a[1]) {
		t.Fatal("two frames of a clip are identical: the shake and noise must change per frame")
	}
	img, err := jpeg.Decode(bytes.NewReader(a[0]))
	if err != nil || img.Bounds().Dx() != 640 || img.Bounds().Dy() != 480 {
		t.Fatalf("re-filmed frame: %v, %v", img.Bounds(), err)
	}
}

// The close-up variants fill the whole view with the screen: no pixel of
// the frame, whatever the shake, falls outside it (no bezel, no background).
func TestCloseUpFillsTheView(t *testing.T) {
	var n int
	rng := newRand(1)
	for _, v := range Families() {
		if !v.CloseUp {
			continue
		}
		n++
		for range 50 {
			g := newGeometry(v, 640, 480, rng)
			for _, p := range [][2]float64{{0, 0}, {640, 0}, {0, 480}, {640, 480}} {
				if _, _, ok := g.toScreen(p[0], p[1]); !ok {
					t.Fatalf("%s: corner %v is off the screen", v.Name, p)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no close-up variant")
	}
}

// With a bezel, the screen's edge is visible: the bezel's dark band.
func TestBezelIsDrawn(t *testing.T) {
	v := Base()
	v.Bezel, v.TiltDeg, v.RollDeg, v.Shake, v.Noise, v.Blur = 20, 0, 0, 0, 0, 0
	img := Render(mustDecode(t, testFrame(t)), v, newRand(1))
	// the screen spans 80 % of the width: its left edge is at x = 64
	if c := img.RGBAAt(54, 240); c.R != 22 || c.B != 24 {
		t.Fatalf("pixel in the bezel = %v", c)
	}
}

func mustDecode(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 1)) }
