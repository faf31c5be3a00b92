package faceauth

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"image"
	"image/draw"
	"io"
	"math"
	"sync"

	face "github.com/Kagami/go-face"
)

func cryptoRand() io.Reader { return rand.Reader }

// Analysis sizes: challenge frames are analysed with their long side at
// most challengeSide pixels (640x480 frames are halved), enrolment photos
// at most enrolSide.
const (
	challengeSide = 320
	enrolSide     = 4096
	// analysisJPEGQuality is the quality of the JPEG handed to go-face
	// (it only reads JPEG).
	analysisJPEGQuality = 92
)

type point struct{ X, Y float64 }

// frameObs is what the engine sees in one frame, in analysis coordinates.
type frameObs struct {
	index int
	faces int
	box   image.Rectangle
	pts   []point // 68 landmarks when faces == 1
	// desc is the face's descriptor when described is set; jpg is the
	// analysis JPEG of a frame not described yet (for describeFrames).
	desc      Descriptor
	described bool
	jpg       []byte
	width     int
	height    int
	// luma statistics of the face box
	brightness float64
	sharpness  float64
	// pad are the presentation-attack cues, measured on the native-
	// resolution face region (see pad_cues.go)
	pad padFrame
	// emb is the second embedder's embedding of a described frame (nil
	// when that embedder is off); img keeps the analysis image of a frame
	// not described yet for it.
	emb Embedding
	img *image.RGBA
}

func dist(a, b point) float64 { return math.Hypot(a.X-b.X, a.Y-b.Y) }

// precheckFrames validates every frame's format and size from its header
// before any is decoded, so bad input is refused cheaply and in order.
func precheckFrames(frames [][]byte, lim Limits) error {
	if err := checkFrameCount(len(frames), lim); err != nil {
		return err
	}
	for i, b := range frames {
		if err := checkHeader(b, i, lim); err != nil {
			return err
		}
	}
	return nil
}

// analyseFrames decodes every frame, downscales it so its long side is at
// most side, and finds its face and landmarks, spreading frames over the
// pool's workers. Frames with describe[i] set (all of them when describe is
// nil) go through go-face and get a descriptor; the others get landmarks
// only and keep their analysis JPEG for describeFrames. The caller must
// hold an admission from pool.enter.
func (e *Engine) analyseFrames(ctx context.Context, frames [][]byte, lim Limits, side int, describe []bool) ([]frameObs, error) {
	obs := make([]frameObs, len(frames))
	err := e.forEach(ctx, len(frames), func(i int) (err error) {
		obs[i], err = e.analyseFrame(ctx, frames[i], i, lim, side, describe == nil || describe[i], describe == nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	return obs, nil
}

// describeFrames adds go-face's descriptor to the frames idx of obs that
// were analysed for landmarks only.
func (e *Engine) describeFrames(ctx context.Context, obs []frameObs, idx []int) error {
	return e.forEach(ctx, len(idx), func(k int) error { return e.describeFrame(ctx, &obs[idx[k]]) })
}

// describeFrame adds go-face's descriptor to a frame analysed for
// landmarks only.
func (e *Engine) describeFrame(ctx context.Context, o *frameObs) error {
	var faces []face.Face
	err := e.withWorker(ctx, func(w *worker) (err error) {
		faces, err = w.rec.Recognize(o.jpg)
		return err
	})
	if err != nil {
		return fmt.Errorf("frame %d: recognize: %w", o.index, err)
	}
	if len(faces) != 1 {
		return fmt.Errorf("frame %d: go-face found %d faces where the landmarker found one", o.index, len(faces))
	}
	o.desc, o.described, o.jpg = Descriptor(faces[0].Descriptor), true, nil
	return nil
}

// forEach calls fn(i) for i in [0, n), as many at a time as the pool has
// workers, and returns the first error by index.
func (e *Engine) forEach(ctx context.Context, n int, fn func(i int) error) error {
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(e.pool.size(), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = fn(i)
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// withWorker runs fn on a free worker of the pool.
func (e *Engine) withWorker(ctx context.Context, fn func(w *worker) error) error {
	w, err := e.pool.acquire(ctx)
	if err != nil {
		return err
	}
	defer e.pool.release(w)
	return fn(w)
}

// analyseFrame decodes and checks one frame, then holds a worker only for
// go-face or the landmarker.
//
// With embed set (every frame described: enrolment) the second embedder
// runs on the frame too; otherwise a challenge's frames keep their image
// for embedFrames.
func (e *Engine) analyseFrame(ctx context.Context, b []byte, idx int, lim Limits, side int, describe, embed bool) (frameObs, error) {
	img, err := decodeFrame(b, idx, lim, e.bufs)
	if err != nil {
		return frameObs{}, err
	}
	small := analysisCopy(img, side, e.bufs)
	jpg, err := analysisJPEG(b, img, small)
	if err != nil {
		return frameObs{}, fmt.Errorf("frame %d: encode for analysis: %w", idx, err)
	}
	var faces []face.Face
	var emb Embedding
	n := 0
	err = e.withWorker(ctx, func(w *worker) (err error) {
		if describe {
			faces, err = w.rec.Recognize(jpg)
			n = len(faces)
			if err == nil && embed {
				emb, err = w.embedFace(small, faces)
			}
			return err
		}
		n, faces, err = w.lm.detect(jpg)
		return err
	})
	if err != nil {
		return frameObs{}, fmt.Errorf("frame %d: recognize: %w", idx, err)
	}
	o, err := observe(idx, small, n, faces)
	if err != nil {
		return frameObs{}, err
	}
	if o.faces == 1 {
		o.pad = measurePAD(img, o.box, small.Rect.Dx(), e.bufs)
	}
	o.described, o.emb = describe, emb
	if !describe {
		o.jpg = jpg
	}
	keep := e.onnx != nil && emb == nil
	if keep {
		o.img = small
	}
	// Nothing refers to the decoded frame or (unless kept) the analysis
	// copy any more; the copy may be the frame itself (a small RGBA).
	if image.Image(small) != img {
		e.bufs.release(img)
	}
	if !keep {
		e.bufs.release(small)
	}
	return o, nil
}

// analysisJPEG is the JPEG go-face reads for a frame: the uploaded bytes
// themselves when they are a colour (YCbCr) JPEG that needed no downscaling
// (the capture page's frames), which spares a lossy re-encode per frame;
// otherwise small encoded afresh. go-face's loader reads only 3-channel
// JPEGs, so greyscale and CMYK uploads are always re-encoded.
func analysisJPEG(b []byte, decoded image.Image, small *image.RGBA) ([]byte, error) {
	if _, colour := decoded.(*image.YCbCr); colour && bytes.HasPrefix(b, jpegMagic) && decoded.Bounds().Size() == small.Rect.Size() {
		return b, nil
	}
	return encodeJPEG(small, analysisJPEGQuality)
}

// observe turns the faces found in a frame (n of them, the first described
// in faces) into a frameObs.
func observe(idx int, img *image.RGBA, n int, faces []face.Face) (frameObs, error) {
	o := frameObs{index: idx, faces: n, width: img.Rect.Dx(), height: img.Rect.Dy()}
	if n != 1 {
		return o, nil
	}
	f := faces[0]
	if len(f.Shapes) != 68 {
		return o, fmt.Errorf("frame %d: the landmark model gave %d points, want 68; the model directory's %s must be dlib's 68-point model", idx, len(f.Shapes), ShapePredictorFile)
	}
	o.box = f.Rectangle
	o.desc = Descriptor(f.Descriptor)
	o.pts = make([]point, 68)
	for i, p := range f.Shapes {
		o.pts[i] = point{float64(p.X), float64(p.Y)}
	}
	o.brightness, o.sharpness = lumaStats(img, f.Rectangle.Intersect(img.Rect))
	return o, nil
}

// toRGBA converts any decoded image to RGBA (fast paths in image/draw).
func toRGBA(img image.Image) *image.RGBA {
	if r, ok := img.(*image.RGBA); ok && r.Rect.Min == (image.Point{}) {
		return r
	}
	b := img.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(dst, dst.Rect, img, b.Min, draw.Src)
	return dst
}

// analysisCopy is img as RGBA with its long side at most side pixels. A
// 4:2:0 JPEG (what cameras and the capture page send) exactly twice the
// side is halved straight from its planes: each output pixel is the mean
// of its four luma samples with the chroma sample they share, which is
// what area averaging the converted image gives (the conversion is
// affine), without converting the full frame.
//
// The copy's pixels come from bufs (which may be nil) unless it is img
// itself (an RGBA image no larger than side).
func analysisCopy(img image.Image, side int, bufs *buffers) *image.RGBA {
	if y, ok := img.(*image.YCbCr); ok && y.SubsampleRatio == image.YCbCrSubsampleRatio420 && y.Rect.Min == (image.Point{}) &&
		max(y.Rect.Dx(), y.Rect.Dy()) == 2*side && y.Rect.Dx()%2 == 0 && y.Rect.Dy()%2 == 0 {
		return halveYCbCr420(y, bufs)
	}
	return downscale(toRGBA(img), side)
}

// halveYCbCr420 is analysisCopy's fast path.
func halveYCbCr420(src *image.YCbCr, bufs *buffers) *image.RGBA {
	w, h := src.Rect.Dx()/2, src.Rect.Dy()/2
	dst := bufs.rgba(image.Rect(0, 0, w, h))
	for y := range h {
		y0 := src.Y[2*y*src.YStride:][:2*w]
		y1 := src.Y[(2*y+1)*src.YStride:][:2*w]
		cb := src.Cb[y*src.CStride:][:w]
		cr := src.Cr[y*src.CStride:][:w]
		d := dst.Pix[y*dst.Stride:][:4*w]
		for x := range cb {
			a, b := y0[2*x:2*x+2:2*x+2], y1[2*x:2*x+2:2*x+2]
			l := (int32(a[0]) + int32(a[1]) + int32(b[0]) + int32(b[1]) + 2) / 4
			// color.YCbCrToRGB's fixed-point arithmetic, inlined (the call
			// was a tenth of this loop's time)
			yy, b1, r1 := l*0x10101, int32(cb[x])-128, int32(cr[x])-128
			o := d[4*x : 4*x+4 : 4*x+4]
			o[0], o[1], o[2], o[3] = clampFixed(yy+91881*r1), clampFixed(yy-22554*b1-46802*r1), clampFixed(yy+116130*b1), 255
		}
	}
	return dst
}

// clampFixed is a 16.16 fixed-point colour value clamped to [0, 255], as
// in color.YCbCrToRGB.
func clampFixed(v int32) uint8 {
	if uint32(v)&0xff000000 == 0 {
		return uint8(v >> 16)
	}
	return uint8(^(v >> 31))
}

// downscale shrinks img by area averaging so that its long side is at most
// side; smaller images are returned as they are.
func downscale(img *image.RGBA, side int) *image.RGBA {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	long := max(w, h)
	if long <= side {
		return img
	}
	nw := max(1, w*side/long)
	nh := max(1, h*side/long)
	dst := image.NewRGBA(image.Rect(0, 0, nw, nh))
	for y := 0; y < nh; y++ {
		y0, y1 := y*h/nh, (y+1)*h/nh
		for x := 0; x < nw; x++ {
			x0, x1 := x*w/nw, (x+1)*w/nw
			var r, g, b, n uint32
			for sy := y0; sy < y1; sy++ {
				row := img.Pix[sy*img.Stride+x0*4 : sy*img.Stride+x1*4]
				for i := 0; i < len(row); i += 4 {
					r += uint32(row[i])
					g += uint32(row[i+1])
					b += uint32(row[i+2])
					n++
				}
			}
			d := dst.Pix[y*dst.Stride+x*4:]
			d[0], d[1], d[2], d[3] = uint8(r/n), uint8(g/n), uint8(b/n), 255
		}
	}
	return dst
}

func luma(p []uint8) float64 {
	return 0.299*float64(p[0]) + 0.587*float64(p[1]) + 0.114*float64(p[2])
}

// lumaStats returns the mean luma and the variance of the Laplacian (a
// sharpness measure) inside r.
func lumaStats(img *image.RGBA, r image.Rectangle) (mean, lapVar float64) {
	if r.Dx() < 3 || r.Dy() < 3 {
		return 0, 0
	}
	at := func(x, y int) float64 { return luma(img.Pix[y*img.Stride+x*4:]) }
	var sum, lsum, lsq float64
	var n, ln float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			v := at(x, y)
			sum += v
			n++
			if y > r.Min.Y && y < r.Max.Y-1 && x > r.Min.X && x < r.Max.X-1 {
				l := at(x-1, y) + at(x+1, y) + at(x, y-1) + at(x, y+1) - 4*v
				lsum += l
				lsq += l * l
				ln++
			}
		}
	}
	lm := lsum / ln
	return sum / n, lsq/ln - lm*lm
}
