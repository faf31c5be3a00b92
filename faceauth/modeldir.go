package faceauth

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// File names go-face loads from its model directory. The landmark model must
// be dlib's 68-point predictor stored under the 5-point name: go-face only
// knows that name, and blink/smile/turn analysis needs 68 landmarks.
const (
	ShapePredictorFile = "shape_predictor_5_face_landmarks.dat"
	RecognitionFile    = "dlib_face_recognition_resnet_model_v1.dat"
	DetectorFile       = "mmod_human_face_detector.dat"

	// ShapePredictor68Source is the name dlib (and Debian's libdlib-data)
	// give the 68-point landmark model.
	ShapePredictor68Source = "shape_predictor_68_face_landmarks.dat"
	// DebianShapePredictor68 is where libdlib-data installs it.
	DebianShapePredictor68 = "/usr/share/dlib/shape_predictor_68_face_landmarks.dat"
)

// ModelFiles lists the files a model directory must hold.
var ModelFiles = []string{ShapePredictorFile, RecognitionFile, DetectorFile}

// shapePredictor68Size is the byte size of dlib's 68-point predictor; the
// 5-point one is about 9 MB. Checking the size catches the common mistake of
// using the 5-point model, which would give go-face 5 landmarks per face.
const shapePredictor68Size = 99693937

// KnownSHA256 are the SHA-256 sums (hex) of the uncompressed model files,
// keyed by their name in the model directory: Debian's 68-point predictor,
// the recognition network and MMOD detector provided in ../shared/models.
func KnownSHA256() map[string]string {
	return map[string]string{
		ShapePredictorFile: "fbdc2cb80eb9aa7a758672cbfdda32ba6300efe9b6e6c7a299ff7e736b11b92f",
		RecognitionFile:    "cdb1d47b961fe310ef1f3aa2974c5f65d29c079346760f6b6785c7e405f7266a",
		DetectorFile:       "4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6",
	}
}

// ModelFixCommand is what an operator runs to build a model directory.
const ModelFixCommand = "run `faceidp models assemble --from <dir with the .dat files>` or `faceidp models fetch`"

// ModelDirError reports a missing, unreadable or wrong model file.
type ModelDirError struct {
	Dir  string
	File string
	Err  error
}

func (e *ModelDirError) Error() string {
	return fmt.Sprintf("face model %s in %s: %v; %s", e.File, e.Dir, e.Err, ModelFixCommand)
}

func (e *ModelDirError) Unwrap() error { return e.Err }

// CheckModelDir verifies that dir holds every file go-face needs, readable
// and non-empty, and that the landmark model is the 68-point one. It does
// not hash the files (AssembleModelDir and FetchModels do that): operators
// may use the official recognition network, whose sum differs from the
// development copy.
func CheckModelDir(dir string) error {
	if dir == "" {
		return &ModelDirError{Dir: "(unset)", File: "model directory", Err: errors.New("no model directory configured")}
	}
	for _, name := range ModelFiles {
		p := filepath.Join(dir, name)
		f, err := os.Open(p)
		if err != nil {
			return &ModelDirError{Dir: dir, File: name, Err: fmt.Errorf("cannot open: %w", err)}
		}
		st, err := f.Stat()
		if err == nil && st.IsDir() {
			err = errors.New("is a directory")
		}
		if err == nil {
			var b [1]byte
			if _, rerr := f.Read(b[:]); rerr != nil {
				err = fmt.Errorf("cannot read: %w", rerr)
			}
		}
		f.Close()
		if err != nil {
			return &ModelDirError{Dir: dir, File: name, Err: err}
		}
		if name == ShapePredictorFile && st.Size() != shapePredictor68Size {
			return &ModelDirError{Dir: dir, File: name, Err: fmt.Errorf(
				"is %d bytes, not dlib's 68-point landmark model (%d bytes, %s); the 5-point model cannot drive blink/smile/turn detection",
				st.Size(), shapePredictor68Size, ShapePredictor68Source)}
		}
	}
	return nil
}

// ModelSources says where AssembleModelDir finds the model files.
type ModelSources struct {
	// Dir holds dlib_face_recognition_resnet_model_v1.dat and
	// mmod_human_face_detector.dat (for example ../shared/models).
	Dir string
	// ShapePredictor68 is the 68-point landmark model; empty means
	// DebianShapePredictor68, or Dir/shape_predictor_68_face_landmarks.dat
	// when that exists.
	ShapePredictor68 string
	// Copy copies the files instead of symlinking them.
	Copy bool
	// Expected overrides KnownSHA256 per target name (for example the sum of
	// the official recognition network).
	Expected map[string]string
	// ONNXModel is the second embedder's model to install as
	// fr_feature.onnx; empty means Dir/fr_feature.onnx when that exists.
	ONNXModel string
	// ONNXRuntime is ONNX Runtime's libonnxruntime.so.1 to install beside
	// the models; empty means Dir/libonnxruntime.so.1 when that exists.
	ONNXRuntime string
}

// AssembleModelDir fills dir with the model files from src, verifying each
// against its expected SHA-256 before linking or copying it: dlib's three
// files when src.Dir is set, and the second embedder's model and ONNX
// Runtime library when given (or found in src.Dir). Without src.Dir only
// the ONNX files are placed, beside dlib's files already in dir.
func AssembleModelDir(dir string, src ModelSources) error {
	sources := map[string]string{}
	var names []string
	if src.Dir != "" {
		sp := src.ShapePredictor68
		if sp == "" {
			sp = DebianShapePredictor68
			if cand := filepath.Join(src.Dir, ShapePredictor68Source); fileExists(cand) {
				sp = cand
			}
		}
		sources[ShapePredictorFile] = sp
		sources[RecognitionFile] = filepath.Join(src.Dir, RecognitionFile)
		sources[DetectorFile] = filepath.Join(src.Dir, DetectorFile)
		names = append(names, ModelFiles...)
	}
	for name, given := range map[string]string{ONNXModelFile: src.ONNXModel, ONNXRuntimeFile: src.ONNXRuntime} {
		if given == "" && src.Dir != "" && fileExists(filepath.Join(src.Dir, name)) {
			given = filepath.Join(src.Dir, name)
		}
		if given != "" {
			sources[name] = given
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return errors.New("assemble face models: no source given (a directory of dlib's models, an ONNX model or the ONNX Runtime library)")
	}
	want := KnownSHA256()
	for k, v := range knownONNXSHA256() {
		want[k] = v
	}
	for k, v := range src.Expected {
		want[k] = v
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("assemble face models: create %s: %w", dir, err)
	}
	for _, name := range names {
		from, err := filepath.Abs(sources[name])
		if err != nil {
			return fmt.Errorf("assemble face models: %s: %w", name, err)
		}
		sum, err := fileSHA256(from)
		if err != nil {
			return fmt.Errorf("assemble face models: %s from %s: %w", name, from, err)
		}
		if sum != want[name] {
			return fmt.Errorf("assemble face models: %s has sha256 %s, want %s; refusing it", from, sum, want[name])
		}
		to := filepath.Join(dir, name)
		if err := placeFile(from, to, src.Copy); err != nil {
			return fmt.Errorf("assemble face models: %s: %w", name, err)
		}
	}
	return CheckModelDir(dir)
}

// placeFile symlinks (or copies) from to to, replacing to atomically.
func placeFile(from, to string, copyFile bool) error {
	tmp := to + ".tmp"
	_ = os.Remove(tmp)
	if !copyFile {
		if err := os.Symlink(from, tmp); err != nil {
			return err
		}
		return os.Rename(tmp, to)
	}
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(tmp)
		return err
	}
	if err := out.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, to)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
