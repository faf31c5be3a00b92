package faceauth

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// DescriptorSize is the length of a dlib face descriptor.
const DescriptorSize = 128

// Descriptor is one 128-d face descriptor from dlib's recognition network.
type Descriptor [DescriptorSize]float32

// Template is a user's enrolled face: several descriptors from different
// frames (not only their mean), so matching can take the nearest sample.
type Template struct {
	Descriptors []Descriptor
}

// templateVersion is the first byte of a marshalled template.
const templateVersion = 1

// MaxTemplateSamples bounds the descriptors a template may hold.
const MaxTemplateSamples = 32

// Samples is the number of descriptors in the template.
func (t *Template) Samples() int { return len(t.Descriptors) }

// MarshalBinary encodes the template as: version byte, sample count
// (uint16, big endian), then each descriptor as 128 little-endian float32.
func (t *Template) MarshalBinary() ([]byte, error) {
	n := len(t.Descriptors)
	if n == 0 || n > MaxTemplateSamples {
		return nil, fmt.Errorf("face template: %d samples, want 1..%d", n, MaxTemplateSamples)
	}
	b := make([]byte, 3, 3+n*DescriptorSize*4)
	b[0] = templateVersion
	binary.BigEndian.PutUint16(b[1:3], uint16(n))
	for _, d := range t.Descriptors {
		for _, v := range d {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
	}
	return b, nil
}

// UnmarshalBinary decodes what MarshalBinary wrote, refusing unknown
// versions, truncated or padded input and non-finite values.
func (t *Template) UnmarshalBinary(b []byte) error {
	if len(b) < 3 {
		return errors.New("face template: truncated header")
	}
	if b[0] != templateVersion {
		return fmt.Errorf("face template: unknown version %d", b[0])
	}
	n := int(binary.BigEndian.Uint16(b[1:3]))
	if n == 0 || n > MaxTemplateSamples {
		return fmt.Errorf("face template: %d samples, want 1..%d", n, MaxTemplateSamples)
	}
	if len(b) != 3+n*DescriptorSize*4 {
		return fmt.Errorf("face template: %d bytes for %d samples", len(b), n)
	}
	ds := make([]Descriptor, n)
	p := b[3:]
	for i := range ds {
		for j := range ds[i] {
			v := math.Float32frombits(binary.LittleEndian.Uint32(p))
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return errors.New("face template: non-finite value")
			}
			ds[i][j] = v
			p = p[4:]
		}
	}
	t.Descriptors = ds
	return nil
}

// Distance is the Euclidean distance between two descriptors.
func Distance(a, b Descriptor) float64 {
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return math.Sqrt(s)
}

// MinDistance is the distance from d to the nearest template sample.
func (t *Template) MinDistance(d Descriptor) float64 {
	best := math.Inf(1)
	for _, s := range t.Descriptors {
		if v := Distance(s, d); v < best {
			best = v
		}
	}
	return best
}
