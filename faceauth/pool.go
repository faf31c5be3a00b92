package faceauth

import (
	"context"
	"fmt"
	"sync"

	face "github.com/Kagami/go-face"
)

// recognizerPool shares go-face recognizers among attempts. go-face
// serialises detection and the descriptor network inside one Recognizer, so
// parallelism needs several. Admission is bounded: at most size+queue
// attempts are in the engine at once; the next one gets ErrBusy at once
// instead of piling up.
type recognizerPool struct {
	recs  chan *face.Recognizer
	admit chan struct{}
	all   []*face.Recognizer
	once  sync.Once
}

func newRecognizerPool(modelDir string, size, queue int) (*recognizerPool, error) {
	p := &recognizerPool{
		recs:  make(chan *face.Recognizer, size),
		admit: make(chan struct{}, size+queue),
	}
	for i := 0; i < size; i++ {
		rec, err := face.NewRecognizer(modelDir)
		if err != nil {
			p.close()
			return nil, fmt.Errorf("load face models from %s: %w; %s", modelDir, err, ModelFixCommand)
		}
		p.all = append(p.all, rec)
		p.recs <- rec
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

// acquire waits for a free recognizer.
func (p *recognizerPool) acquire(ctx context.Context) (*face.Recognizer, error) {
	select {
	case r := <-p.recs:
		return r, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *recognizerPool) release(r *face.Recognizer) { p.recs <- r }

func (p *recognizerPool) size() int { return cap(p.recs) }

// close frees every recognizer; callers must have finished.
func (p *recognizerPool) close() {
	p.once.Do(func() {
		for _, r := range p.all {
			r.Close()
		}
	})
}
