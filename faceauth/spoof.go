package faceauth

import "image"

// chromaHF measures what tells a face re-filmed from a phone or monitor
// from a face in front of the camera: the mean absolute colour difference
// (R-G, B-G) between neighbouring pixels of r. The sub-pixel grid and moire
// of a filmed screen put colour fringes at the finest scale that a real
// face lacks. It is only meaningful at the camera's native resolution (see
// pad_cues.go).
func chromaHF(img *image.RGBA, box image.Rectangle) float64 {
	r := box.Intersect(img.Rect)
	if r.Dx() < 4 || r.Dy() < 4 {
		return 0
	}
	var sum int
	w := r.Dx() - 1
	for y := r.Min.Y; y < r.Max.Y-1; y++ {
		row := img.Pix[y*img.Stride+r.Min.X*4:][:4*(w+1)]
		below := img.Pix[(y+1)*img.Stride+r.Min.X*4:][:4*w]
		for x := 0; x+4 <= len(below); x += 4 {
			p, q, d := row[x:x+4:x+4], row[x+4:x+8:x+8], below[x:x+4:x+4]
			rg0, bg0 := int(p[0])-int(p[1]), int(p[2])-int(p[1])
			rg1, bg1 := int(q[0])-int(q[1]), int(q[2])-int(q[1])
			rg2, bg2 := int(d[0])-int(d[1]), int(d[2])-int(d[1])
			sum += absInt(rg0-rg1) + absInt(bg0-bg1) + absInt(rg0-rg2) + absInt(bg0-bg2)
		}
	}
	return float64(sum) / float64(w*(r.Dy()-1)) / 2
}

func absInt(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
