package faceauth

import (
	"image"
	"sync"
)

// buffers recycles the large buffers of a frame's analysis between frames
// and attempts: the decoded planes, the analysis copy, the cue crop and
// the cue spectra, about 1 MB per 640x480 frame. Allocated afresh, they
// made Go's collector run several times per challenge, and on two cores
// its background marking takes one of them from dlib (a 2-step challenge:
// 404-416 ms at GOGC=100, 369-398 ms at GOGC=400, same code). Each pool
// holds one kind of buffer, so sizes match; a nil *buffers allocates.
type buffers struct {
	planes  sync.Pool // *[]byte: luma planes and analysis copies (same size at 640x480)
	chroma  sync.Pool // *[]byte: chroma planes
	crops   sync.Pool // *[]byte: the cues' face crops
	spectra sync.Pool // *spectrum
}

func getBytes(p *sync.Pool, n int) []byte {
	if v, ok := p.Get().(*[]byte); ok && cap(*v) >= n {
		return (*v)[:n]
	}
	return make([]byte, n)
}

func putBytes(p *sync.Pool, b []byte) {
	if cap(b) > 0 {
		p.Put(&b)
	}
}

// plane returns a luma plane (or analysis copy) buffer of n bytes.
func (bf *buffers) plane(n int) []byte {
	if bf == nil {
		return make([]byte, n)
	}
	return getBytes(&bf.planes, n)
}

func (bf *buffers) chromaPlane(n int) []byte {
	if bf == nil {
		return make([]byte, n)
	}
	return getBytes(&bf.chroma, n)
}

// rgba returns an RGBA image of r's size whose pixels are to be
// overwritten (they hold a previous frame's).
func (bf *buffers) rgba(r image.Rectangle) *image.RGBA {
	return &image.RGBA{Pix: bf.plane(4 * r.Dx() * r.Dy()), Stride: 4 * r.Dx(), Rect: r}
}

func (bf *buffers) crop(r image.Rectangle) *image.RGBA {
	if bf == nil {
		return image.NewRGBA(r)
	}
	return &image.RGBA{Pix: getBytes(&bf.crops, 4*r.Dx()*r.Dy()), Stride: 4 * r.Dx(), Rect: r}
}

func (bf *buffers) putCrop(img *image.RGBA) {
	if bf != nil {
		putBytes(&bf.crops, img.Pix)
	}
}

func (bf *buffers) spectrum() *spectrum {
	if bf != nil {
		if s, ok := bf.spectra.Get().(*spectrum); ok {
			return s
		}
	}
	return new(spectrum)
}

func (bf *buffers) putSpectrum(s *spectrum) {
	if bf != nil {
		bf.spectra.Put(s)
	}
}

// release returns a decoded frame's planes, or an analysis copy's pixels,
// to the pools. The caller must hold no other reference to img.
func (bf *buffers) release(img image.Image) {
	if bf == nil {
		return
	}
	switch m := img.(type) {
	case *image.YCbCr:
		putBytes(&bf.planes, m.Y)
		putBytes(&bf.chroma, m.Cb)
		putBytes(&bf.chroma, m.Cr)
	case *image.RGBA:
		putBytes(&bf.planes, m.Pix)
	}
}
