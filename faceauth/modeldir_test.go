package faceauth

import (
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faceidp/faceidp/internal/fixtures"
)

func TestCheckModelDirNamesMissingFileAndFix(t *testing.T) {
	dir := t.TempDir()
	err := CheckModelDir(dir)
	var me *ModelDirError
	if !errors.As(err, &me) || me.File != ShapePredictorFile {
		t.Fatalf("CheckModelDir(empty) = %v, want a ModelDirError for %s", err, ShapePredictorFile)
	}
	if !strings.Contains(err.Error(), "faceidp models") {
		t.Errorf("error %q does not say how to fix it", err)
	}
	_, err = NewEngine(EngineConfig{ModelDir: dir})
	if err == nil || !strings.Contains(err.Error(), ShapePredictorFile) {
		t.Errorf("NewEngine(empty dir) = %v, want an error naming %s", err, ShapePredictorFile)
	}
}

func TestCheckModelDirRefuses5PointPredictor(t *testing.T) {
	dir := t.TempDir()
	for _, f := range ModelFiles {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("not the 68-point model"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	err := CheckModelDir(dir)
	if err == nil || !strings.Contains(err.Error(), "68-point") {
		t.Fatalf("CheckModelDir(small predictor) = %v, want a 68-point refusal", err)
	}
}

func TestAssembleModelDirVerifiesSums(t *testing.T) {
	src := ModelSources{Dir: filepath.Join(fixtures.SharedDir(t), "models")}
	dir := filepath.Join(t.TempDir(), "models")
	if err := AssembleModelDir(dir, src); err != nil {
		t.Fatalf("AssembleModelDir: %v", err)
	}
	if err := CheckModelDir(dir); err != nil {
		t.Fatalf("assembled dir fails its check: %v", err)
	}
	src.Expected = map[string]string{DetectorFile: strings.Repeat("0", 64)}
	err := AssembleModelDir(filepath.Join(t.TempDir(), "m"), src)
	if err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("AssembleModelDir(wrong sum) = %v, want a refusal", err)
	}
}

// Small bzip2 archives of fake model files and the sums of their contents.
var fakeArchives = map[string]struct{ bz2, sum string }{
	ShapePredictor68Source + ".bz2": {"425a6839314159265359d05883e6000006518000104000374ecc202000314c00134287a9a1a79091ee5bafb5094928bc802abe2ee48a70a121a0b107cc", "5c84a67a3fba560f2eca9629eeb53a23fe8429a5e8ab9f2f1be492891a94bda4"},
	RecognitionFile + ".bz2":        {"425a68393141592653597ede82450000065180001040003f8e9c202000221346830690a1a69800a76f36d262a43ac73a0266efe2ee48a70a120fdbd048a0", "8765dca8847875eef16508717f2c927a1f5a1a54af93fe9f968974d1092f1d1e"},
	DetectorFile + ".bz2":           {"425a68393141592653596e38e7800000075180001040003f0e9c202000314c0013429a0f534f536888ba232b112998fb8243ead555f1772453850906e38e7800", "f61f8a74944aca3961968043d0b1f4f3ab3ba77b7e32bd185ee77be5064973fa"},
}

func fakeModelServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := fakeArchives[strings.TrimPrefix(r.URL.Path, "/files/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		b, _ := hex.DecodeString(a.bz2)
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestFetchModelsChecksSums(t *testing.T) {
	srv := fakeModelServer(t)
	good := map[string]string{
		ShapePredictorFile: fakeArchives[ShapePredictor68Source+".bz2"].sum,
		RecognitionFile:    fakeArchives[RecognitionFile+".bz2"].sum,
		DetectorFile:       fakeArchives[DetectorFile+".bz2"].sum,
	}
	dir := t.TempDir()
	if err := FetchModels(t.Context(), dir, srv.Client(), srv.URL+"/files/", good); err != nil {
		t.Fatalf("FetchModels(matching sums): %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, ShapePredictorFile))
	if err != nil || string(b) != "fake shape model bytes\n" {
		t.Fatalf("fetched predictor = %q, %v", b, err)
	}

	// The known sums of the real models do not match the fakes: refused,
	// and nothing is written.
	dir2 := t.TempDir()
	err = FetchModels(t.Context(), dir2, srv.Client(), srv.URL+"/files/", nil)
	if err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("FetchModels(mismatching sums) = %v, want a refusal", err)
	}
	left, _ := os.ReadDir(dir2)
	if len(left) != 0 {
		t.Errorf("a refused fetch left files behind: %v", left)
	}

	// No known sum: refused, naming the sum seen.
	err = FetchModels(t.Context(), t.TempDir(), srv.Client(), srv.URL+"/files/", map[string]string{RecognitionFile: ""})
	if err == nil || !strings.Contains(err.Error(), good[RecognitionFile]) {
		t.Fatalf("FetchModels(no sum) = %v, want an error naming the downloaded sum", err)
	}
}
