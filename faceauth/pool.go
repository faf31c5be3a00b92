package faceauth

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"

	face "github.com/Kagami/go-face"
)

// worker is one slot of the pool: a go-face recognizer (detection,
// landmarks and descriptor), a landmarker (detection and landmarks only)
// sharing the engine's shape predictor and, when the second embedder is
// on, its own ONNX Runtime session (emb, nil otherwise).
type worker struct {
	rec *face.Recognizer
	lm  *landmarker
	emb *onnxEmbedder
}

// recognizerPool shares workers among attempts. go-face serialises
// detection and the descriptor network inside one Recognizer, so
// parallelism needs several. Admission is bounded: at most size+queue
// attempts are in the engine at once; the next one gets ErrBusy at once
// instead of piling up.
type recognizerPool struct {
	free  chan *worker
	admit chan struct{}
	all   []*worker
	model *landmarkModel
	once  sync.Once
}

func newRecognizerPool(modelDir string, size, queue int, onnx *onnxModel) (*recognizerPool, error) {
	p := &recognizerPool{
		free:  make(chan *worker, size),
		admit: make(chan struct{}, size+queue),
	}
	model, err := loadLandmarkModel(filepath.Join(modelDir, ShapePredictorFile))
	if err != nil {
		return nil, fmt.Errorf("load face models from %s: %w; %s", modelDir, err, ModelFixCommand)
	}
	p.model = model
	for i := 0; i < size; i++ {
		rec, err := face.NewRecognizer(modelDir)
		if err != nil {
			p.close()
			return nil, fmt.Errorf("load face models from %s: %w; %s", modelDir, err, ModelFixCommand)
		}
		lm, err := newLandmarker(model)
		if err != nil {
			rec.Close()
			p.close()
			return nil, err
		}
		w := &worker{rec: rec, lm: lm}
		p.all = append(p.all, w)
		if onnx != nil {
			if w.emb, err = onnx.newEmbedder(); err != nil {
				p.close()
				return nil, err
			}
		}
		p.free <- w
	}
	return p, nil
}

// enter admits one attempt or returns ErrBusy when the queue is full. The
// returned func leaves.
func (p *recognizerPool) enter() (leave func(), err error) {
	select {
	case p.admit <- struct{}{}:
		return func() { <-p.admit }, nil
	default:
		return nil, ErrBusy
	}
}

// acquire waits for a free worker.
func (p *recognizerPool) acquire(ctx context.Context) (*worker, error) {
	select {
	case w := <-p.free:
		return w, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *recognizerPool) release(w *worker) { p.free <- w }

func (p *recognizerPool) size() int { return cap(p.free) }

// close frees every worker and the shared model; callers must have
// finished.
func (p *recognizerPool) close() {
	p.once.Do(func() {
		for _, w := range p.all {
			w.rec.Close()
			w.lm.close()
			w.emb.close()
		}
		p.model.close()
	})
}
