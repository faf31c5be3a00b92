package faceauth

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"sync"

	face "github.com/Kagami/go-face"
	ort "github.com/yalue/onnxruntime_go"
)

// ONNX Runtime keeps one environment per process (onnxruntime_go holds it
// in package variables and loads the shared library once), while engines
// come and go (tests build several). ortRuntime counts the engines using it
// and refuses a second library path while the first is loaded.
var ortRuntime struct {
	mu    sync.Mutex
	path  string
	users int
}

// acquireONNXRuntime loads ONNX Runtime from path (once per process) and
// returns the func that releases this engine's use of it.
func acquireONNXRuntime(path string) (release func(), err error) {
	ortRuntime.mu.Lock()
	defer ortRuntime.mu.Unlock()
	if ortRuntime.users > 0 {
		if path != ortRuntime.path {
			return nil, fmt.Errorf("ONNX Runtime is already loaded from %s in this process; cannot load %s too", ortRuntime.path, path)
		}
	} else {
		ort.SetSharedLibraryPath(path)
		if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
			return nil, fmt.Errorf("load ONNX Runtime from %s: %w", path, err)
		}
		ortRuntime.path = path
	}
	ortRuntime.users++
	var once sync.Once
	return func() {
		once.Do(func() {
			ortRuntime.mu.Lock()
			defer ortRuntime.mu.Unlock()
			if ortRuntime.users--; ortRuntime.users == 0 {
				_ = ort.DestroyEnvironment()
			}
		})
	}, nil
}

// onnxModel is a loaded ONNX embedding model: its bytes (hashed, then
// handed to every worker's session, so what was hashed is what runs), its
// input and output names and the settings it was checked against.
type onnxModel struct {
	cfg     ONNXConfig
	data    []byte
	id      string // first 8 bytes of the file's SHA-256, hex
	input   string
	output  string
	release func()
}

// loadONNXModel loads ONNX Runtime and checks that the model takes one
// float tensor of 1x3xSxS (S = cfg.InputSize) and returns one of
// 1xD (D = cfg.OutputDim); dynamic dimensions accept the configured size.
func loadONNXModel(cfg ONNXConfig) (*onnxModel, error) {
	if err := CheckONNXFiles(cfg); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(cfg.Model)
	if err != nil {
		return nil, fmt.Errorf("read ONNX face model: %w", err)
	}
	release, err := acquireONNXRuntime(cfg.RuntimeLibrary)
	if err != nil {
		return nil, err
	}
	ins, outs, err := ort.GetInputOutputInfoWithONNXData(data)
	if err != nil {
		release()
		return nil, fmt.Errorf("ONNX face model %s: %w", cfg.Model, err)
	}
	if err := checkModelShape(ins, outs, cfg); err != nil {
		release()
		return nil, fmt.Errorf("ONNX face model %s: %w", cfg.Model, err)
	}
	sum := sha256.Sum256(data)
	return &onnxModel{cfg: cfg, data: data, id: hex.EncodeToString(sum[:8]), input: ins[0].Name, output: outs[0].Name, release: release}, nil
}

func checkModelShape(ins, outs []ort.InputOutputInfo, cfg ONNXConfig) error {
	if len(ins) != 1 || len(outs) != 1 {
		return fmt.Errorf("has %d inputs and %d outputs, want one of each (an ArcFace-style embedding network)", len(ins), len(outs))
	}
	in, out := ins[0], outs[0]
	if in.OrtValueType != ort.ONNXTypeTensor || in.DataType != ort.TensorElementDataTypeFloat || len(in.Dimensions) != 4 {
		return fmt.Errorf("input %s, want a float tensor Nx3xSxS", &in)
	}
	fits := func(dim, want int64) bool { return dim <= 0 || dim == want }
	s := int64(cfg.InputSize)
	if !fits(in.Dimensions[0], 1) || !fits(in.Dimensions[1], 3) || !fits(in.Dimensions[2], s) || !fits(in.Dimensions[3], s) {
		return fmt.Errorf("input %s does not take 1x3x%dx%d (face.onnx.input_size)", &in, s, s)
	}
	if out.OrtValueType != ort.ONNXTypeTensor || out.DataType != ort.TensorElementDataTypeFloat || len(out.Dimensions) != 2 ||
		!fits(out.Dimensions[0], 1) || !fits(out.Dimensions[1], int64(cfg.OutputDim)) {
		return fmt.Errorf("output %s is not 1x%d floats (face.onnx.output_dim)", &out, cfg.OutputDim)
	}
	return nil
}

func (m *onnxModel) close() {
	if m != nil && m.release != nil {
		m.release()
		m.release = nil
	}
}

// onnxEmbedder is one worker's session of the model, with its own input
// and output tensors; one goroutine at a time.
type onnxEmbedder struct {
	m    *onnxModel
	sess *ort.AdvancedSession
	in   *ort.Tensor[float32]
	out  *ort.Tensor[float32]
}

// newEmbedder opens a session on one intra-op thread: the engine's pool
// supplies the parallelism, as it does for OpenBLAS.
func (m *onnxModel) newEmbedder() (*onnxEmbedder, error) {
	s := int64(m.cfg.InputSize)
	in, err := ort.NewEmptyTensor[float32](ort.NewShape(1, 3, s, s))
	if err != nil {
		return nil, fmt.Errorf("ONNX input tensor: %w", err)
	}
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(1, int64(m.cfg.OutputDim)))
	if err != nil {
		in.Destroy()
		return nil, fmt.Errorf("ONNX output tensor: %w", err)
	}
	e := &onnxEmbedder{m: m, in: in, out: out}
	opts, err := ort.NewSessionOptions()
	if err != nil {
		e.close()
		return nil, fmt.Errorf("ONNX session options: %w", err)
	}
	defer opts.Destroy()
	if err := errors.Join(opts.SetIntraOpNumThreads(1), opts.SetInterOpNumThreads(1)); err != nil {
		e.close()
		return nil, fmt.Errorf("ONNX session options: %w", err)
	}
	e.sess, err = ort.NewAdvancedSessionWithONNXData(m.data, []string{m.input}, []string{m.output},
		[]ort.Value{in}, []ort.Value{out}, opts)
	if err != nil {
		e.close()
		return nil, fmt.Errorf("ONNX face model %s: %w", m.cfg.Model, err)
	}
	return e, nil
}

func (e *onnxEmbedder) close() {
	if e == nil {
		return
	}
	if e.sess != nil {
		e.sess.Destroy()
		e.sess = nil
	}
	if e.in != nil {
		e.in.Destroy()
		e.in = nil
	}
	if e.out != nil {
		e.out.Destroy()
		e.out = nil
	}
}

// embed aligns the face whose 68 landmarks are pts (in img's coordinates)
// to the ArcFace template, normalises it and runs the model. The result
// is L2-normalised, so the cosine similarity of two is their dot product.
func (e *onnxEmbedder) embed(img *image.RGBA, pts []point) (Embedding, error) {
	size := e.m.cfg.InputSize
	rgb, _, err := alignFace(img, pts, size)
	if err != nil {
		return nil, err
	}
	normalise(rgb, size, e.m.cfg, e.in.GetData())
	if err := e.sess.Run(); err != nil {
		return nil, fmt.Errorf("run ONNX face model: %w", err)
	}
	return newEmbedding(e.out.GetData())
}

// normalise writes an aligned RGB face into dst as NCHW floats
// (p - mean) / std, in RGB or, with cfg.BGR, BGR channel order.
func normalise(rgb []uint8, size int, cfg ONNXConfig, dst []float32) {
	plane := size * size
	mean, inv := float32(cfg.Mean), float32(1/cfg.Std)
	for c := range 3 {
		src := c
		if cfg.BGR {
			src = 2 - c
		}
		out := dst[c*plane : (c+1)*plane]
		for i := range out {
			out[i] = (float32(rgb[i*3+src]) - mean) * inv
		}
	}
}

// newEmbedding copies v, normalised to unit length.
func newEmbedding(v []float32) (Embedding, error) {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	n = math.Sqrt(n)
	if n == 0 || math.IsNaN(n) || math.IsInf(n, 0) {
		return nil, errors.New("ONNX face model returned a zero or non-finite embedding")
	}
	out := make(Embedding, len(v))
	for i, x := range v {
		out[i] = float32(float64(x) / n)
	}
	return out, nil
}

// embedFace runs the worker's second embedder on the face go-face found in
// img (the image its JPEG was made from), when the embedder is on and
// there is exactly one face with 68 landmarks; otherwise it returns nil.
func (w *worker) embedFace(img *image.RGBA, faces []face.Face) (Embedding, error) {
	if w.emb == nil || img == nil || len(faces) != 1 || len(faces[0].Shapes) != 68 {
		return nil, nil
	}
	return w.emb.embed(img, pointsOf(faces[0].Shapes))
}

// pointsOf converts go-face's landmarks.
func pointsOf(shapes []image.Point) []point {
	pts := make([]point, len(shapes))
	for i, p := range shapes {
		pts[i] = point{float64(p.X), float64(p.Y)}
	}
	return pts
}
