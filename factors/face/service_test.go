package face_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/faceidp/faceidp/faceauth"
	"github.com/faceidp/faceidp/factors/face"
	"github.com/faceidp/faceidp/internal/facetest"
	"github.com/faceidp/faceidp/internal/fixtures"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

func TestRandomPickerDistinctAndUnbiasedRejection(t *testing.T) {
	// With 3 actions left, bytes >= 255 would bias the modulo and are skipped.
	r := bytes.NewReader([]byte{2, 255, 0, 1})
	got, err := face.RandomPicker(r).Pick(3)
	if err != nil {
		t.Fatal(err)
	}
	// pool [blink smile turn_left turn_right]: 2 -> turn_left; pool
	// [blink smile turn_right]: 255 rejected (>= 255), 0 -> blink; pool
	// [smile turn_right]: 1 -> turn_right.
	want := []faceauth.Action{faceauth.ActionTurnLeft, faceauth.ActionBlink, faceauth.ActionTurnRight}
	if !slices.Equal(got, want) {
		t.Fatalf("Pick = %v, want %v", got, want)
	}
	if _, err := face.RandomPicker(bytes.NewReader(nil)).Pick(2); err == nil {
		t.Fatal("Pick with an empty random source succeeded")
	}
	if _, err := face.RandomPicker(bytes.NewReader(make([]byte, 10))).Pick(5); err == nil {
		t.Fatal("Pick(5) of 4 actions succeeded")
	}
}

// countingEngine wraps the real engine to count how often it ran.
type countingEngine struct {
	faceauth.Verifier
	calls int
}

func (e *countingEngine) Verify(ctx context.Context, t *faceauth.Template, a []faceauth.Action, f [][]byte, o faceauth.Options) (*faceauth.Result, error) {
	e.calls++
	return e.Verifier.Verify(ctx, t, a, f, o)
}

func (e *countingEngine) Enrol(ctx context.Context, a []faceauth.Action, f [][]byte, o faceauth.Options) (*faceauth.Template, *faceauth.Result, error) {
	e.calls++
	return e.Verifier.Enrol(ctx, a, f, o)
}

func TestIssueChallenge(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 0, &countingEngine{Verifier: facetest.Engine(t)})
	addUser(t, e.store, "u1")
	// Real randomness: distinct actions, default 2 steps, unique IDs.
	svc, err := face.New(face.Deps{Store: e.store, Engine: facetest.Engine(t), Keyring: e.kr, Now: e.clock.Now, Rand: randReader()}, face.Options{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := 0; i < 20; i++ {
		ch, err := svc.IssueChallenge(ctx, "u1", "ar1", "s1", models.FacePurposeEnrol)
		if err != nil {
			t.Fatal(err)
		}
		if len(ch.Actions) != face.DefaultSteps || ch.Actions[0] == ch.Actions[1] {
			t.Fatalf("challenge actions %v: want %d distinct", ch.Actions, face.DefaultSteps)
		}
		if seen[ch.ID] || len(ch.ID) < 40 {
			t.Fatalf("challenge id %q repeated or short", ch.ID)
		}
		seen[ch.ID] = true
		if want := e.clock.Now().Add(face.DefaultTTL); !ch.ExpiresAt.Equal(want) {
			t.Fatalf("expires %v, want %v", ch.ExpiresAt, want)
		}
		rec, err := e.store.GetFaceChallenge(ctx, ch.ID)
		if err != nil {
			t.Fatal(err)
		}
		if rec.UserID != "u1" || rec.AuthRequestID != "ar1" || rec.SessionID != "s1" || rec.UsedAt != nil {
			t.Fatalf("stored challenge %+v", rec)
		}
	}
	if _, err := svc.IssueChallenge(ctx, "u1", "ar1", "s1", models.FacePurposeVerify); !errors.Is(err, face.ErrNotEnrolled) {
		t.Fatalf("verify challenge without a template: err = %v, want ErrNotEnrolled", err)
	}
	if _, err := face.New(face.Deps{Store: e.store, Engine: facetest.Engine(t), Keyring: e.kr, Now: e.clock.Now, Rand: randReader()}, face.Options{Steps: 5}); err == nil {
		t.Fatal("5 distinct steps out of 4 actions accepted")
	}
}

// TestChallengeSingleUseBoundAndExpiring checks every refusal before the
// engine runs: none of them reaches the engine or stores anything.
func TestChallengeSingleUseBoundAndExpiring(t *testing.T) {
	ctx := context.Background()
	eng := &countingEngine{Verifier: facetest.Engine(t)}
	e := newEnv(t, 1, eng)
	addUser(t, e.store, "u1")
	frames := fixtures.ClipFramesByID(t, "p01_blink", 1)

	issue := func() string {
		e.picker.Push(faceauth.ActionBlink)
		ch, err := e.svc.IssueChallenge(ctx, "u1", "ar1", "s1", models.FacePurposeEnrol)
		if err != nil {
			t.Fatal(err)
		}
		return ch.ID
	}

	id := issue()
	for _, tc := range []struct{ ar, sess string }{{"ar2", "s1"}, {"ar1", "s2"}, {"", ""}} {
		if _, err := e.svc.Answer(ctx, id, tc.ar, tc.sess, frames, faceauth.Options{}); !errors.Is(err, face.ErrWrongSession) {
			t.Fatalf("answer from %v: err = %v, want ErrWrongSession", tc, err)
		}
	}
	if rec, _ := e.store.GetFaceChallenge(ctx, id); rec.UsedAt != nil {
		t.Fatal("a refused answer from another session consumed the challenge")
	}
	if _, err := e.svc.Answer(ctx, "no-such-challenge", "ar1", "s1", frames, faceauth.Options{}); !errors.Is(err, face.ErrChallengeNotFound) {
		t.Fatalf("unknown challenge: err = %v", err)
	}

	e.clock.Advance(face.DefaultTTL)
	if _, err := e.svc.Answer(ctx, id, "ar1", "s1", frames, faceauth.Options{}); !errors.Is(err, face.ErrChallengeExpired) {
		t.Fatalf("expired challenge: err = %v, want ErrChallengeExpired", err)
	}
	if eng.calls != 0 {
		t.Fatalf("engine ran %d times for refused answers", eng.calls)
	}
	if ok, _ := e.svc.Enrolled(ctx, "u1"); ok {
		t.Fatal("a template was stored by a refused answer")
	}

	// A fresh challenge is answered once; the replay is refused.
	id = issue()
	out, err := e.svc.Answer(ctx, id, "ar1", "s1", frames, faceauth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !out.Passed() {
		t.Fatalf("enrolment with p01_blink failed: %+v", out.Result)
	}
	if _, err := e.svc.Answer(ctx, id, "ar1", "s1", frames, faceauth.Options{}); !errors.Is(err, face.ErrChallengeUsed) {
		t.Fatalf("replay: err = %v, want ErrChallengeUsed", err)
	}
	if eng.calls != 1 {
		t.Fatalf("engine ran %d times, want 1", eng.calls)
	}
}

func TestEnrolThenVerify(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 1, nil)
	addUser(t, e.store, "u1")

	answer := func(purpose models.FacePurpose, action faceauth.Action, clip string) *face.Outcome {
		t.Helper()
		e.picker.Push(action)
		ch, err := e.svc.IssueChallenge(ctx, "u1", "ar1", "s1", purpose)
		if err != nil {
			t.Fatal(err)
		}
		out, err := e.svc.Answer(ctx, ch.ID, "ar1", "s1", fixtures.ClipFramesByID(t, clip, 1), faceauth.Options{})
		if err != nil {
			t.Fatalf("%s %s: %v", purpose, clip, err)
		}
		return out
	}

	// A static photo cannot enrol.
	if out := answer(models.FacePurposeEnrol, faceauth.ActionBlink, "spoof_static_photo_p02"); out.Passed() {
		t.Fatalf("static photo enrolled: %+v", out.Result)
	}
	if ok, _ := e.svc.Enrolled(ctx, "u1"); ok {
		t.Fatal("failed enrolment stored a template")
	}

	out := answer(models.FacePurposeEnrol, faceauth.ActionBlink, "p01_blink")
	if !out.Passed() || out.UserID != "u1" || out.Purpose != models.FacePurposeEnrol {
		t.Fatalf("enrolment: %+v %+v", out, out.Result)
	}
	rec, err := e.store.GetFaceTemplate(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if rec.KeyID != "k1" || rec.Samples < 1 {
		t.Fatalf("template record %+v", rec)
	}
	if _, err := faceauth.OpenTemplate(e.kr, "u2", rec.KeyID, rec.Sealed); err == nil {
		t.Fatal("sealed template opens for another user")
	}

	// The same person, another action: passes. Another person: fails.
	if out := answer(models.FacePurposeVerify, faceauth.ActionTurnLeft, "p01_turn_left"); !out.Passed() {
		t.Fatalf("p01 verify failed: %+v", out.Result)
	}
	out = answer(models.FacePurposeVerify, faceauth.ActionBlink, "p02_blink")
	if out.Passed() {
		t.Fatalf("p02 verified as p01: %+v", out.Result)
	}
	// The wrong action fails.
	if out := answer(models.FacePurposeVerify, faceauth.ActionSmile, "p01_blink"); out.Passed() {
		t.Fatalf("blink clip passed a smile challenge: %+v", out.Result)
	}

	// Audit: every decision, with scores and without images or descriptors.
	evs, err := e.store.ListAudit(ctx, storage.AuditFilter{UserID: "u1"})
	if err != nil {
		t.Fatal(err)
	}
	var enrol, verifyOK, verifyFail int
	for _, ev := range evs {
		switch {
		case ev.Type == face.AuditEnrol && ev.Outcome == "success":
			enrol++
		case ev.Type == face.AuditVerify && ev.Outcome == "success":
			verifyOK++
			if _, ok := ev.Details["distance"]; !ok {
				t.Fatalf("verify audit without distance: %+v", ev.Details)
			}
		case ev.Type == face.AuditVerify && ev.Outcome == "failure":
			verifyFail++
		}
		for k := range ev.Details {
			if k == "descriptor" || k == "descriptors" || k == "frames_data" || k == "image" {
				t.Fatalf("audit event holds %s", k)
			}
		}
	}
	if enrol != 1 || verifyOK != 1 || verifyFail != 2 {
		t.Fatalf("audit counts enrol=%d verifyOK=%d verifyFail=%d; events %+v", enrol, verifyOK, verifyFail, evs)
	}

	// Deleting the template: no longer enrolled, verification refused.
	if err := e.svc.DeleteTemplate(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := e.svc.Enrolled(ctx, "u1"); ok {
		t.Fatal("still enrolled after DeleteTemplate")
	}
	if _, err := e.svc.IssueChallenge(ctx, "u1", "ar1", "s1", models.FacePurposeVerify); !errors.Is(err, face.ErrNotEnrolled) {
		t.Fatalf("verify after delete: %v", err)
	}
}

func TestEngineRefusalStoresNothing(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 1, nil)
	addUser(t, e.store, "u1")
	e.picker.Push(faceauth.ActionBlink)
	ch, err := e.svc.IssueChallenge(ctx, "u1", "", "acct-session", models.FacePurposeEnrol)
	if err != nil {
		t.Fatal(err)
	}
	// Too few frames for the engine.
	_, err = e.svc.Answer(ctx, ch.ID, "", "acct-session", fixtures.ClipFramesByID(t, "p01_blink", 1)[:2], faceauth.Options{})
	var ref *face.RefusedError
	if !errors.As(err, &ref) || ref.Input.Code != faceauth.CodeTooFewFrames {
		t.Fatalf("2 frames: err = %v, want a too_few_frames refusal", err)
	}
	if ok, _ := e.svc.Enrolled(ctx, "u1"); ok {
		t.Fatal("refused frames stored a template")
	}
	// The refusal consumed the challenge (the engine ran on it).
	if _, err := e.svc.Answer(ctx, ch.ID, "", "acct-session", fixtures.ClipFramesByID(t, "p01_blink", 1), faceauth.Options{}); !errors.Is(err, face.ErrChallengeUsed) {
		t.Fatalf("answer after refusal: %v", err)
	}
	evs, _ := e.store.ListAudit(ctx, storage.AuditFilter{UserID: "u1", Type: face.AuditEnrol})
	if len(evs) != 1 || evs[0].Outcome != "failure" || evs[0].Reason != faceauth.CodeTooFewFrames {
		t.Fatalf("audit %+v", evs)
	}
}

// racingStore re-enrols a user (under the newest key) the first time the
// rotation tries to swap that user's record, so the CAS sees a stale key.
type racingStore struct {
	face.Store
	raceUser string
	raced    bool
	fresh    *models.FaceTemplate
}

func (s *racingStore) ResealFaceTemplate(ctx context.Context, userID, oldKeyID string, oldSealed []byte, newKeyID string, sealed []byte) error {
	if userID == s.raceUser && !s.raced {
		s.raced = true
		if err := s.Store.SaveFaceTemplate(ctx, s.fresh); err != nil {
			return err
		}
	}
	return s.Store.ResealFaceTemplate(ctx, userID, oldKeyID, oldSealed, newKeyID, sealed)
}

func TestRotateTemplates(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 1, &countingEngine{Verifier: facetest.Engine(t)})
	users := []string{"a", "b", "c", "d"}
	tmpl := func(v float32) *faceauth.Template {
		var d faceauth.Descriptor
		for i := range d {
			d[i] = v
		}
		return &faceauth.Template{Descriptors: []faceauth.Descriptor{d}}
	}
	old := newKeyring(t, "k1")
	for i, u := range users {
		addUser(t, e.store, u)
		keyID, sealed, err := faceauth.SealTemplate(old, u, tmpl(float32(i)))
		if err != nil {
			t.Fatal(err)
		}
		if err := e.store.SaveFaceTemplate(ctx, &models.FaceTemplate{UserID: u, KeyID: keyID, Sealed: sealed, Samples: 1}); err != nil {
			t.Fatal(err)
		}
	}
	kr := newKeyring(t, "k1", "k2")
	// User c re-enrols while the rotation runs.
	keyID, sealed, err := faceauth.SealTemplate(kr, "c", tmpl(42))
	if err != nil {
		t.Fatal(err)
	}
	rs := &racingStore{Store: e.store, raceUser: "c", fresh: &models.FaceTemplate{UserID: "c", KeyID: keyID, Sealed: sealed, Samples: 1}}
	svc, err := face.New(face.Deps{Store: rs, Engine: facetest.Engine(t), Keyring: kr, Now: e.clock.Now, Rand: randReader()}, face.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := svc.RotateTemplates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Templates != 4 || st.Resealed != 3 || st.Current != 1 || !rs.raced {
		t.Fatalf("stats %+v (raced %v), want 4 templates, 3 resealed, 1 current", st, rs.raced)
	}
	for i, u := range users {
		rec, err := e.store.GetFaceTemplate(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		if rec.KeyID != "k2" {
			t.Fatalf("%s still sealed under %s", u, rec.KeyID)
		}
		got, err := faceauth.OpenTemplate(newKeyring(t, "k2"), u, rec.KeyID, rec.Sealed)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		want := float32(i)
		if u == "c" {
			want = 42 // the re-enrolment survived the rotation
		}
		if got.Descriptors[0][0] != want {
			t.Fatalf("%s: template value %v, want %v", u, got.Descriptors[0][0], want)
		}
	}
	// Idempotent.
	st, err = svc.RotateTemplates(ctx)
	if err != nil || st.Resealed != 0 || st.Current != 4 {
		t.Fatalf("second rotation: %+v %v", st, err)
	}
}

// Every audit event of the service names the client and address of the
// caller (face.WithCaller), besides user, outcome, reason and scores.
func TestAuditRecordsCaller(t *testing.T) {
	e := newEnv(t, 1, nil)
	addUser(t, e.store, "u1")
	ctx := face.WithCaller(context.Background(), face.Caller{ClientID: "demo", RemoteIP: "192.0.2.7"})

	e.picker.Push(faceauth.ActionBlink)
	ch, err := e.svc.IssueChallenge(ctx, "u1", "ar1", "s1", models.FacePurposeEnrol)
	if err != nil {
		t.Fatal(err)
	}
	// A refusal of the frames (too few) and a decision.
	if _, err := e.svc.Answer(ctx, ch.ID, "ar1", "s1", fixtures.ClipFramesByID(t, "p01_blink", 1)[:2], faceauth.Options{}); err == nil {
		t.Fatal("2 frames accepted")
	}
	e.picker.Push(faceauth.ActionBlink)
	ch, err = e.svc.IssueChallenge(ctx, "u1", "ar1", "s1", models.FacePurposeEnrol)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := e.svc.Answer(ctx, ch.ID, "ar1", "s1", fixtures.ClipFramesByID(t, "p01_blink", 1), faceauth.Options{}); err != nil || !out.Passed() {
		t.Fatalf("enrolment: %+v %v", out, err)
	}
	if err := e.svc.DeleteTemplate(face.WithCaller(context.Background(), face.Caller{RemoteIP: "198.51.100.9"}), "u1"); err != nil {
		t.Fatal(err)
	}
	evs, err := e.store.ListAudit(context.Background(), storage.AuditFilter{UserID: "u1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 {
		t.Fatalf("%d audit events, want 3: %+v", len(evs), evs)
	}
	for _, ev := range evs {
		want := face.Caller{ClientID: "demo", RemoteIP: "192.0.2.7"}
		if ev.Type == face.AuditDelete {
			want = face.Caller{RemoteIP: "198.51.100.9"}
		}
		if ev.ClientID != want.ClientID || ev.RemoteIP != want.RemoteIP || ev.UserID != "u1" || ev.Outcome == "" || ev.Reason == "" && ev.Type != face.AuditDelete {
			t.Fatalf("audit event %+v, want client %q and address %q", ev, want.ClientID, want.RemoteIP)
		}
	}
}
