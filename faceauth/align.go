package faceauth

import (
	"errors"
	"image"
	"math"
)

// ArcFace-style networks expect the face warped so that five points land
// on a fixed template: the standard 112x112 one of insightface (eye
// centres, nose tip, mouth corners, in image order: the subject's right eye
// is on the image's left).
var arcfaceTemplate112 = [5]point{
	{38.2946, 51.6963}, // eye on the image's left
	{73.5318, 51.5014}, // eye on the image's right
	{56.0252, 71.7366}, // nose tip
	{41.5493, 92.3655}, // mouth corner on the image's left
	{70.7299, 92.2041}, // mouth corner on the image's right
}

// arcfaceTemplate scales the 112x112 template to a size x size input.
func arcfaceTemplate(size int) [5]point {
	s := float64(size) / 112
	var t [5]point
	for i, p := range arcfaceTemplate112 {
		t[i] = point{p.X * s, p.Y * s}
	}
	return t
}

// fivePoints takes the ArcFace alignment points from dlib's 68 landmarks:
// the centres of the two eyes (36-41, 42-47), the nose tip (30) and the
// mouth corners (48, 54).
func fivePoints(pts []point) ([5]point, error) {
	var out [5]point
	if len(pts) != 68 {
		return out, errors.New("align face: need dlib's 68 landmarks")
	}
	mean := func(from, to int) point {
		var p point
		for _, q := range pts[from : to+1] {
			p.X += q.X
			p.Y += q.Y
		}
		n := float64(to - from + 1)
		return point{p.X / n, p.Y / n}
	}
	out[0] = mean(36, 41)
	out[1] = mean(42, 47)
	out[2] = pts[30]
	out[3] = pts[48]
	out[4] = pts[54]
	return out, nil
}

// similarity is a 2-D similarity transform (rotation, uniform scale,
// translation): x' = a*x - b*y + tx, y' = b*x + a*y + ty.
type similarity struct{ a, b, tx, ty float64 }

func (s similarity) apply(p point) point {
	return point{s.a*p.X - s.b*p.Y + s.tx, s.b*p.X + s.a*p.Y + s.ty}
}

// inverse is the transform that undoes s.
func (s similarity) inverse() similarity {
	d := s.a*s.a + s.b*s.b
	a, b := s.a/d, -s.b/d
	return similarity{a: a, b: b, tx: -(a*s.tx - b*s.ty), ty: -(b*s.tx + a*s.ty)}
}

// estimateSimilarity is the least-squares similarity transform taking src
// onto dst (Umeyama's method; in two dimensions without reflection it has
// this closed form).
func estimateSimilarity(src, dst []point) (similarity, error) {
	if len(src) != len(dst) || len(src) < 2 {
		return similarity{}, errors.New("align face: need at least two point pairs")
	}
	var ms, md point
	for i := range src {
		ms.X += src[i].X
		ms.Y += src[i].Y
		md.X += dst[i].X
		md.Y += dst[i].Y
	}
	n := float64(len(src))
	ms = point{ms.X / n, ms.Y / n}
	md = point{md.X / n, md.Y / n}
	var num1, num2, den float64
	for i := range src {
		sx, sy := src[i].X-ms.X, src[i].Y-ms.Y
		dx, dy := dst[i].X-md.X, dst[i].Y-md.Y
		num1 += sx*dx + sy*dy
		num2 += sx*dy - sy*dx
		den += sx*sx + sy*sy
	}
	if den < 1e-9 {
		return similarity{}, errors.New("align face: landmarks collapse to one point")
	}
	a, b := num1/den, num2/den
	return similarity{a: a, b: b, tx: md.X - (a*ms.X - b*ms.Y), ty: md.Y - (b*ms.X + a*ms.Y)}, nil
}

// alignFace warps img so that the five points of the face whose 68
// landmarks are pts land on the ArcFace template of a size x size image,
// sampling bilinearly (black outside img, like OpenCV's warpAffine). It
// returns the warped face as RGB bytes, row by row.
func alignFace(img *image.RGBA, pts []point, size int) ([]uint8, similarity, error) {
	five, err := fivePoints(pts)
	if err != nil {
		return nil, similarity{}, err
	}
	tmpl := arcfaceTemplate(size)
	fwd, err := estimateSimilarity(five[:], tmpl[:])
	if err != nil {
		return nil, similarity{}, err
	}
	return warpSimilarity(img, fwd, size), fwd, nil
}

// warpSimilarity renders the size x size RGB image (row by row) that fwd
// maps img onto, sampling img bilinearly at the inverse of each pixel.
func warpSimilarity(img *image.RGBA, fwd similarity, size int) []uint8 {
	inv := fwd.inverse()
	out := make([]uint8, size*size*3)
	for v := 0; v < size; v++ {
		for u := 0; u < size; u++ {
			p := inv.apply(point{float64(u), float64(v)})
			sampleBilinear(img, p.X, p.Y, out[(v*size+u)*3:(v*size+u)*3+3])
		}
	}
	return out
}

// sampleBilinear writes the RGB value of img at (x, y) into dst,
// interpolating the four neighbouring pixels; pixels outside img count as
// black.
func sampleBilinear(img *image.RGBA, x, y float64, dst []uint8) {
	x0, y0 := math.Floor(x), math.Floor(y)
	fx, fy := x-x0, y-y0
	ix, iy := int(x0)+img.Rect.Min.X, int(y0)+img.Rect.Min.Y
	var acc [3]float64
	for k, w := range [4]float64{(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy} {
		if w == 0 {
			continue
		}
		px, py := ix+k%2, iy+k/2
		if !(image.Point{px, py}.In(img.Rect)) {
			continue
		}
		p := img.Pix[img.PixOffset(px, py):]
		acc[0] += w * float64(p[0])
		acc[1] += w * float64(p[1])
		acc[2] += w * float64(p[2])
	}
	for c := range acc {
		dst[c] = uint8(math.Min(255, math.Round(acc[c])))
	}
}
