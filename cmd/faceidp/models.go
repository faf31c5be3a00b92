package main

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/faceidp/faceidp/config"
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
and, with face.embedders: dlib+onnx, by default from the same directory:
  ` + faceauth.ONNXModelFile + ` (an ArcFace-style ONNX model; see the README for its provenance)
  ` + faceauth.ONNXRuntimeFile + ` (ONNX Runtime ` + faceauth.ONNXRuntimeVersion + `)
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

	var embedders string
	check := &cobra.Command{
		Use:   "check",
		Short: "Report which face model files are present and which embedders can run",
		Long: `Checks dlib's three files, then reports the second embedder's ONNX model and
ONNX Runtime library (present or missing, and whether each is the documented
file) and which embedders are active. It fails when dlib's files are not
usable, or when the embedders in use (face.embedders, or --embedders) include
onnx and its files are missing. With --dir the configuration is not read:
the ONNX files are looked for in that directory and --embedders says which
embedders to check for (default dlib).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.modelsCheck(dir, embedders)
		},
	}
	check.Flags().StringVar(&embedders, "embedders", "", "dlib or dlib+onnx (default: face.embedders from the configuration; dlib with --dir)")

	var src faceauth.ModelSources
	assemble := &cobra.Command{
		Use:   "assemble --from DIR",
		Short: "Build the model directory from local files, checking their SHA-256",
		Long: `Links (or with --copy, copies) the recognition network and the CNN detector
from --from, and dlib's 68-point landmark model from --shape-predictor
(default: --from/` + faceauth.ShapePredictor68Source + ` if present, else Debian's
` + faceauth.DebianShapePredictor68 + ` from the libdlib-data package),
after checking each file's SHA-256. The second embedder's files are added the
same way, checked against the sums in ../shared/models/README.md:
` + faceauth.ONNXModelFile + ` from --from (or --onnx-model) and ONNX Runtime's
` + faceauth.ONNXRuntimeFile + ` from --onnxruntime. Without --from only those
are added, beside the dlib files already in the directory.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if src.Dir == "" && src.ONNXModel == "" && src.ONNXRuntime == "" {
				return fmt.Errorf("models assemble: --from is required (the directory holding %s and %s), or --onnx-model/--onnxruntime to add only the second embedder's files", faceauth.RecognitionFile, faceauth.DetectorFile)
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
	assemble.Flags().StringVar(&src.ONNXModel, "onnx-model", "", "the second embedder's model to install as "+faceauth.ONNXModelFile+" (default: --from/"+faceauth.ONNXModelFile+" if present)")
	assemble.Flags().StringVar(&src.ONNXRuntime, "onnxruntime", "", "ONNX Runtime "+faceauth.ONNXRuntimeVersion+"'s "+faceauth.ONNXRuntimeFile+" to install beside the models")

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

// modelsCheck reports every model file and the embedders; see the check
// command's help.
func (a *app) modelsCheck(dir, embedders string) error {
	var onnx faceauth.ONNXConfig
	if dir != "" {
		onnx.Model, onnx.RuntimeLibrary = faceauth.DefaultONNXPaths(dir)
		if embedders == "" {
			embedders = config.EmbeddersDlib
		}
	} else {
		cfg, _, err := a.loadConfig()
		if err != nil {
			return err
		}
		dir = cfg.ResolvedModelsDir()
		onnx.Model, onnx.RuntimeLibrary = cfg.ResolvedONNXModel(), cfg.ResolvedONNXRuntime()
		if embedders == "" {
			embedders = cfg.Face.Embedders
		}
	}
	if embedders != config.EmbeddersDlib && embedders != config.EmbeddersDlibONNX {
		return fmt.Errorf("models check: --embedders must be %s or %s, got %q", config.EmbeddersDlib, config.EmbeddersDlibONNX, embedders)
	}
	if err := faceauth.CheckModelDir(dir); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "face models OK in %s\n", dir)
	for _, f := range []struct{ name, path string }{
		{faceauth.ONNXModelFile, onnx.Model}, {faceauth.ONNXRuntimeFile, onnx.RuntimeLibrary},
	} {
		known, err := faceauth.ONNXFileKnown(f.name, f.path)
		switch {
		case err != nil:
			fmt.Fprintf(a.stdout, "  missing  %s (%s)\n", f.path, f.name)
		case known:
			fmt.Fprintf(a.stdout, "  ok       %s (the documented %s, SHA-256 verified)\n", f.path, f.name)
		default:
			fmt.Fprintf(a.stdout, "  present  %s (not the documented %s: another model or build)\n", f.path, f.name)
		}
	}
	onnxErr := faceauth.CheckONNXFiles(onnx)
	if embedders == config.EmbeddersDlibONNX {
		if onnxErr != nil {
			return fmt.Errorf("embedders dlib+onnx: %w", onnxErr)
		}
		fmt.Fprintln(a.stdout, "embedders: dlib+onnx (identity passes only when dlib and the ONNX model agree)")
		return nil
	}
	if onnxErr == nil {
		fmt.Fprintln(a.stdout, "embedders: dlib (the ONNX files are present: set face.embedders: dlib+onnx to use them)")
	} else {
		fmt.Fprintln(a.stdout, "embedders: dlib (the second embedder, dlib+onnx, is not installed)")
	}
	return nil
}
