package faceauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"time"
)

// EngineConfig configures NewEngine. Zero values take the defaults.
type EngineConfig struct {
	// ModelDir holds the go-face model files (see CheckModelDir).
	ModelDir string
	// Recognizers is the number of go-face recognizers (each ~130 MB with
	// the 68-point model); default runtime.NumCPU().
	Recognizers int
	// QueueLength is how many attempts may wait for a recognizer beyond
	// those being served; more get ErrBusy. Default 2*Recognizers.
	QueueLength int
	// MatchThreshold is the largest template distance accepted; default
	// DefaultMatchThreshold (chosen from measurements, see
	// docs/face-engine.md).
	MatchThreshold float64
	// SwapThreshold is the largest descriptor distance allowed between any
	// frame and the sequence's reference frames; larger is an identity
	// change. Default DefaultSwapThreshold.
	SwapThreshold float64
	// Limits are the challenge upload limits; default DefaultLimits().
	Limits Limits
	// EnrolImageLimits apply to EnrolFromImages; default
	// DefaultEnrolImageLimits().
	EnrolImageLimits Limits
	// Clock is the time source; default time.Now.
	Clock func() time.Time
	// Rand is the random source (sampling frames for screen checks);
	// default crypto/rand.Reader.
	Rand io.Reader
	// Logger receives decisions and scores (never images or descriptors).
	Logger *slog.Logger
	// ONNX switches the second embedder on (face.embedders: dlib+onnx);
	// nil runs dlib's alone.
	ONNX *ONNXConfig
}

// Engine is the face engine. It is safe for concurrent use.
type Engine struct {
	cfg  EngineConfig
	pool *recognizerPool
	log  *slog.Logger
	// onnx is the second embedder's model, nil when it is off.
	onnx *onnxModel
	bufs *buffers
}

var _ Verifier = (*Engine)(nil)

// NewEngine checks the model directory and loads a pool of recognizers.
func NewEngine(cfg EngineConfig) (*Engine, error) {
	if err := CheckModelDir(cfg.ModelDir); err != nil {
		return nil, err
	}
	if cfg.Recognizers <= 0 {
		cfg.Recognizers = runtime.NumCPU()
	}
	if cfg.QueueLength < 0 {
		return nil, errors.New("face engine: negative queue length")
	}
	if cfg.QueueLength == 0 {
		cfg.QueueLength = 2 * cfg.Recognizers
	}
	if cfg.MatchThreshold == 0 {
		cfg.MatchThreshold = DefaultMatchThreshold
	}
	if cfg.SwapThreshold == 0 {
		cfg.SwapThreshold = DefaultSwapThreshold
	}
	if cfg.Limits == (Limits{}) {
		cfg.Limits = DefaultLimits()
	}
	if cfg.EnrolImageLimits == (Limits{}) {
		cfg.EnrolImageLimits = DefaultEnrolImageLimits()
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = cryptoRand()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if !limitBLASThreads() {
		cfg.Logger.Warn("OpenBLAS not in use: face analysis runs several times slower on the reference BLAS; install libopenblas0")
	}
	var onnx *onnxModel
	if cfg.ONNX != nil {
		oc := cfg.ONNX.withDefaults()
		cfg.ONNX = &oc
		var err error
		if onnx, err = loadONNXModel(oc); err != nil {
			return nil, err
		}
	}
	pool, err := newRecognizerPool(cfg.ModelDir, cfg.Recognizers, cfg.QueueLength, onnx)
	if err != nil {
		onnx.close()
		return nil, err
	}
	return &Engine{cfg: cfg, pool: pool, log: cfg.Logger, onnx: onnx, bufs: new(buffers)}, nil
}

// Close frees the recognizers. The engine must not be used afterwards.
func (e *Engine) Close() error {
	e.pool.close()
	e.onnx.close()
	return nil
}

// Embedders names the embedders the engine runs: EmbeddersDlib or
// EmbeddersDlibONNX.
func (e *Engine) Embedders() string {
	if e.onnx != nil {
		return EmbeddersDlibONNX
	}
	return EmbeddersDlib
}

// Limits returns the challenge upload limits.
func (e *Engine) Limits() Limits { return e.cfg.Limits }

// MatchThreshold is the configured template distance threshold.
func (e *Engine) MatchThreshold() float64 { return e.cfg.MatchThreshold }

// result builds a failed Result from an error: an InputError becomes its
// code; other errors are returned to the caller.
func failResult(reason, msg string, frames int) *Result {
	return &Result{Pass: false, Reason: reason, Message: msg, Frames: frames}
}

func resultFromInputError(err error, frames int) (*Result, error) {
	var ie *InputError
	if errors.As(err, &ie) {
		return failResult(ie.Code, ie.Message, frames), nil
	}
	return nil, err
}

// logDecision records a decision with its scores only.
func (e *Engine) logDecision(ctx context.Context, op string, r *Result) {
	e.log.LogAttrs(ctx, slog.LevelInfo, "face decision",
		slog.String("op", op), slog.Bool("pass", r.Pass), slog.String("reason", r.Reason),
		slog.Float64("distance", r.Distance), slog.Any("similarity", r.Similarity), slog.Int("frames", r.Frames),
		slog.Duration("elapsed", r.Elapsed), slog.Any("steps", r.Steps))
}

func (e *Engine) String() string {
	return fmt.Sprintf("faceauth.Engine(%d recognizers, embedders %s)", e.pool.size(), e.Embedders())
}
