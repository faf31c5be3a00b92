// Package spoofgen makes screen-replay attacks from live clips: each frame
// is shown on a simulated display (pixel grid, sub-pixel layout, black
// matrix, gamma and contrast of a screen) and re-filmed by a simulated
// camera (perspective, hand shake, defocus, sensor noise, JPEG), with an
// optional bezel and background around the screen, or none when the phone
// is held so close that its screen fills the view.
//
// It exists to test the face engine's presentation-attack detection on
// screens it was not tuned on (docs/face-engine.md, "Presentation-attack
// detection"). It is pure Go image code and deterministic: the same clip,
// variant and seed always give the same bytes.
package spoofgen

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"math"
	"math/rand/v2"
)

// Layout is a display's sub-pixel arrangement.
type Layout int

const (
	// RGBStripe: vertical red, green, blue stripes per pixel (most LCDs).
	RGBStripe Layout = iota
	// BGRStripe: the same, mirrored.
	BGRStripe
	// PenTile: an RGBG diamond (most OLED phones): every pixel has a green
	// sub-pixel and alternately a red or a blue one.
	PenTile
)

func (l Layout) String() string {
	switch l {
	case RGBStripe:
		return "rgb-stripe"
	case BGRStripe:
		return "bgr-stripe"
	case PenTile:
		return "pentile"
	}
	return fmt.Sprintf("layout(%d)", int(l))
}

// Variant describes one screen-replay set-up. The zero value is not
// useful; start from Base.
type Variant struct {
	Family string // the variant family it belongs to (reports group by it)
	Name   string
	Layout Layout
	// Pitch is the camera pixels one screen pixel spans (0.3: a phone held
	// at arm's length; 2: a coarse screen close up).
	Pitch float64
	// Moire in [0, 1] is how much of the sub-pixel structure survives the
	// camera's optics: 0 shows only the pixelated image, 1 the bare grid.
	Moire float64
	// Aperture is the lit fraction of each sub-pixel cell (the rest is the
	// black matrix).
	Aperture float64
	// ScreenFrac is the fraction of the camera's width the displayed clip
	// spans; CloseUp ignores it.
	ScreenFrac float64
	// Bezel is the bezel's width in camera pixels (0: none).
	Bezel int
	// TiltDeg turns the screen about its vertical axis (perspective) and
	// RollDeg in the image plane.
	TiltDeg, RollDeg float64
	// Brightness scales the screen's light, Gamma is the display's gamma
	// error (1: none) and Black its black level in [0, 1] (contrast loss).
	Brightness, Gamma, Black float64
	// Background is the scene around the screen: "plain", "gradient",
	// "texture" or "office".
	Background string
	// CloseUp: the screen fills the whole view (no bezel, no background);
	// Zoom is how much of the clip the view shows (1.2: the central 1/1.2).
	CloseUp bool
	Zoom    float64
	// Blur is the camera's defocus (Gaussian sigma, camera pixels), Noise
	// the sensor noise (standard deviation, 8-bit levels), Shake the hand
	// shake (camera pixels).
	Blur, Noise, Shake float64
	// Quality is the JPEG quality of the re-filmed frames.
	Quality int
}

// Base is a typical replay: a phone showing the clip at arm's length.
func Base() Variant {
	return Variant{
		Family: "base", Name: "phone", Layout: PenTile, Pitch: 0.45, Moire: 0.35, Aperture: 0.7,
		ScreenFrac: 0.8, Bezel: 14, TiltDeg: 8, RollDeg: 2, Brightness: 0.95, Gamma: 1.1, Black: 0.06,
		Background: "office", Zoom: 1, Blur: 0.5, Noise: 1.5, Shake: 1.5, Quality: 85,
	}
}

// Families are the variant families the calibration reports, each varying
// one property of Base.
func Families() []Variant {
	var out []Variant
	add := func(family, name string, f func(v *Variant)) {
		v := Base()
		v.Family, v.Name = family, name
		f(&v)
		out = append(out, v)
	}
	for _, s := range []struct {
		name   string
		layout Layout
		pitch  float64
	}{
		{"lcd-monitor", RGBStripe, 1.1}, {"laptop", BGRStripe, 0.7}, {"tablet", RGBStripe, 0.55},
		{"oled-phone-far", PenTile, 0.32}, {"coarse-screen", RGBStripe, 2.0},
	} {
		add("screen", s.name, func(v *Variant) { v.Layout, v.Pitch = s.layout, s.pitch })
	}
	for _, m := range []float64{0.12, 0.2, 0.5, 0.8} {
		add("moire", fmt.Sprintf("moire-%.2f", m), func(v *Variant) { v.Moire = m })
	}
	for _, b := range []int{0, 4, 40} {
		add("bezel", fmt.Sprintf("bezel-%dpx", b), func(v *Variant) { v.Bezel = b })
	}
	for _, t := range []float64{-25, 18, 35} {
		add("tilt", fmt.Sprintf("tilt-%+.0fdeg", t), func(v *Variant) { v.TiltDeg, v.RollDeg = t, t/6 })
	}
	for _, b := range []struct {
		name                    string
		bright, gamma, blackLvl float64
	}{
		{"dim", 0.6, 1.0, 0.03}, {"bright-washed", 1.15, 0.8, 0.15}, {"high-gamma", 1.0, 1.6, 0.02}, {"low-contrast", 0.9, 1.0, 0.25},
	} {
		add("brightness", b.name, func(v *Variant) { v.Brightness, v.Gamma, v.Black = b.bright, b.gamma, b.blackLvl })
	}
	for _, bg := range []string{"plain", "gradient", "texture"} {
		add("background", "bg-"+bg, func(v *Variant) { v.Background = bg })
	}
	for _, c := range []struct {
		name   string
		layout Layout
		pitch  float64
		zoom   float64
		moire  float64
	}{
		{"closeup-oled", PenTile, 0.6, 1.0, 0.35}, {"closeup-lcd", RGBStripe, 0.75, 1.2, 0.3},
		{"closeup-zoomed-weak", PenTile, 0.9, 1.4, 0.15},
	} {
		add("closeup", c.name, func(v *Variant) {
			v.CloseUp, v.Layout, v.Pitch, v.Zoom, v.Moire, v.Bezel, v.TiltDeg, v.RollDeg = true, c.layout, c.pitch, c.zoom, c.moire, 0, 3, 1
		})
	}
	return out
}

// Clip re-films every frame of a live clip (JPEG or PNG bytes) as v with
// the given seed: the hand shake and sensor noise change from frame to
// frame, everything else is fixed for the clip.
func Clip(frames [][]byte, v Variant, seed uint64) ([][]byte, error) {
	rng := rand.New(rand.NewPCG(seed, 0x5f00f))
	out := make([][]byte, len(frames))
	for i, b := range frames {
		src, _, err := image.Decode(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("spoofgen: frame %d: %w", i, err)
		}
		img := Render(src, v, rng)
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: v.Quality}); err != nil {
			return nil, fmt.Errorf("spoofgen: frame %d: encode: %w", i, err)
		}
		out[i] = buf.Bytes()
	}
	return out, nil
}

// supersample is the samples per camera pixel per axis: the camera
// integrates the sub-pixel grid over each of its pixels.
const supersample = 2

// Render re-films one frame as v, drawing the per-frame randomness (shake,
// noise, background details) from rng. The result has src's size.
func Render(src image.Image, v Variant, rng *rand.Rand) *image.RGBA {
	s := toRGBA(src)
	w, h := s.Rect.Dx(), s.Rect.Dy()
	bgSeed := uint64(len(v.Name))*7919 + uint64(v.Bezel)
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	drawBackground(dst, v.Background, rand.New(rand.NewPCG(bgSeed, 17)))

	g := newGeometry(v, w, h, rng)
	// screen pixels across and down the displayed clip
	swX, swY := 2*g.hw/g.scale, 2*g.hh/g.scale
	lut := displayLUT(v)
	sub := 1.0 / supersample
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var acc [3]float64
			var lit, in int
			cs, ct, ok := g.toScreen(float64(x)+0.5, float64(y)+0.5)
			if !ok {
				if g.inBezel(float64(x)+0.5, float64(y)+0.5) {
					setBezel(dst, x, y)
				}
				continue
			}
			col := sampleBilinear(s, cs*float64(w), ct*float64(h))
			for sy := 0; sy < supersample; sy++ {
				for sx := 0; sx < supersample; sx++ {
					u, t, ok := g.toScreen(float64(x)+(float64(sx)+0.5)*sub, float64(y)+(float64(sy)+0.5)*sub)
					if !ok {
						continue
					}
					in++
					m := subpixelMask(v.Layout, u*swX, t*swY, v.Aperture)
					for c := range 3 {
						acc[c] += m[c]
					}
					lit++
				}
			}
			if in == 0 {
				continue
			}
			p := dst.Pix[y*dst.Stride+x*4:]
			for c := range 3 {
				grid := acc[c] / float64(lit)
				emit := lut[col[c]] * ((1 - v.Moire) + v.Moire*grid)
				cover := float64(in) / (supersample * supersample)
				p[c] = clamp8(emit*255*cover + float64(p[c])*(1-cover))
			}
		}
	}
	if v.Blur > 0 {
		dst = gaussianBlur(dst, v.Blur)
	}
	if v.Noise > 0 {
		for i := 0; i < len(dst.Pix); i += 4 {
			for c := range 3 {
				dst.Pix[i+c] = clamp8(float64(dst.Pix[i+c]) + rng.NormFloat64()*v.Noise)
			}
		}
	}
	return dst
}

// subpixelMask is each channel's emission (mean 1 over a pixel when
// aperture is 1) at screen coordinates (u, t), in screen pixels.
func subpixelMask(l Layout, u, t, aperture float64) [3]float64 {
	fu, ft := u-math.Floor(u), t-math.Floor(t)
	var m [3]float64
	if ft > aperture+(1-aperture)/2 { // the black matrix between rows
		return m
	}
	switch l {
	case RGBStripe, BGRStripe:
		c := min(int(fu*3), 2)
		if fu*3-float64(c) > aperture {
			return m
		}
		if l == BGRStripe {
			c = 2 - c
		}
		m[c] = 3 / aperture
	case PenTile:
		// Each pixel: a green sub-pixel in one half, red or blue (by
		// column parity) in the other, the pair swapping on odd rows.
		col, row := int(math.Floor(u)), int(math.Floor(t))
		half := fu >= 0.5
		if (row%2 == 0) == half {
			m[1] = 2 / aperture
		} else if col%2 == 0 {
			m[0] = 4 / aperture
		} else {
			m[2] = 4 / aperture
		}
		if math.Mod(fu*2, 1) > aperture {
			m = [3]float64{}
		}
	}
	return m
}

// geometry maps camera pixels to normalised coordinates of the displayed
// clip through the screen's pose.
type geometry struct {
	w, h       float64
	cx, cy     float64 // the screen's centre in the camera
	hw, hh     float64 // half the screen's size in the camera
	cosR, sinR float64
	tilt       float64
	scale      float64 // camera pixels per screen pixel (Pitch)
	bezel      float64
	zoom       float64
	closeUp    bool
	offX, offY float64
}

func newGeometry(v Variant, w, h int, rng *rand.Rand) geometry {
	g := geometry{w: float64(w), h: float64(h), scale: v.Pitch, bezel: float64(v.Bezel), zoom: max(v.Zoom, 1), closeUp: v.CloseUp}
	roll := v.RollDeg * math.Pi / 180
	g.cosR, g.sinR = math.Cos(roll), math.Sin(roll)
	g.tilt = math.Tan(v.TiltDeg*math.Pi/180) * 0.5
	g.cx, g.cy = g.w/2+rng.NormFloat64()*v.Shake, g.h/2+rng.NormFloat64()*v.Shake
	if v.CloseUp {
		// a little beyond the frame, so shake and roll never show an edge
		g.hw, g.hh = g.w/2*g.zoom*1.12, g.h/2*g.zoom*1.12
	} else {
		g.hw, g.hh = g.w*v.ScreenFrac/2, g.h*v.ScreenFrac/2
	}
	return g
}

// local is a camera point in the screen's frame: (-1..1, -1..1) inside.
func (g geometry) local(x, y float64) (float64, float64) {
	dx, dy := x-g.cx, y-g.cy
	rx, ry := dx*g.cosR+dy*g.sinR, -dx*g.sinR+dy*g.cosR
	lx, ly := rx/g.hw, ry/g.hh
	// perspective: the side turned away is smaller
	d := 1 + g.tilt*lx
	return lx / d * (1 + g.tilt), ly / d
}

// toScreen maps a camera point to normalised clip coordinates in [0, 1].
func (g geometry) toScreen(x, y float64) (float64, float64, bool) {
	lx, ly := g.local(x, y)
	if lx < -1 || lx > 1 || ly < -1 || ly > 1 {
		return 0, 0, false
	}
	return (lx + 1) / 2, (ly + 1) / 2, true
}

func (g geometry) inBezel(x, y float64) bool {
	if g.closeUp || g.bezel <= 0 {
		return false
	}
	lx, ly := g.local(x, y)
	bx, by := 1+g.bezel/g.hw, 1+g.bezel/g.hh
	return math.Abs(lx) <= bx && math.Abs(ly) <= by
}

func setBezel(dst *image.RGBA, x, y int) {
	p := dst.Pix[y*dst.Stride+x*4:]
	p[0], p[1], p[2] = 22, 22, 24
}

// displayLUT maps an 8-bit source level to the screen's light in [0, 1]:
// brightness, gamma error and black level.
func displayLUT(v Variant) [256]float64 {
	var lut [256]float64
	for i := range lut {
		l := math.Pow(float64(i)/255, v.Gamma) * v.Brightness
		lut[i] = v.Black + (1-v.Black)*math.Min(l, 1)
	}
	return lut
}

func drawBackground(dst *image.RGBA, kind string, rng *rand.Rand) {
	w, h := dst.Rect.Dx(), dst.Rect.Dy()
	base := color.RGBA{uint8(90 + rng.IntN(100)), uint8(90 + rng.IntN(100)), uint8(90 + rng.IntN(100)), 255}
	draw.Draw(dst, dst.Rect, &image.Uniform{base}, image.Point{}, draw.Src)
	switch kind {
	case "gradient":
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				p := dst.Pix[y*dst.Stride+x*4:]
				f := 0.5 + float64(x+y)/float64(w+h)
				p[0], p[1], p[2] = clamp8(float64(p[0])*f), clamp8(float64(p[1])*f), clamp8(float64(p[2])*f)
			}
		}
	case "texture":
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				p := dst.Pix[y*dst.Stride+x*4:]
				n := (math.Sin(float64(x)*0.11+float64(y)*0.07) + math.Sin(float64(y)*0.19)) * 25
				p[0], p[1], p[2] = clamp8(float64(p[0])+n), clamp8(float64(p[1])+n), clamp8(float64(p[2])+n)
			}
		}
	case "office":
		for range 8 {
			r := image.Rect(rng.IntN(w), rng.IntN(h), 0, 0)
			r.Max = r.Min.Add(image.Pt(20+rng.IntN(200), 20+rng.IntN(150)))
			c := color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255}
			draw.Draw(dst, r, &image.Uniform{c}, image.Point{}, draw.Src)
		}
	}
}

func toRGBA(img image.Image) *image.RGBA {
	if r, ok := img.(*image.RGBA); ok && r.Rect.Min == (image.Point{}) {
		return r
	}
	b := img.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(dst, dst.Rect, img, b.Min, draw.Src)
	return dst
}

// sampleBilinear is src's colour at (x, y), in source pixels.
func sampleBilinear(src *image.RGBA, x, y float64) [3]uint8 {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	x, y = math.Max(0, math.Min(x-0.5, float64(w-1))), math.Max(0, math.Min(y-0.5, float64(h-1)))
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, w-1), min(y0+1, h-1)
	fx, fy := x-float64(x0), y-float64(y0)
	var out [3]uint8
	for c := range 3 {
		a := float64(src.Pix[y0*src.Stride+x0*4+c])*(1-fx) + float64(src.Pix[y0*src.Stride+x1*4+c])*fx
		b := float64(src.Pix[y1*src.Stride+x0*4+c])*(1-fx) + float64(src.Pix[y1*src.Stride+x1*4+c])*fx
		out[c] = clamp8(a*(1-fy) + b*fy)
	}
	return out
}

// gaussianBlur blurs img (separable, radius 3 sigma).
func gaussianBlur(img *image.RGBA, sigma float64) *image.RGBA {
	r := int(math.Ceil(3 * sigma))
	k := make([]float64, 2*r+1)
	var sum float64
	for i := range k {
		d := float64(i - r)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	pass := func(src *image.RGBA, dx, dy int) *image.RGBA {
		dst := image.NewRGBA(src.Rect)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				var acc [3]float64
				for i, kv := range k {
					sx, sy := min(max(x+(i-r)*dx, 0), w-1), min(max(y+(i-r)*dy, 0), h-1)
					p := src.Pix[sy*src.Stride+sx*4:]
					acc[0] += kv * float64(p[0])
					acc[1] += kv * float64(p[1])
					acc[2] += kv * float64(p[2])
				}
				d := dst.Pix[y*dst.Stride+x*4:]
				d[0], d[1], d[2], d[3] = clamp8(acc[0]), clamp8(acc[1]), clamp8(acc[2]), 255
			}
		}
		return dst
	}
	return pass(pass(img, 1, 0), 0, 1)
}

func clamp8(v float64) uint8 {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v + 0.5)
}
