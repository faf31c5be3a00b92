package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faceidp/faceidp/faceauth"
)

// onnxFiles are the second embedder's files in the assembled model
// directory (scripts/test puts them there).
func onnxFiles(t *testing.T) (model, runtime string) {
	model, runtime = faceauth.DefaultONNXPaths(modelsDir(t))
	if err := faceauth.CheckONNXFiles(faceauth.ONNXConfig{Model: model, RuntimeLibrary: runtime}); err != nil {
		t.Fatalf("the second embedder's files (run scripts/test): %v", err)
	}
	return model, runtime
}

// With face.embedders: dlib+onnx, serve refuses to start without ONNX
// Runtime's library or the model, naming the file and the commands that
// fix it, before it touches the database.
func TestServeRefusesMissingONNXRuntime(t *testing.T) {
	dir := modelsDir(t)
	onnxFiles(t)
	missing := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	e := newTestEnv(t).with("FACEIDP_FACE_MODE=optional", "FACEIDP_FACE_MODELS_DIR="+dir,
		"FACEIDP_FACE_EMBEDDERS=dlib+onnx", "FACEIDP_FACE_ONNX_RUNTIME_LIBRARY="+missing)
	msg := e.fails("", "serve")
	for _, want := range []string{missing, "ONNX Runtime library", "npm pack onnxruntime-node@1.24.1", "faceidp models assemble", "face.embedders: dlib", `face.embedders is "dlib+onnx"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("serve output lacks %q:\n%s", want, msg)
		}
	}
	noModel := filepath.Join(t.TempDir(), "fr_feature.onnx")
	msg = newTestEnv(t).with("FACEIDP_FACE_MODE=required", "FACEIDP_FACE_MODELS_DIR="+dir, "FACEIDP_FACE_EMBEDDERS=dlib+onnx", "FACEIDP_FACE_ONNX_MODEL="+noModel).fails("", "serve")
	if !strings.Contains(msg, "ONNX face model "+noModel) || !strings.Contains(msg, "faceidp models assemble") {
		t.Errorf("serve without the model: %s", msg)
	}
}

// serve starts with both embedders and says so.
func TestServeWithBothEmbedders(t *testing.T) {
	e := newTestEnv(t).with("FACEIDP_FACE_MODE=optional", "FACEIDP_FACE_MODELS_DIR="+modelsDir(t),
		"FACEIDP_FACE_EMBEDDERS=dlib+onnx", "FACEIDP_FACE_RECOGNIZERS=1", "FACEIDP_LOG_LEVEL=info")
	onnxFiles(t)
	_, stop := serveUntilReady(t, e)
	r := stop()
	if r.code != 0 {
		t.Fatalf("serve: exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "embedders=dlib+onnx") {
		t.Errorf("serve did not log its embedders:\n%s", r.stderr)
	}
}

// models check reports the second embedder's files and the embedders;
// models assemble installs them with their SHA-256 checked.
func TestModelsCommandsONNX(t *testing.T) {
	e := newTestEnv(t)
	src := modelsDir(t)
	model, runtime := onnxFiles(t)
	out := e.ok("", "models", "check", "--dir", src, "--embedders", "dlib+onnx")
	for _, want := range []string{"ok       " + filepath.Join(src, "fr_feature.onnx"), "ok       " + filepath.Join(src, "libonnxruntime.so.1"), "embedders: dlib+onnx"} {
		if !strings.Contains(out, want) {
			t.Errorf("models check lacks %q:\n%s", want, out)
		}
	}
	// The configured embedders are reported without --dir.
	out = e.with("FACEIDP_FACE_MODELS_DIR="+src).ok("", "models", "check")
	if !strings.Contains(out, "embedders: dlib (the ONNX files are present") {
		t.Errorf("models check with face.embedders dlib:\n%s", out)
	}

	// A directory with dlib's files only: dlib works, dlib+onnx does not.
	sp, _ := filepath.EvalSymlinks(filepath.Join(src, faceauth.ShapePredictorFile))
	dlibDir := filepath.Join(t.TempDir(), "dlib-only")
	if err := os.MkdirAll(dlibDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{faceauth.RecognitionFile, faceauth.DetectorFile} {
		p, _ := filepath.EvalSymlinks(filepath.Join(src, f))
		if err := os.Symlink(p, filepath.Join(dlibDir, f)); err != nil {
			t.Fatal(err)
		}
	}
	dst := filepath.Join(t.TempDir(), "models")
	e.ok("", "models", "assemble", "--dir", dst, "--from", dlibDir, "--shape-predictor", sp)
	out = e.ok("", "models", "check", "--dir", dst)
	if !strings.Contains(out, "missing  "+filepath.Join(dst, "fr_feature.onnx")) || !strings.Contains(out, "embedders: dlib (the second embedder, dlib+onnx, is not installed)") {
		t.Errorf("models check of a dlib-only dir:\n%s", out)
	}
	msg := e.fails("", "models", "check", "--dir", dst, "--embedders", "dlib+onnx")
	if !strings.Contains(msg, "libonnxruntime.so.1") || !strings.Contains(msg, "npm pack") {
		t.Errorf("models check --embedders dlib+onnx of a dlib-only dir: %s", msg)
	}

	// A file that is not the documented one is refused by its sum.
	bogus := filepath.Join(t.TempDir(), "fr_feature.onnx")
	if err := os.WriteFile(bogus, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	if msg := e.fails("", "models", "assemble", "--dir", dst, "--onnx-model", bogus); !strings.Contains(msg, "refusing") {
		t.Errorf("assemble of a wrong model: %s", msg)
	}
	// The real ones are added beside dlib's files.
	realModel, _ := filepath.EvalSymlinks(model)
	realRuntime, _ := filepath.EvalSymlinks(runtime)
	e.ok("", "models", "assemble", "--dir", dst, "--onnx-model", realModel, "--onnxruntime", realRuntime)
	out = e.ok("", "models", "check", "--dir", dst, "--embedders", "dlib+onnx")
	if !strings.Contains(out, "embedders: dlib+onnx") {
		t.Errorf("models check after adding the ONNX files:\n%s", out)
	}
}
