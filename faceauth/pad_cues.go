package faceauth

import (
	"image"
	"image/draw"
	"math"
	"math/cmplx"
)

// Presentation-attack (screen replay) cues, measured per frame on the face
// region cut from the frame at its native resolution, never on the
// downscaled analysis copy: the fine structure a re-filmed screen leaves
// (sub-pixel colour fringes, the moire of its pixel grid beating against
// the camera's) lives at the scale of single camera pixels, and any
// downscaling filter removes it. See docs/face-engine.md, "Presentation-
// attack detection".

// padFrame is one frame's presentation-attack measurements.
type padFrame struct {
	// nativeFace is the face box's shorter side in native pixels.
	nativeFace int
	// chroma is the fine-scale colour-fringe energy of the face region
	// (chromaHF at native resolution).
	chroma float64
	// periodic is how far the strongest periodic component of the face
	// region's spectrum stands above the spectrum around it (log10 of the
	// ratio to its ring's median power, luma or colour, median over tiles).
	periodic float64
}

// padRegion is the part of the face box the cues read: its central 80 %,
// so that hair edges and the background around the face stay out.
func padRegion(box image.Rectangle, scale float64, bounds image.Rectangle) image.Rectangle {
	w, h := float64(box.Dx())*scale, float64(box.Dy())*scale
	x0, y0 := float64(box.Min.X)*scale+0.1*w, float64(box.Min.Y)*scale+0.1*h
	r := image.Rect(int(x0), int(y0), int(x0+0.8*w), int(y0+0.8*h))
	return r.Intersect(bounds)
}

// measurePAD measures the cues on full (the decoded frame) for a face
// found at box in an analysis copy analysisWidth pixels wide. Only the
// face region is converted to RGBA.
func measurePAD(full image.Image, box image.Rectangle, analysisWidth int, bufs *buffers) padFrame {
	b := full.Bounds()
	scale := float64(b.Dx()) / float64(analysisWidth)
	p := padFrame{nativeFace: int(float64(min(box.Dx(), box.Dy())) * scale)}
	r := padRegion(box, scale, image.Rect(0, 0, b.Dx(), b.Dy()))
	if r.Dx() < padTile || r.Dy() < padTile {
		return p
	}
	crop := bufs.crop(image.Rect(0, 0, r.Dx(), r.Dy()))
	draw.Draw(crop, crop.Rect, full, r.Min.Add(b.Min), draw.Src)
	p.chroma = chromaHF(crop, crop.Rect)
	p.periodic = periodicity(crop, crop.Rect, bufs)
	bufs.putCrop(crop)
	return p
}

// padTile is the side of the square tiles the spectrum is taken over.
const padTile = 64

// periodicity is the median, over up to four padTile tiles at the centre
// of r, of the stronger of the luma and the red-blue colour periodicity.
func periodicity(img *image.RGBA, r image.Rectangle, bufs *buffers) float64 {
	nx, ny := min(2, r.Dx()/padTile), min(2, r.Dy()/padTile)
	ox := r.Min.X + (r.Dx()-nx*padTile)/2
	oy := r.Min.Y + (r.Dy()-ny*padTile)/2
	var scores []float64
	sp := bufs.spectrum()
	defer bufs.putSpectrum(sp)
	for ty := range ny {
		for tx := range nx {
			lum, col := sp.peaks(img, image.Pt(ox+tx*padTile, oy+ty*padTile))
			scores = append(scores, math.Max(lum, col))
		}
	}
	return median(scores)
}

// spectrum holds the scratch space of one periodicity measurement.
type spectrum struct {
	buf      [padTile * padTile]complex128
	lum, col [padTile * padTile]float64
}

// peaks measures the luma and the red-blue colour difference of the tile
// at at (strongestPeak of each one's power spectrum). Both real signals go
// through one complex FFT, luma as the real part and colour as the
// imaginary part, and are separated by the transform's symmetry:
// L(k) = (Z(k) + conj Z(-k)) / 2, C(k) = (Z(k) - conj Z(-k)) / 2i.
func (s *spectrum) peaks(img *image.RGBA, at image.Point) (lum, col float64) {
	const n = padTile
	var ml, mc float64
	for y := range n {
		row := img.Pix[(at.Y+y)*img.Stride+at.X*4:]
		for x := range n {
			p := row[x*4:]
			l, c := luma(p), float64(p[0])-float64(p[2])
			s.buf[y*n+x] = complex(l, c)
			ml += l
			mc += c
		}
	}
	ml /= n * n
	mc /= n * n
	for y := range n {
		for x := range n {
			w, v := hann64[x]*hann64[y], s.buf[y*n+x]
			s.buf[y*n+x] = complex((real(v)-ml)*w, (imag(v)-mc)*w)
		}
	}
	fft2(s.buf[:], n)
	var total float64
	for ky := range n {
		for kx := range n {
			z, m := s.buf[ky*n+kx], s.buf[((n-ky)%n)*n+(n-kx)%n]
			sr, si := real(z)+real(m), imag(z)-imag(m) // z + conj(m)
			dr, di := real(z)-real(m), imag(z)+imag(m) // z - conj(m)
			s.lum[ky*n+kx] = (sr*sr + si*si) / 4
			s.col[ky*n+kx] = (dr*dr + di*di) / 4
			total += s.lum[ky*n+kx] + s.col[ky*n+kx]
		}
	}
	// The separation leaves rounding residue (~1e-32 of the other signal's
	// power) where a signal has none, as the colour of a grey frame: a
	// ring below floor is no spectrum to find a peak in. Any 8-bit signal
	// with content is many orders of magnitude above it.
	floor := 1e-12 * total / (n * n)
	return strongestPeak(&s.lum, floor), strongestPeak(&s.col, floor)
}

// strongestPeak is log10 of the largest ratio, over the band of periods
// from 2 to 8 pixels, of a local maximum of the power spectrum (with its
// 3x3 neighbourhood, where the window spreads it) to the mean power of the
// ring of frequencies around it (Chebyshev distance 3). A face's spectrum
// is smooth at that scale, however directional; a screen's pixel grid or
// its moire puts isolated peaks far above their neighbours. Frequencies on
// the 8-pixel lattice (where JPEG's block edges put their energy in every
// frame, live or not) are left out, as are frequencies whose ring's mean
// power is at most floor.
func strongestPeak(power *[padTile * padTile]float64, floor float64) float64 {
	const n = padTile
	pw := func(kx, ky int) float64 { return power[(ky&(n-1))*n+kx&(n-1)] } // n is a power of two: & wraps negative indices too
	best := 1.0
	// half plane (the spectrum of a real image is symmetric)
	for ky := 0; ky <= n/2; ky++ {
		for kx := -n/2 + 1; kx <= n/2; kx++ {
			if ky == 0 && kx <= 0 {
				continue
			}
			if r2 := kx*kx + ky*ky; r2 < (n/8)*(n/8) || r2 > (n/2)*(n/2) || (kx%8 == 0 && ky%8 == 0) {
				continue
			}
			p := pw(kx, ky)
			var core float64
			local := true
			for dy := -1; dy <= 1 && local; dy++ {
				for dx := -1; dx <= 1; dx++ {
					if q := pw(kx+dx, ky+dy); q > p {
						local = false
						break
					} else if dx != 0 || dy != 0 {
						core += q
					}
				}
			}
			if !local {
				continue
			}
			var ring float64
			for d := -3; d <= 3; d++ {
				ring += pw(kx+d, ky-3) + pw(kx+d, ky+3)
				if d > -3 && d < 3 {
					ring += pw(kx-3, ky+d) + pw(kx+3, ky+d)
				}
			}
			if ring/24 <= floor {
				continue
			}
			best = math.Max(best, (p+core)/9/(ring/24))
		}
	}
	return math.Log10(best)
}

// hann64 is a Hann window of padTile points.
var hann64 = func() [padTile]float64 {
	var w [padTile]float64
	for i := range w {
		w[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(padTile-1))
	}
	return w
}()

// twiddle64 are the FFT's roots of unity for padTile points.
var twiddle64 = func() [padTile / 2]complex128 {
	var t [padTile / 2]complex128
	for i := range t {
		t[i] = cmplx.Exp(complex(0, -2*math.Pi*float64(i)/padTile))
	}
	return t
}()

// fft2 transforms the n x n (n = padTile) array a in place, rows then
// columns.
func fft2(a []complex128, n int) {
	col := make([]complex128, n)
	for y := range n {
		fft(a[y*n : (y+1)*n])
	}
	for x := range n {
		for y := range n {
			col[y] = a[y*n+x]
		}
		fft(col)
		for y := range n {
			a[y*n+x] = col[y]
		}
	}
}

// fft is an in-place iterative radix-2 FFT of padTile points.
func fft(a []complex128) {
	n := len(a)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j ^= bit
		if i < j {
			a[i], a[j] = a[j], a[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		step := padTile / size
		for start := 0; start < n; start += size {
			for k := range size / 2 {
				w := twiddle64[k*step]
				u, v := a[start+k], a[start+k+size/2]*w
				a[start+k], a[start+k+size/2] = u+v, u-v
			}
		}
	}
}
