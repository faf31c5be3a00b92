package faceauth

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// The face engine has two embedders. dlib's ResNet (through go-face) always
// runs: detection, the 68 landmarks and the 128-d descriptor. A second,
// optional one runs an ArcFace-style ONNX model through ONNX Runtime on the
// same frames (those that get a dlib descriptor), aligned from the same
// landmarks; with it a verification passes identity only when both agree
// (see docs/face-engine.md).

// Embedder sets (configuration face.embedders).
const (
	EmbeddersDlib     = "dlib"
	EmbeddersDlibONNX = "dlib+onnx"
)

// Files of the second embedder: the default model (fr_feature.onnx, see
// ../shared/models/README.md for its provenance) and ONNX Runtime's shared
// library, which github.com/yalue/onnxruntime_go v1.27.0 loads (built for
// ONNX Runtime 1.24.1).
const (
	ONNXModelFile   = "fr_feature.onnx"
	ONNXRuntimeFile = "libonnxruntime.so.1"
	// ONNXRuntimeVersion is the ONNX Runtime release the Go binding is
	// built for.
	ONNXRuntimeVersion = "1.24.1"
)

// ONNXFixCommand says how an operator installs the second embedder's files.
const ONNXFixCommand = "get " + ONNXRuntimeFile + " from the npm package onnxruntime-node@" + ONNXRuntimeVersion +
	" (`npm pack onnxruntime-node@" + ONNXRuntimeVersion + "`, file package/bin/napi-v6/linux/x64/" + ONNXRuntimeFile +
	") and " + ONNXModelFile + " from faceplugin-face-recognition-js@0.0.1 (package/model/" + ONNXModelFile +
	"), then run `faceidp models assemble --onnx-model FILE --onnxruntime FILE` (./scripts/demo does all of this); or set face.embedders: dlib"

// knownONNXSHA256 are the sums of the files ../shared/models/README.md
// documents, keyed by their name in the model directory.
func knownONNXSHA256() map[string]string {
	return map[string]string{
		ONNXModelFile:   "87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581",
		ONNXRuntimeFile: "53ef1ac028dd1b05554b8da28d9159eb3876f99868193d2aaa6e67f0243c23d4",
	}
}

// ONNXConfig configures the second embedder. Zero values take the defaults
// for fr_feature.onnx.
type ONNXConfig struct {
	// Model is the ONNX file: any ArcFace-compatible network taking one
	// 1x3xSxS float image of a face aligned to the 5-point ArcFace template
	// and returning one 1xD embedding compared by cosine.
	Model string
	// RuntimeLibrary is ONNX Runtime's shared library
	// (libonnxruntime.so.1, release 1.24.1).
	RuntimeLibrary string
	// InputSize is S (default 112).
	InputSize int
	// Mean and Std normalise each channel value p as (p - Mean) / Std
	// (defaults 127 and 128).
	Mean, Std float64
	// BGR feeds the channels in BGR order instead of RGB.
	BGR bool
	// OutputDim is D (default 512).
	OutputDim int
	// MinSimilarity is the smallest cosine similarity to the template that
	// counts as the same person (default DefaultONNXMinSimilarity).
	MinSimilarity float64
	// MinSwapSimilarity is the smallest cosine similarity allowed between
	// consecutive described frames of one challenge (default
	// DefaultONNXMinSwapSimilarity).
	MinSwapSimilarity float64
}

// Defaults of ONNXConfig (fr_feature.onnx).
const (
	DefaultONNXInputSize = 112
	DefaultONNXMean      = 127.0
	DefaultONNXStd       = 128.0
	DefaultONNXOutputDim = 512
)

func (c ONNXConfig) withDefaults() ONNXConfig {
	if c.InputSize == 0 {
		c.InputSize = DefaultONNXInputSize
	}
	if c.Mean == 0 {
		c.Mean = DefaultONNXMean
	}
	if c.Std == 0 {
		c.Std = DefaultONNXStd
	}
	if c.OutputDim == 0 {
		c.OutputDim = DefaultONNXOutputDim
	}
	if c.MinSimilarity == 0 {
		c.MinSimilarity = DefaultONNXMinSimilarity
	}
	if c.MinSwapSimilarity == 0 {
		c.MinSwapSimilarity = DefaultONNXMinSwapSimilarity
	}
	return c
}

// ONNXFileError reports a missing or unreadable file of the second
// embedder, with the command that fixes it.
type ONNXFileError struct {
	What string // "ONNX face model" or "ONNX Runtime library"
	Path string
	Err  error
}

func (e *ONNXFileError) Error() string {
	return fmt.Sprintf("%s %s: %v; %s", e.What, e.Path, e.Err, ONNXFixCommand)
}

func (e *ONNXFileError) Unwrap() error { return e.Err }

// CheckONNXFiles verifies that the model and the runtime library exist,
// are regular files and can be read. It does not hash them: any
// ArcFace-compatible model may be configured.
func CheckONNXFiles(c ONNXConfig) error {
	for _, f := range []struct{ what, path string }{
		{"ONNX Runtime library", c.RuntimeLibrary},
		{"ONNX face model", c.Model},
	} {
		if err := checkReadable(f.path); err != nil {
			return &ONNXFileError{What: f.what, Path: f.path, Err: err}
		}
	}
	return nil
}

func checkReadable(p string) error {
	if p == "" {
		return errors.New("no path configured")
	}
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("cannot open: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return errors.New("is not a regular file")
	}
	var b [1]byte
	if _, err := f.Read(b[:]); err != nil {
		return fmt.Errorf("cannot read: %w", err)
	}
	return nil
}

// DefaultONNXPaths are where the second embedder's files are looked for
// when not configured: beside dlib's models in the model directory.
func DefaultONNXPaths(modelDir string) (model, runtime string) {
	return filepath.Join(modelDir, ONNXModelFile), filepath.Join(modelDir, ONNXRuntimeFile)
}

// Embedding is one face embedding of the second embedder, L2-normalised.
type Embedding []float32

// Similarity is the cosine similarity of two embeddings (both unit length);
// mismatched lengths compare as 0.
func Similarity(a, b Embedding) float64 {
	if len(a) != len(b) {
		return 0
	}
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// ONNXFileKnown reports whether the file at path is the documented one for
// its name in the model directory (ONNXModelFile or ONNXRuntimeFile): the
// same SHA-256 as in ../shared/models/README.md. Another ArcFace model is
// allowed; this only tells the operator which one is installed.
func ONNXFileKnown(name, path string) (bool, error) {
	want, ok := knownONNXSHA256()[name]
	if !ok {
		return false, fmt.Errorf("no known sum for %s", name)
	}
	got, err := fileSHA256(path)
	if err != nil {
		return false, err
	}
	return got == want, nil
}
