package faceauth

import (
	"compress/bzip2"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// OfficialModelBaseURL is where dlib publishes its models (bzip2-compressed).
const OfficialModelBaseURL = "http://dlib.net/files/"

// officialArchives maps each model directory file to its archive on dlib.net.
var officialArchives = map[string]string{
	ShapePredictorFile: ShapePredictor68Source + ".bz2",
	RecognitionFile:    RecognitionFile + ".bz2",
	DetectorFile:       DetectorFile + ".bz2",
}

// maxModelBytes bounds what a fetch will decompress per file (the largest
// model is about 100 MB).
const maxModelBytes = 256 << 20

// FetchModels downloads dlib's model archives from baseURL (normally
// OfficialModelBaseURL), decompresses them, checks each file's SHA-256
// against expected (falling back to KnownSHA256) and moves it into dir
// atomically. A file whose sum does not match is refused and nothing is
// written for it. When no sum is known for a file (pass one for the official
// recognition network, whose sum differs from the development copy), the
// fetch refuses it and the error names the sum it saw so an operator can
// check it out of band and pass it explicitly.
func FetchModels(ctx context.Context, dir string, client *http.Client, baseURL string, expected map[string]string) error {
	if client == nil {
		client = http.DefaultClient
	}
	if baseURL == "" {
		baseURL = OfficialModelBaseURL
	}
	if !strings.HasSuffix(baseURL, "/") {
		baseURL += "/"
	}
	want := KnownSHA256()
	for k, v := range expected {
		want[k] = strings.ToLower(strings.TrimSpace(v))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("fetch face models: create %s: %w", dir, err)
	}
	var errs []error
	for _, name := range ModelFiles {
		if err := fetchOne(ctx, client, baseURL+officialArchives[name], filepath.Join(dir, name), want[name]); err != nil {
			errs = append(errs, fmt.Errorf("fetch %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

func fetchOne(ctx context.Context, client *http.Client, url, target, wantSum string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), filepath.Base(target)+".download-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(bzip2.NewReader(resp.Body), maxModelBytes+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("download and decompress %s: %w", url, err)
	}
	if n > maxModelBytes {
		return fmt.Errorf("%s decompresses to more than %d bytes; refusing it", url, maxModelBytes)
	}
	got := hex.EncodeToString(h.Sum(nil))
	if wantSum == "" {
		return fmt.Errorf("no SHA-256 known for %s (downloaded file has %s); verify it and pass it explicitly", filepath.Base(target), got)
	}
	if got != wantSum {
		return fmt.Errorf("%s has sha256 %s, want %s; refusing it", url, got, wantSum)
	}
	return os.Rename(tmp.Name(), target)
}
