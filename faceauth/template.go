package faceauth

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
)

// DescriptorSize is the length of a dlib face descriptor.
const DescriptorSize = 128

// Descriptor is one 128-d face descriptor from dlib's recognition network.
type Descriptor [DescriptorSize]float32

// Template is a user's enrolled face: several descriptors from different
// frames (not only their mean), so matching can take the nearest sample,
// and, when the second embedder was on, several of its embeddings.
type Template struct {
	Descriptors []Descriptor
	// Embeddings are the second embedder's samples (unit length); empty in
	// a template made with dlib alone. A dlib-only template gains them at
	// its next passed verification (Result.Upgraded).
	Embeddings []Embedding
	// EmbeddingModel names the model that made Embeddings: the first 8
	// bytes of its SHA-256, hex. Embeddings of another model are ignored.
	EmbeddingModel string
}

// Template format versions (the first byte of a marshalled template):
// version 1 holds dlib descriptors only; version 2 adds the second
// embedder's samples. Both are read; version 2 is written.
const (
	templateVersion1 = 1
	templateVersion  = 2
	// maxEmbeddingDim bounds an embedding's length.
	maxEmbeddingDim = 4096
	modelIDBytes    = 8
)

// MaxTemplateSamples bounds the descriptors a template may hold.
const MaxTemplateSamples = 32

// Samples is the number of descriptors in the template.
func (t *Template) Samples() int { return len(t.Descriptors) }

// MarshalBinary encodes the template (version 2) as: version byte, sample
// count (uint16, big endian), each descriptor as 128 little-endian
// float32; then the embedding count (uint16), and when it is not 0 the
// embedding length (uint16), the model id (8 bytes) and each embedding as
// little-endian float32.
func (t *Template) MarshalBinary() ([]byte, error) {
	n, m := len(t.Descriptors), len(t.Embeddings)
	if n == 0 || n > MaxTemplateSamples {
		return nil, fmt.Errorf("face template: %d samples, want 1..%d", n, MaxTemplateSamples)
	}
	if m > MaxTemplateSamples {
		return nil, fmt.Errorf("face template: %d embeddings, want at most %d", m, MaxTemplateSamples)
	}
	var dim int
	var id []byte
	if m > 0 {
		dim = len(t.Embeddings[0])
		var err error
		if id, err = hex.DecodeString(t.EmbeddingModel); err != nil || len(id) != modelIDBytes {
			return nil, fmt.Errorf("face template: embedding model id %q is not %d hex bytes", t.EmbeddingModel, modelIDBytes)
		}
		if dim == 0 || dim > maxEmbeddingDim {
			return nil, fmt.Errorf("face template: embedding length %d, want 1..%d", dim, maxEmbeddingDim)
		}
	}
	b := make([]byte, 3, 3+n*DescriptorSize*4+2+2+modelIDBytes+m*dim*4)
	b[0] = templateVersion
	binary.BigEndian.PutUint16(b[1:3], uint16(n))
	for _, d := range t.Descriptors {
		b = appendFloats(b, d[:])
	}
	b = binary.BigEndian.AppendUint16(b, uint16(m))
	if m == 0 {
		return b, nil
	}
	b = binary.BigEndian.AppendUint16(b, uint16(dim))
	b = append(b, id...)
	for _, e := range t.Embeddings {
		if len(e) != dim {
			return nil, fmt.Errorf("face template: embeddings of lengths %d and %d", dim, len(e))
		}
		b = appendFloats(b, e)
	}
	return b, nil
}

func appendFloats(b []byte, v []float32) []byte {
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

// readFloats decodes len(dst) little-endian float32 from p, refusing
// non-finite values, and returns the rest of p.
func readFloats(p []byte, dst []float32) ([]byte, error) {
	for j := range dst {
		v := math.Float32frombits(binary.LittleEndian.Uint32(p))
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, errors.New("face template: non-finite value")
		}
		dst[j] = v
		p = p[4:]
	}
	return p, nil
}

// UnmarshalBinary decodes what MarshalBinary wrote, refusing unknown
// versions, truncated or padded input and non-finite values.
func (t *Template) UnmarshalBinary(b []byte) error {
	if len(b) < 3 {
		return errors.New("face template: truncated header")
	}
	version := b[0]
	if version != templateVersion1 && version != templateVersion {
		return fmt.Errorf("face template: unknown version %d", b[0])
	}
	n := int(binary.BigEndian.Uint16(b[1:3]))
	if n == 0 || n > MaxTemplateSamples {
		return fmt.Errorf("face template: %d samples, want 1..%d", n, MaxTemplateSamples)
	}
	dlibEnd := 3 + n*DescriptorSize*4
	if len(b) < dlibEnd || (version == templateVersion1 && len(b) != dlibEnd) {
		return fmt.Errorf("face template: %d bytes for %d samples", len(b), n)
	}
	ds := make([]Descriptor, n)
	p := b[3:]
	var err error
	for i := range ds {
		if p, err = readFloats(p, ds[i][:]); err != nil {
			return err
		}
	}
	var es []Embedding
	var model string
	if version == templateVersion {
		if es, model, err = readEmbeddings(p); err != nil {
			return err
		}
	}
	t.Descriptors, t.Embeddings, t.EmbeddingModel = ds, es, model
	return nil
}

// readEmbeddings decodes the embedding part of a version 2 template.
func readEmbeddings(p []byte) ([]Embedding, string, error) {
	if len(p) < 2 {
		return nil, "", errors.New("face template: truncated embedding header")
	}
	m := int(binary.BigEndian.Uint16(p))
	p = p[2:]
	if m == 0 {
		if len(p) != 0 {
			return nil, "", errors.New("face template: trailing bytes")
		}
		return nil, "", nil
	}
	if m > MaxTemplateSamples || len(p) < 2+modelIDBytes {
		return nil, "", fmt.Errorf("face template: %d embeddings or truncated header", m)
	}
	dim := int(binary.BigEndian.Uint16(p))
	model := hex.EncodeToString(p[2 : 2+modelIDBytes])
	p = p[2+modelIDBytes:]
	if dim == 0 || dim > maxEmbeddingDim || len(p) != m*dim*4 {
		return nil, "", fmt.Errorf("face template: %d bytes for %d embeddings of %d", len(p), m, dim)
	}
	es := make([]Embedding, m)
	var err error
	for i := range es {
		es[i] = make(Embedding, dim)
		if p, err = readFloats(p, es[i]); err != nil {
			return nil, "", err
		}
	}
	return es, model, nil
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

// HasEmbeddings reports whether the template holds embeddings of the model
// whose id is model.
func (t *Template) HasEmbeddings(model string) bool {
	return len(t.Embeddings) > 0 && t.EmbeddingModel == model
}

// MaxSimilarity is the cosine similarity of e to the nearest embedding
// sample.
func (t *Template) MaxSimilarity(e Embedding) float64 {
	best := math.Inf(-1)
	for _, s := range t.Embeddings {
		best = math.Max(best, Similarity(s, e))
	}
	return best
}
