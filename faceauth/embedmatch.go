package faceauth

import (
	"context"
	"fmt"
	"math"
)

// The second embedder's part in a decision. With it on, a verification
// passes identity only when both embedders agree: dlib's distance is at
// most MatchThreshold and the ONNX embedding's similarity at least
// ONNXConfig.MinSimilarity, each on the same at-rest frames; and the
// identity-swap check also watches the ONNX embedding from one of those
// frames to the next. In a challenge the model runs only on those frames
// (embedFrames); an enrolment embeds every frame it describes.

// DefaultONNXMinSimilarity is the default smallest template similarity of
// the second embedder (fr_feature.onnx): what the calibration rule
// (chooseONNXThreshold: the smallest worst error rate over the data sets)
// picks on all the people of ../shared/faces and ../shared/liveness. Chosen
// on half of them it picked 0.30 and 0.41; docs/face-engine.md reports
// those choices on the other half and on bald_guys.jpg.
const DefaultONNXMinSimilarity = 0.34

// DefaultONNXMinSwapSimilarity is the default smallest similarity between
// consecutive described frames (400 ms apart at 5 fps) of one challenge:
// one person turning or smiling stays at 0.73 or more, the fixtures'
// identity swaps fall to 0.10-0.13, and 95 % of different-person pairs
// of the fixtures are under 0.41.
const DefaultONNXMinSwapSimilarity = 0.5

// templateSimilarity is the median over frames of each frame's similarity
// to the nearest template embedding, or nil when the second embedder is off,
// the template holds no embeddings of its model, or a frame has none.
func (e *Engine) templateSimilarity(t *Template, obs []frameObs) *float64 {
	if e.onnx == nil || !t.HasEmbeddings(e.onnx.id) || len(obs) == 0 {
		return nil
	}
	s := make([]float64, len(obs))
	for i, o := range obs {
		if o.emb == nil {
			return nil
		}
		s[i] = t.MaxSimilarity(o.emb)
	}
	m := median(s)
	return &m
}

// embeddingJump reports whether the second embedder sees another person
// between two consecutive described frames.
func (e *Engine) embeddingJump(obs []frameObs) bool {
	if e.onnx == nil {
		return false
	}
	return minConsecutiveSimilarity(obs) < e.cfg.ONNX.MinSwapSimilarity
}

// minConsecutiveSimilarity is the smallest similarity between one frame
// with an embedding and the next frame with one (1 when there are fewer
// than two). In a challenge those are the described frames at rest.
func minConsecutiveSimilarity(obs []frameObs) float64 {
	low := 1.0
	var prev Embedding
	for _, o := range obs {
		if o.emb == nil {
			continue
		}
		if prev != nil {
			low = math.Min(low, Similarity(prev, o.emb))
		}
		prev = o.emb
	}
	return low
}

// embedFrames runs the second embedder on the frames of obs named by
// which (the described frames the template match uses: at rest), spread
// over the pool. A challenge embeds only those: the match needs no others,
// and dlib's descriptors already watch every described frame for a swap.
func (e *Engine) embedFrames(ctx context.Context, obs []frameObs, which []frameObs) error {
	if e.onnx == nil {
		return nil
	}
	return e.forEach(ctx, len(which), func(k int) error { return e.embedFrame(ctx, &obs[which[k].index]) })
}

// embedFrame runs the second embedder on one frame that kept its analysis
// image; a frame embedded already is left as it is.
func (e *Engine) embedFrame(ctx context.Context, o *frameObs) error {
	if o.emb != nil || o.img == nil {
		return nil
	}
	var emb Embedding
	err := e.withWorker(ctx, func(w *worker) (err error) {
		emb, err = w.emb.embed(o.img, o.pts)
		return err
	})
	if err != nil {
		return fmt.Errorf("frame %d: %w", o.index, err)
	}
	e.bufs.release(o.img)
	o.emb, o.img = emb, nil
	return nil
}

// stampEmbeddingModel names the model of a new template's embeddings.
func (e *Engine) stampEmbeddingModel(t *Template) {
	if e.onnx != nil && len(t.Embeddings) > 0 {
		t.EmbeddingModel = e.onnx.id
	}
}

// upgradeTemplate returns t with the second embedder's samples taken from
// the frames a passed verification was matched on (up to enrolMaxSamples,
// spread over them), when t has none of this model's; nil when there is
// nothing to add. The dlib descriptors are kept as enrolled.
func (e *Engine) upgradeTemplate(t *Template, match []frameObs) *Template {
	if e.onnx == nil || t.HasEmbeddings(e.onnx.id) {
		return nil
	}
	var with []frameObs
	for _, o := range match {
		if o.emb != nil {
			with = append(with, o)
		}
	}
	if len(with) == 0 {
		return nil
	}
	n := min(enrolMaxSamples, len(with))
	up := &Template{Descriptors: append([]Descriptor(nil), t.Descriptors...), EmbeddingModel: e.onnx.id}
	for k := range n {
		up.Embeddings = append(up.Embeddings, with[k*len(with)/n].emb)
	}
	return up
}
