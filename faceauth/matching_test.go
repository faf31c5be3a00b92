package faceauth

import (
	"sort"
	"testing"
)

// dlib's bald_guys.jpg separates into its 4 actors at the default
// threshold, with no pair of one cluster closer to another cluster.
func TestBaldGuysFourPeople(t *testing.T) {
	bg := baldGuys(t)
	if len(bg) != 24 {
		t.Fatalf("%d faces in bald_guys.jpg, want 24", len(bg))
	}
	lab := clusters(bg, DefaultMatchThreshold)
	sizes := map[int]int{}
	for _, l := range lab {
		sizes[l]++
	}
	if len(sizes) != 4 {
		t.Fatalf("%d clusters at %.2f, want 4 (%v)", len(sizes), DefaultMatchThreshold, sizes)
	}
	for i := range bg {
		for j := i + 1; j < len(bg); j++ {
			if lab[i] != lab[j] && Distance(bg[i], bg[j]) <= DefaultMatchThreshold {
				t.Errorf("faces %d and %d of different clusters at %.3f", i, j, Distance(bg[i], bg[j]))
			}
		}
	}
}

// On ../shared/faces the confirmed same-person pairs match at the default
// threshold, except jimin2-jimin4 (0.633, a known miss reported in
// docs/face-engine.md); different people are measured, not asserted apart:
// this model separates these faces poorly.
func TestSharedFacesConfirmedPairsMatch(t *testing.T) {
	ds := faceDescriptors(t)
	var same, misses int
	var diff []float64
	for i := range ds {
		for j := i + 1; j < len(ds); j++ {
			li, ci := confirmedFaces[ds[i].name]
			lj, cj := confirmedFaces[ds[j].name]
			d := Distance(ds[i].desc, ds[j].desc)
			if ci && cj && li == lj {
				same++
				if d > DefaultMatchThreshold {
					misses++
					t.Logf("%s vs %s: %.3f > %.2f (false non-match)", ds[i].name, ds[j].name, d, DefaultMatchThreshold)
				}
			} else if ds[i].label != ds[j].label {
				diff = append(diff, d)
			}
		}
	}
	if same == 0 || len(diff) == 0 {
		t.Fatalf("no pairs measured (same %d, different %d)", same, len(diff))
	}
	if misses > 1 {
		t.Errorf("%d of %d confirmed pairs do not match (1 expected)", misses, same)
	}
	sort.Float64s(diff)
	if diff[0] < 0.3 {
		t.Errorf("different people at %.3f: the model or alignment is broken", diff[0])
	}
}
