package main

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/faceidp/faceidp/config"
	"github.com/faceidp/faceidp/faceauth"
	"github.com/faceidp/faceidp/factors/face"
	"github.com/faceidp/faceidp/idp"
	"github.com/faceidp/faceidp/idp/faceweb"
	"github.com/faceidp/faceidp/keyring"
	"github.com/faceidp/faceidp/storage"
)

// checkFaceModels refuses a configuration whose face factor cannot run: with
// face.mode optional or required, enrolled users and clients that require
// face depend on the engine, so a missing model file is fatal rather than a
// silent downgrade to password-only sign-in.
func checkFaceModels(cfg *config.Config) error {
	if !faceEnabled(cfg) {
		return nil
	}
	if err := faceauth.CheckModelDir(cfg.ResolvedModelsDir()); err != nil {
		return fmt.Errorf("face.mode is %q but the face models are not usable: %w (or set face.mode: off)", cfg.Face.Mode, err)
	}
	if oc := onnxConfig(cfg); oc != nil {
		if err := faceauth.CheckONNXFiles(*oc); err != nil {
			return fmt.Errorf("face.embedders is %q but the second embedder cannot run: %w", cfg.Face.Embedders, err)
		}
	}
	return nil
}

// onnxConfig is the engine's second-embedder configuration, nil unless
// face.embedders is dlib+onnx.
func onnxConfig(cfg *config.Config) *faceauth.ONNXConfig {
	if cfg.Face.Embedders != config.EmbeddersDlibONNX {
		return nil
	}
	o := cfg.Face.ONNX
	return &faceauth.ONNXConfig{
		Model:          cfg.ResolvedONNXModel(),
		RuntimeLibrary: cfg.ResolvedONNXRuntime(),
		InputSize:      o.InputSize,
		Mean:           o.Mean,
		Std:            o.Std,
		BGR:            o.ChannelOrder == "bgr",
		OutputDim:      o.OutputDim,
		MinSimilarity:  o.MinSimilarity,
	}
}

// newFaceService loads the face engine and builds the face factor service.
func (a *app) newFaceService(cfg *config.Config, store storage.Storage, kr *keyring.Keyring, logger *slog.Logger) (*face.Service, func(), error) {
	engine, err := faceauth.NewEngine(faceauth.EngineConfig{
		ModelDir:       cfg.ResolvedModelsDir(),
		Recognizers:    cfg.Face.Recognizers,
		QueueLength:    cfg.Face.Queue,
		MatchThreshold: cfg.Face.MatchThreshold,
		ONNX:           onnxConfig(cfg),
		Clock:          a.now,
		Rand:           a.rand,
		Logger:         logger.With("component", "faceauth"),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("load face engine: %w", err)
	}
	svc, err := face.New(face.Deps{Store: store, Engine: engine, Keyring: kr, Now: a.now, Rand: a.rand},
		face.Options{Steps: cfg.Face.ChallengeSteps, TTL: cfg.Face.ChallengeTTL})
	if err != nil {
		engine.Close()
		return nil, nil, err
	}
	logger.Info("face engine ready", "models", cfg.ResolvedModelsDir(), "embedders", engine.Embedders(), "engine", engine.String())
	return svc, func() { engine.Close() }, nil
}

// secondFactors builds the second factors serve registers with the provider.
func (a *app) secondFactors(cfg *config.Config, store storage.Storage, kr *keyring.Keyring, logger *slog.Logger) ([]idp.SecondFactor, func(), error) {
	if !faceEnabled(cfg) {
		return nil, func() {}, nil
	}
	svc, closeEngine, err := a.newFaceService(cfg, store, kr, logger)
	if err != nil {
		return nil, nil, err
	}
	f, err := faceweb.New(svc, faceweb.Options{
		ChallengesPerMinute: int64(cfg.RateLimit.FaceChallengesPerMinute),
		Logger:              logger.With("component", "face"),
	})
	if err != nil {
		closeEngine()
		return nil, nil, err
	}
	return []idp.SecondFactor{f}, closeEngine, nil
}

func (a *app) rotateTemplatesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "rotate-templates",
		Short: "Re-encrypt every face template under the newest master key",
		Long: `Add a new master key at the end of secrets.master_keys, restart the servers so
new enrolments use it, then run this. Templates are re-sealed one at a time
with a compare-and-swap, so sign-ins keep working while it runs. Remove the
old key only after this reports no template left under it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withEnv(cmd.Context(), func(env cmdEnv) error {
				st, err := face.RotateTemplates(cmd.Context(), env.store, env.keyring, a.now)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "face templates: %d total, %d re-encrypted, %d already under %q, %d deleted meanwhile\n",
					st.Templates, st.Resealed, st.Current, env.keyring.NewestID(), st.Gone)
				return nil
			})
		},
	}
}
