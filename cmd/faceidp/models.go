package main

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/faceidp/faceidp/faceauth"
)

func (a *app) modelsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "models",
		Short: "Check, assemble or fetch the face model directory",
		Long: `The face engine loads three dlib models from one directory (face.models_dir):
  ` + faceauth.ShapePredictorFile + ` (dlib's 68-point landmark model under go-face's name)
  ` + faceauth.RecognitionFile + `
  ` + faceauth.DetectorFile + `
--dir overrides the configured directory.`,
	}
	var dir string
	cmd.PersistentFlags().StringVar(&dir, "dir", "", "model directory (default: face.models_dir from the configuration)")
	modelsDir := func() (string, error) {
		if dir != "" {
			return dir, nil
		}
		cfg, _, err := a.loadConfig()
		if err != nil {
			return "", err
		}
		return cfg.ResolvedModelsDir(), nil
	}

	check := &cobra.Command{
		Use:   "check",
		Short: "Verify that the model directory holds every file the face engine needs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := modelsDir()
			if err != nil {
				return err
			}
			if err := faceauth.CheckModelDir(d); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "face models OK in %s\n", d)
			return nil
		},
	}

	var src faceauth.ModelSources
	assemble := &cobra.Command{
		Use:   "assemble --from DIR",
		Short: "Build the model directory from local files, checking their SHA-256",
		Long: `Links (or with --copy, copies) the recognition network and the CNN detector
from --from, and dlib's 68-point landmark model from --shape-predictor
(default: --from/` + faceauth.ShapePredictor68Source + ` if present, else Debian's
` + faceauth.DebianShapePredictor68 + ` from the libdlib-data package),
after checking each file's SHA-256.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if src.Dir == "" {
				return fmt.Errorf("models assemble: --from is required (the directory holding %s and %s)", faceauth.RecognitionFile, faceauth.DetectorFile)
			}
			d, err := modelsDir()
			if err != nil {
				return err
			}
			if err := faceauth.AssembleModelDir(d, src); err != nil {
				return err
			}
			if err := faceauth.CheckModelDir(d); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "face models assembled in %s\n", d)
			return nil
		},
	}
	assemble.Flags().StringVar(&src.Dir, "from", "", "directory holding the recognition and detector .dat files")
	assemble.Flags().StringVar(&src.ShapePredictor68, "shape-predictor", "", "path of "+faceauth.ShapePredictor68Source)
	assemble.Flags().BoolVar(&src.Copy, "copy", false, "copy the files instead of symlinking them")

	var baseURL string
	var sums []string
	var timeout time.Duration
	fetch := &cobra.Command{
		Use:   "fetch",
		Short: "Download dlib's official models (needs internet), verifying SHA-256",
		Long: `Downloads the bzip2 archives from dlib's site, decompresses them and keeps a
file only when its SHA-256 matches a known sum. The official recognition
network's sum differs from the development copy: when the command refuses it
it prints the sum it saw; check that out of band and pass it with
--sha256 ` + faceauth.RecognitionFile + `=HEX.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := modelsDir()
			if err != nil {
				return err
			}
			expected := map[string]string{}
			for _, s := range sums {
				name, sum, ok := strings.Cut(s, "=")
				if !ok || name == "" || sum == "" {
					return fmt.Errorf("models fetch: --sha256 wants FILE=HEX, got %q", s)
				}
				expected[name] = sum
			}
			client := &http.Client{Timeout: timeout}
			if err := faceauth.FetchModels(cmd.Context(), d, client, baseURL, expected); err != nil {
				return err
			}
			if err := faceauth.CheckModelDir(d); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "face models fetched into %s\n", d)
			return nil
		},
	}
	fetch.Flags().StringVar(&baseURL, "base-url", faceauth.OfficialModelBaseURL, "where the .dat.bz2 archives are served")
	fetch.Flags().StringArrayVar(&sums, "sha256", nil, "expected SHA-256 of a model file, as FILE=HEX (repeatable)")
	fetch.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "download timeout per file")

	cmd.AddCommand(check, assemble, fetch)
	return cmd
}
