package faceauth

import "math"

// motionStats summarise how the landmarks move over a sequence.
type motionStats struct {
	// rigid is the largest similarity motion of the face relative to the
	// first frame: centroid shift and scale change (in eye-distance units)
	// plus rotation (radians).
	rigid float64
	// nonRigid is the largest shape change left after aligning a frame's
	// landmarks to the first frame's with a similarity transform: the 90th
	// percentile point residual, in eye-distance units.
	nonRigid float64
}

func motionOf(obs []frameObs) motionStats {
	var m motionStats
	if len(obs) == 0 {
		return m
	}
	ref := obs[0].pts
	refC := centroid(ref)
	refIOD := dist(ref[36], ref[45])
	for _, o := range obs[1:] {
		c := centroid(o.pts)
		// Least-squares similarity from o.pts to ref (complex form).
		var sxx, sxy, syx, syy, norm float64
		for i, p := range o.pts {
			px, py := p.X-c.X, p.Y-c.Y
			qx, qy := ref[i].X-refC.X, ref[i].Y-refC.Y
			sxx += px * qx
			syy += py * qy
			sxy += px * qy
			syx += py * qx
			norm += px*px + py*py
		}
		a := (sxx + syy) / norm
		b := (sxy - syx) / norm
		scale := math.Hypot(a, b)
		rot := math.Atan2(b, a)
		shift := dist(c, refC) / refIOD
		m.rigid = math.Max(m.rigid, shift+math.Abs(math.Log(scale))+math.Abs(rot))
		res := make([]float64, len(o.pts))
		for i, p := range o.pts {
			px, py := p.X-c.X, p.Y-c.Y
			x := a*px - b*py
			y := b*px + a*py
			res[i] = math.Hypot(x-(ref[i].X-refC.X), y-(ref[i].Y-refC.Y)) / refIOD
		}
		m.nonRigid = math.Max(m.nonRigid, percentile(res, 0.9))
	}
	return m
}

func centroid(p []point) point {
	var c point
	for _, q := range p {
		c.X += q.X
		c.Y += q.Y
	}
	n := float64(len(p))
	return point{c.X / n, c.Y / n}
}

func percentile(v []float64, q float64) float64 {
	s := append([]float64(nil), v...)
	sortFloats(s)
	return s[int(q*float64(len(s)-1))]
}
