package accounts

import (
	"context"
	"encoding/csv"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

func TestAdminOperationsNameTheActor(t *testing.T) {
	s, st := newService(t)
	ctx := WithActor(context.Background(), Actor{Name: "admin:u_root", RemoteIP: "192.0.2.1"})
	u, pw, err := s.CreateUserWithPassword(ctx, NewUser{Username: "ada", Email: "ada@example.com"})
	if err != nil || len(pw) < 20 {
		t.Fatalf("create with a generated password: %q, %v", pw, err)
	}
	if ok, _, err := s.hasher.Verify(u.PasswordHash, pw); err != nil || !ok {
		t.Fatalf("the generated password does not verify: %v", err)
	}
	if changed, err := s.SetAdmin(ctx, "ada", true); err != nil || !changed {
		t.Fatalf("SetAdmin: %v %v", changed, err)
	}
	if changed, _ := s.SetAdmin(ctx, "ada", true); changed {
		t.Error("SetAdmin twice reported a change")
	}
	evs, _ := st.ListAudit(ctx, storage.AuditFilter{Type: AuditUserAdmin})
	if len(evs) != 1 || evs[0].Details["actor"] != "admin:u_root" || evs[0].RemoteIP != "192.0.2.1" {
		t.Fatalf("audit of SetAdmin: %+v", evs)
	}
	if _, err := s.SetAdmin(ctx, "nobody", true); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown user: %v, want ErrNotFound", err)
	}
	if _, _, err := s.CreateUserWithPassword(ctx, NewUser{Username: "ada", Email: "x@example.com"}); !errors.Is(err, ErrConflict) {
		t.Errorf("duplicate user: %v, want ErrConflict", err)
	}

	newPW, err := s.ResetPassword(ctx, "ada")
	if err != nil || newPW == pw {
		t.Fatalf("ResetPassword: %q %v", newPW, err)
	}
	got, _ := st.GetUser(ctx, u.ID)
	if ok, _, _ := s.hasher.Verify(got.PasswordHash, newPW); !ok {
		t.Fatal("the reset password does not verify")
	}

	if err := st.SaveFaceTemplate(ctx, &models.FaceTemplate{UserID: u.ID, KeyID: "k1", Sealed: []byte("x"), Samples: 3}); err != nil {
		t.Fatal(err)
	}
	if err := s.ForceFaceReenrol(ctx, "ada"); err != nil {
		t.Fatal(err)
	}
	got, _ = st.GetUser(ctx, u.ID)
	if _, err := st.GetFaceTemplate(ctx, u.ID); !errors.Is(err, storage.ErrNotFound) || !got.RequireFace {
		t.Fatalf("after ForceFaceReenrol: template err %v, require face %v", err, got.RequireFace)
	}
}

func TestAuditCSVNeutralisesFormulas(t *testing.T) {
	var b strings.Builder
	evs := []models.AuditEvent{{ID: 7, Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Type: "login.pwd", Outcome: "failure",
		UserID: "=HYPERLINK(\"http://evil\")", Reason: "@SUM(1)", Details: map[string]any{"score": 0.5}}}
	if err := WriteAuditCSV(&b, evs); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("CSV %q: %v", b.String(), err)
	}
	r := rows[1]
	if r[0] != "7" || r[1] != "2026-01-02T03:04:05Z" || r[4] != `'=HYPERLINK("http://evil")` || r[6] != "'@SUM(1)" || r[8] != `{"score":0.5}` {
		t.Errorf("CSV row %q", r)
	}
}

func TestAbuseOverview(t *testing.T) {
	s, st := newService(t)
	ctx := context.Background()
	now := time.Now()
	for _, e := range []models.AuditEvent{
		{Type: "login.pwd", Outcome: "failure", UserID: "u1", RemoteIP: "192.0.2.1"},
		{Type: "login.pwd", Outcome: "failure", UserID: "u1", RemoteIP: "192.0.2.2"},
		{Type: "face.verify", Outcome: "failure", UserID: "u2", RemoteIP: "192.0.2.1", Reason: "spoof_screen"},
		{Type: "face.verify", Outcome: "success", UserID: "u2"},
		{Type: "token.refresh_reuse", Outcome: "failure", UserID: "u3"},
		{Type: "login.pwd", Outcome: "failure", UserID: "old", Time: now.Add(-48 * time.Hour)},
	} {
		if e.Time.IsZero() {
			e.Time = now.Add(-time.Minute)
		}
		if err := st.AppendAudit(ctx, &e); err != nil {
			t.Fatal(err)
		}
	}
	a, err := s.AbuseOverview(ctx, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.FailuresByUser) != 2 || a.FailuresByUser[0] != (Count{"u1", 2}) || a.FailuresByUser[1] != (Count{"u2", 1}) {
		t.Errorf("by user: %+v", a.FailuresByUser)
	}
	if len(a.FailuresBySource) != 2 || a.FailuresBySource[0] != (Count{"192.0.2.1", 2}) {
		t.Errorf("by source: %+v", a.FailuresBySource)
	}
	if len(a.SpoofRefusals) != 1 || a.SpoofRefusals[0] != (Count{"spoof_screen", 1}) {
		t.Errorf("face refusals: %+v", a.SpoofRefusals)
	}
}
