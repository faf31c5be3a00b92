package faceauth

import (
	"image"
	"sort"
)

// screenCues are pixel statistics of the face region that tell a face
// re-filmed from a phone or monitor from a face in front of the camera.
type screenCues struct {
	// chromaHF is the mean absolute colour difference (R-G, B-G) between
	// neighbouring pixels: the sub-pixel grid and moire of a filmed screen
	// put colour fringes at the finest scale that a real face lacks.
	chromaHF float64
	// lumaHF is the mean absolute luma difference between neighbours.
	lumaHF float64
	// contrast is the 2nd-98th percentile luma range of the face box.
	contrast float64
}

func screenCuesOf(img *image.RGBA, box image.Rectangle) screenCues {
	r := box.Intersect(img.Rect)
	if r.Dx() < 4 || r.Dy() < 4 {
		return screenCues{}
	}
	var c, l, n float64
	lumas := make([]float64, 0, r.Dx()*r.Dy())
	for y := r.Min.Y; y < r.Max.Y-1; y++ {
		for x := r.Min.X; x < r.Max.X-1; x++ {
			p := img.Pix[y*img.Stride+x*4:]
			q := img.Pix[y*img.Stride+(x+1)*4:]
			d := img.Pix[(y+1)*img.Stride+x*4:]
			rg0, bg0 := float64(p[0])-float64(p[1]), float64(p[2])-float64(p[1])
			rg1, bg1 := float64(q[0])-float64(q[1]), float64(q[2])-float64(q[1])
			rg2, bg2 := float64(d[0])-float64(d[1]), float64(d[2])-float64(d[1])
			c += abs(rg0-rg1) + abs(bg0-bg1) + abs(rg0-rg2) + abs(bg0-bg2)
			lp := luma(p)
			l += abs(lp-luma(q)) + abs(lp-luma(d))
			lumas = append(lumas, lp)
			n++
		}
	}
	sort.Float64s(lumas)
	lo, hi := lumas[len(lumas)*2/100], lumas[len(lumas)*98/100]
	return screenCues{chromaHF: c / n / 2, lumaHF: l / n / 2, contrast: hi - lo}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// maxScreenChroma: live faces measure 2.2-6.4, faces re-filmed from a
// phone screen 31-34 (median over frames, at 320x240).
const maxScreenChroma = 15.0

// looksLikeScreen is true when the face region carries the fine colour
// fringes of a filmed screen in most frames.
func looksLikeScreen(obs []frameObs) bool {
	v := make([]float64, len(obs))
	for i, o := range obs {
		v[i] = o.screen.chromaHF
	}
	return median(v) > maxScreenChroma
}
