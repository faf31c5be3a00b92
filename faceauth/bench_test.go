package faceauth

import (
	"bytes"

	"image/jpeg"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/faceidp/faceidp/internal/fixtures"
)

// Benchmarks at the capture page's frame size and rate (640x480, 5 fps),
// side by side with the naive baseline (go-face Recognize on every
// full-size 640x480 frame at the fixtures' 10 fps). Run:
//
//	FACEIDP_MODELS_DIR=$PWD/.build/models CGO_LDFLAGS=-L$HOME/.cache/faceidp/cblas \
//	  go test ./faceauth/ -run '^$' -bench . -benchtime 10x -cpu 2

// captureFrames re-encodes clip frames as the page sends them: 640x480
// JPEG (quality 85), every 2nd frame.
func captureFrames(b testing.TB, ids ...string) [][]byte {
	var out [][]byte
	for _, id := range ids {
		for _, f := range fixtures.ClipFrames(b, fixtures.ClipByID(b, id), 2) {
			img, err := jpeg.Decode(bytes.NewReader(f))
			if err != nil {
				b.Fatal(err)
			}
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, downscale(toRGBA(img), CaptureWidth), &jpeg.Options{Quality: 85}); err != nil {
				b.Fatal(err)
			}
			out = append(out, buf.Bytes())
		}
	}
	return out
}

// peakRSSMB reads the process's peak resident set (VmHWM).
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// report records wall time, CPU time (which other processes' load hardly
// changes), throughput and peak memory per attempt; callers take startCPU
// with cpuTime() when they take start.
func report(b *testing.B, frames int, start time.Time, startCPU time.Duration) {
	el := time.Since(start)
	per := float64(el.Milliseconds()) / float64(b.N)
	b.ReportMetric(float64((cpuTime()-startCPU).Milliseconds())/float64(b.N), "cpu-ms/attempt")
	b.ReportMetric(per, "ms/attempt")
	b.ReportMetric(per/float64(frames), "ms/frame")
	b.ReportMetric(1000/per, "attempts/s")
	b.ReportMetric(peakRSSMB(), "peakRSS-MB")
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "cpus")
}

// BenchmarkVerifyTwoSteps: one 2-step challenge (blink, then turn left)
// of 30 frames at 640x480 through Verify.
func BenchmarkVerifyTwoSteps(b *testing.B) {
	e := testEngine(b)
	tmpl := enrolled(b, "p01")
	frames := captureFrames(b, "p01_blink", "p01_turn_left")
	actions := []Action{ActionBlink, ActionTurnLeft}
	b.ResetTimer()
	start, startCPU := time.Now(), cpuTime()
	for i := 0; i < b.N; i++ {
		r, err := e.Verify(b.Context(), tmpl, actions, frames, Options{})
		if err != nil || !r.Pass {
			b.Fatalf("%+v %v", r, err)
		}
	}
	report(b, len(frames), start, startCPU)
}

// BenchmarkVerifyTwoStepsBothEmbedders: the same challenge with
// face.embedders: dlib+onnx (the ONNX model runs on every described frame).
func BenchmarkVerifyTwoStepsBothEmbedders(b *testing.B) {
	e := testEngineONNX(b)
	tmpl := enrolledBoth(b, "p01")
	frames := captureFrames(b, "p01_blink", "p01_turn_left")
	actions := []Action{ActionBlink, ActionTurnLeft}
	b.ResetTimer()
	start, startCPU := time.Now(), cpuTime()
	for i := 0; i < b.N; i++ {
		r, err := e.Verify(b.Context(), tmpl, actions, frames, Options{})
		if err != nil || !r.Pass || r.Similarity == nil {
			b.Fatalf("%+v %v", r, err)
		}
	}
	report(b, len(frames), start, startCPU)
}

// BenchmarkONNXEmbedFace: the second embedder on one face (alignment,
// normalisation and the model; one thread), per face.
func BenchmarkONNXEmbedFace(b *testing.B) {
	e := testEngineONNX(b)
	img := decodeRGBA(b, captureFrames(b, "p01_blink")[0], challengeSide)
	obs, err := e.analyseFrames(b.Context(), [][]byte{captureFrames(b, "p01_blink")[0]}, e.cfg.Limits, challengeSide, []bool{false})
	if err != nil || obs[0].faces != 1 {
		b.Fatalf("%v %+v", err, obs)
	}
	w, err := e.pool.acquire(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	defer e.pool.release(w)
	b.ResetTimer()
	start, startCPU := time.Now(), cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := w.emb.embed(img, obs[0].pts); err != nil {
			b.Fatal(err)
		}
	}
	el := time.Since(start)
	b.ReportMetric(float64(el.Microseconds())/1000/float64(b.N), "ms/face")
	b.ReportMetric(float64((cpuTime()-startCPU).Microseconds())/1000/float64(b.N), "cpu-ms/face")
	b.ReportMetric(peakRSSMB(), "peakRSS-MB")
}

// BenchmarkEnrol: one enrolment challenge (smile, 15 frames at 640x480).
func BenchmarkEnrol(b *testing.B) {
	e := testEngine(b)
	frames := captureFrames(b, "p06_smile")
	b.ResetTimer()
	start, startCPU := time.Now(), cpuTime()
	for i := 0; i < b.N; i++ {
		tm, r, err := e.Enrol(b.Context(), []Action{ActionSmile}, frames, Options{})
		if err != nil || !r.Pass || tm == nil {
			b.Fatalf("%+v %v", r, err)
		}
	}
	report(b, len(frames), start, startCPU)
}

// BenchmarkNaiveBaseline: go-face Recognize on every full-size 640x480
// frame of the same two clips at 10 fps (60 frames), one recognizer per
// CPU, no liveness analysis at all.
func BenchmarkNaiveBaseline(b *testing.B) {
	e := testEngine(b)
	frames := append(fixtures.ClipFrames(b, fixtures.ClipByID(b, "p01_blink"), 1), fixtures.ClipFrames(b, fixtures.ClipByID(b, "p01_turn_left"), 1)...)
	b.ResetTimer()
	start, startCPU := time.Now(), cpuTime()
	for i := 0; i < b.N; i++ {
		err := e.forEach(b.Context(), len(frames), func(k int) error {
			return e.withWorker(b.Context(), func(w *worker) error {
				_, err := w.rec.Recognize(frames[k])
				return err
			})
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	report(b, len(frames), start, startCPU)
}

// BenchmarkStreamLastFrameToVerdict: a 2-step challenge (blink, then turn
// left; 30 frames at 320x240) streamed frame by frame; only the last
// frame's Push and Finish are timed: how long the person waits for the
// verdict after the last frame reaches the engine. Side by side with
// BenchmarkVerifyTwoSteps (the one-shot path decides after the whole
// upload, so its wait is its full ms/attempt).
func BenchmarkStreamLastFrameToVerdict(b *testing.B) {
	e := testEngine(b)
	tmpl := enrolled(b, "p01")
	frames := captureFrames(b, "p01_blink", "p01_turn_left")
	actions := []Action{ActionBlink, ActionTurnLeft}
	last := len(frames) - 1
	var waited time.Duration
	startCPU := cpuTime()
	for b.Loop() {
		s, err := e.BeginStream(b.Context(), tmpl, actions, Options{})
		if err != nil {
			b.Fatal(err)
		}
		for _, f := range frames[:last] {
			if _, err := s.Push(b.Context(), f); err != nil {
				b.Fatal(err)
			}
		}
		t0 := time.Now()
		if _, err := s.Push(b.Context(), frames[last]); err != nil {
			b.Fatal(err)
		}
		r, _, err := s.Finish(b.Context())
		waited += time.Since(t0)
		if err != nil || !r.Pass {
			b.Fatalf("%+v %v", r, err)
		}
	}
	b.ReportMetric(float64(waited.Microseconds())/1000/float64(b.N), "ms-last-frame-to-verdict")
	b.ReportMetric(float64((cpuTime()-startCPU).Milliseconds())/float64(b.N), "cpu-ms/attempt")
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "cpus")
}
