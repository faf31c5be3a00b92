package recovery_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/faceidp/faceidp/factors/recovery"
	"github.com/faceidp/faceidp/internal/pgtest"
	"github.com/faceidp/faceidp/internal/testclock"
	"github.com/faceidp/faceidp/internal/teststore"
	"github.com/faceidp/faceidp/keyring"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
	"github.com/faceidp/faceidp/storage/sqlstore"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func key(id string, b byte) keyring.Key {
	return keyring.Key{ID: id, Secret: bytes.Repeat([]byte{b}, keyring.KeySize)}
}

func newKeyring(t *testing.T, keys ...keyring.Key) *keyring.Keyring {
	t.Helper()
	if len(keys) == 0 {
		keys = []keyring.Key{key("k1", 1)}
	}
	kr, err := keyring.New(keys, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

type fixture struct {
	url   string
	store *sqlstore.Store
	clock *testclock.Clock
	svc   *recovery.Service
}

func setup(t *testing.T, dbURL string) *fixture {
	t.Helper()
	if dbURL == "" {
		dbURL = teststore.SQLiteURL(t)
	}
	f := &fixture{url: dbURL, store: teststore.Open(t, dbURL), clock: testclock.New(t0)}
	f.svc = f.service(t, newKeyring(t))
	return f
}

func (f *fixture) service(t *testing.T, kr *keyring.Keyring) *recovery.Service {
	t.Helper()
	svc, err := recovery.New(f.store, kr, f.clock.Now, rand.Reader, recovery.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func (f *fixture) auditOutcomes(t *testing.T, typ string) []string {
	t.Helper()
	evs, err := f.store.ListAudit(t.Context(), storage.AuditFilter{Type: typ})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Outcome+":"+e.Reason)
	}
	slices.Sort(out)
	return out
}

func TestGenerateShowsTenDistinctCodesOnce(t *testing.T) {
	f := setup(t, "")
	codes, err := f.svc.Generate(t.Context(), "u1")
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != recovery.CodesPerSet {
		t.Fatalf("%d codes, want %d", len(codes), recovery.CodesPerSet)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if len(c) != 11 || c[5] != '-' || strings.ToLower(c) != c {
			t.Errorf("code %q is not shown as xxxxx-xxxxx", c)
		}
		if _, ok := recovery.Normalize(c); !ok {
			t.Errorf("shown code %q does not normalise", c)
		}
		if seen[c] {
			t.Errorf("code %q appears twice", c)
		}
		seen[c] = true
	}
	st, err := f.svc.Remaining(t.Context(), "u1")
	if err != nil || st.Remaining != 10 || st.Stale != 0 || !st.Generated.Equal(t0) {
		t.Fatalf("Remaining = %+v, %v", st, err)
	}
}

// The database holds neither a code nor anything a dump could check a
// guess against without the master key.
func TestCodesAreHashedAtRest(t *testing.T) {
	f := setup(t, "")
	codes, err := f.svc.Generate(t.Context(), "u1")
	if err != nil {
		t.Fatal(err)
	}
	var dump bytes.Buffer
	raw, err := gorm.Open(sqlite.Open(strings.TrimPrefix(f.url, "sqlite://")), &gorm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := raw.Raw("SELECT * FROM recovery_codes").Rows()
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := rows.Columns()
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			switch v := v.(type) {
			case []byte:
				dump.Write(v)
			case string:
				dump.WriteString(v)
			}
			dump.WriteByte('|')
		}
	}
	rows.Close()
	if dump.Len() == 0 {
		t.Fatal("no rows dumped")
	}
	text := strings.ToUpper(dump.String())
	for _, c := range codes {
		n, _ := recovery.Normalize(c)
		for _, form := range []string{n, strings.ToUpper(c), n[:5], n[5:]} {
			if strings.Contains(text, form) {
				t.Fatalf("recovery_codes holds %q (from code %s): %s", form, c, dump.String())
			}
		}
	}
	// The same codes under another master key hash differently: the hash
	// depends on a key that is not in the database.
	other := f.service(t, newKeyring(t, key("k1", 2)))
	if _, err := other.Consume(t.Context(), "u1", codes[0]); !errors.Is(err, recovery.ErrInvalidCode) {
		t.Fatalf("code accepted under a different key: %v", err)
	}
}

func TestConsumeIsSingleUse(t *testing.T) {
	f := setup(t, "")
	ctx := t.Context()
	codes, err := f.svc.Generate(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	// Typed differently: upper case, spaces instead of the hyphen.
	typed := strings.ToUpper(strings.ReplaceAll(codes[3], "-", " "))
	left, err := f.svc.Consume(ctx, "u1", typed)
	if err != nil || left != 9 {
		t.Fatalf("first use: %d left, %v", left, err)
	}
	if _, err := f.svc.Consume(ctx, "u1", codes[3]); !errors.Is(err, recovery.ErrInvalidCode) {
		t.Fatalf("second use: %v", err)
	}
	if _, err := f.svc.Consume(ctx, "u2", codes[4]); !errors.Is(err, recovery.ErrInvalidCode) {
		t.Fatalf("another user's code: %v", err)
	}
	for _, bad := range []string{"", "abcde", "abcde-fghij-k", "abcde-fgh!j", strings.Repeat("a", 500)} {
		if _, err := f.svc.Consume(ctx, "u1", bad); !errors.Is(err, recovery.ErrInvalidCode) {
			t.Fatalf("Consume(%q): %v", bad, err)
		}
	}
	st, _ := f.svc.Remaining(ctx, "u1")
	if st.Remaining != 9 {
		t.Fatalf("remaining %d after failures, want 9", st.Remaining)
	}
	got := f.auditOutcomes(t, recovery.AuditUse)
	want := []string{"failure:already used", "failure:malformed", "failure:malformed", "failure:malformed", "failure:malformed", "failure:malformed", "failure:no codes", "success:"}
	if !slices.Equal(got, want) {
		t.Fatalf("audit %v, want %v", got, want)
	}
	// Every code can be used once, then none are left.
	for i, c := range codes {
		if i == 3 {
			continue
		}
		if _, err := f.svc.Consume(ctx, "u1", c); err != nil {
			t.Fatalf("code %d: %v", i, err)
		}
	}
	if st, _ := f.svc.Remaining(ctx, "u1"); st.Remaining != 0 {
		t.Fatalf("remaining %d after using all", st.Remaining)
	}
}

func TestRegenerationInvalidatesTheOldSet(t *testing.T) {
	f := setup(t, "")
	ctx := t.Context()
	old, _ := f.svc.Generate(ctx, "u1")
	if _, err := f.svc.Consume(ctx, "u1", old[0]); err != nil {
		t.Fatal(err)
	}
	fresh, err := f.svc.Generate(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range old[1:] {
		if _, err := f.svc.Consume(ctx, "u1", c); !errors.Is(err, recovery.ErrInvalidCode) {
			t.Fatalf("old code %s after regeneration: %v", c, err)
		}
	}
	if left, err := f.svc.Consume(ctx, "u1", fresh[9]); err != nil || left != 9 {
		t.Fatalf("new code: %d left, %v", left, err)
	}
}

// Codes hashed under a master key that was removed cannot be used and are
// reported stale, so the user can be told to regenerate.
func TestRemovedMasterKeyMakesCodesStale(t *testing.T) {
	f := setup(t, "")
	ctx := t.Context()
	codes, _ := f.svc.Generate(ctx, "u1")
	rotated := f.service(t, newKeyring(t, key("k1", 1), key("k2", 2)))
	if _, err := rotated.Consume(ctx, "u1", codes[0]); err != nil {
		t.Fatalf("code after adding a newer key: %v", err)
	}
	removed := f.service(t, newKeyring(t, key("k2", 2)))
	st, err := removed.Remaining(ctx, "u1")
	if err != nil || st.Remaining != 0 || st.Stale != 9 {
		t.Fatalf("after removing k1: %+v, %v", st, err)
	}
	if _, err := removed.Consume(ctx, "u1", codes[1]); !errors.Is(err, recovery.ErrInvalidCode) {
		t.Fatalf("code under a removed key: %v", err)
	}
	fresh, _ := removed.Generate(ctx, "u1")
	if _, err := removed.Consume(ctx, "u1", fresh[0]); err != nil {
		t.Fatal(err)
	}
}

// Two sign-ins presenting one code at once, on SQLite and PostgreSQL:
// exactly one is let through.
func TestConcurrentUseOfOneCode(t *testing.T) {
	for name, url := range map[string]func(testing.TB) string{"sqlite": teststore.SQLiteURL, "postgres": pgtest.SchemaURL} {
		t.Run(name, func(t *testing.T) {
			f := setup(t, url(t))
			codes, _ := f.svc.Generate(t.Context(), "u1")
			const n = 8
			errs := make(chan error, n)
			start := make(chan struct{})
			for range n {
				go func() {
					<-start
					_, err := f.svc.Consume(t.Context(), "u1", codes[0])
					errs <- err
				}()
			}
			close(start)
			wins := 0
			for range n {
				err := <-errs
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, recovery.ErrInvalidCode):
					t.Errorf("unexpected error: %v", err)
				}
			}
			if wins != 1 {
				t.Fatalf("one code used %d times concurrently, want 1", wins)
			}
		})
	}
}

func TestBypassSingleUseAndExpiry(t *testing.T) {
	f := setup(t, "")
	ctx := t.Context()
	if _, err := f.svc.ConsumeBypass(ctx, "u1"); !errors.Is(err, recovery.ErrNoBypass) {
		t.Fatalf("consume without a grant: %v", err)
	}
	b, err := f.svc.GrantBypass(ctx, "u1", "cli:root", "broken camera", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !b.ExpiresAt.Equal(t0.Add(24 * time.Hour)) {
		t.Fatalf("default expiry %s, want 24h after grant", b.ExpiresAt)
	}
	if a, err := f.svc.ActiveBypass(ctx, "u1"); err != nil || a.ID != b.ID || a.Reason != "broken camera" {
		t.Fatalf("ActiveBypass = %+v, %v", a, err)
	}
	f.clock.Advance(23 * time.Hour)
	used, err := f.svc.ConsumeBypass(ctx, "u1")
	if err != nil || used.ID != b.ID || used.UsedAt == nil {
		t.Fatalf("consume = %+v, %v", used, err)
	}
	if _, err := f.svc.ConsumeBypass(ctx, "u1"); !errors.Is(err, recovery.ErrNoBypass) {
		t.Fatalf("second consume: %v", err)
	}

	if _, err := f.svc.GrantBypass(ctx, "u1", "cli:root", "", time.Hour); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour)
	if _, err := f.svc.ConsumeBypass(ctx, "u1"); !errors.Is(err, recovery.ErrNoBypass) {
		t.Fatalf("consume at expiry: %v", err)
	}
	if _, err := f.svc.ActiveBypass(ctx, "u1"); !errors.Is(err, recovery.ErrNoBypass) {
		t.Fatalf("active at expiry: %v", err)
	}
	for _, ttl := range []time.Duration{time.Second, 8 * 24 * time.Hour, -time.Hour} {
		if _, err := f.svc.GrantBypass(ctx, "u1", "cli:root", "", ttl); err == nil {
			t.Errorf("grant with lifetime %s accepted", ttl)
		}
	}
	got := f.auditOutcomes(t, recovery.AuditBypassUse)
	if want := []string{"failure:no usable bypass", "failure:no usable bypass", "failure:no usable bypass", "success:"}; !slices.Equal(got, want) {
		t.Fatalf("bypass use audit %v, want %v", got, want)
	}
}

func TestBypassRevokeAndRegrant(t *testing.T) {
	f := setup(t, "")
	ctx := t.Context()
	first, _ := f.svc.GrantBypass(ctx, "u1", "cli:alice", "new glasses", 0)
	second, _ := f.svc.GrantBypass(ctx, "u1", "cli:bob", "broken camera", 0)
	a, err := f.svc.ActiveBypass(ctx, "u1")
	if err != nil || a.ID != second.ID || a.ID == first.ID {
		t.Fatalf("active after regrant = %+v, %v; want the second grant", a, err)
	}
	ok, err := f.svc.RevokeBypass(ctx, "u1", "cli:alice")
	if err != nil || !ok {
		t.Fatalf("revoke = %v, %v", ok, err)
	}
	if _, err := f.svc.ConsumeBypass(ctx, "u1"); !errors.Is(err, recovery.ErrNoBypass) {
		t.Fatalf("consume after revoke: %v", err)
	}
	if ok, _ := f.svc.RevokeBypass(ctx, "u1", "cli:alice"); ok {
		t.Fatal("second revoke found a bypass")
	}
	var grants []models.AuditEvent
	grants, _ = f.store.ListAudit(ctx, storage.AuditFilter{Type: recovery.AuditBypassGrant})
	if len(grants) != 2 || grants[0].Details["granted_by"] == nil {
		t.Fatalf("grant audit events: %+v", grants)
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"abcde-fghij":    "ABCDEFGHIJ",
		" ABCDE FGHIJ ":  "ABCDEFGHIJ",
		"0a1b8-cdefg":    "OAIBBCDEFG",
		"abcde\tfghij":   "ABCDEFGHIJ",
		"2345 6723-45ab": "", // 12 characters
	} {
		got, ok := recovery.Normalize(in)
		if want == "" {
			if ok {
				t.Errorf("Normalize(%q) = %q, want rejection", in, got)
			}
			continue
		}
		if !ok || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if _, ok := recovery.Normalize("abcde-fghi9"); ok {
		t.Error("9 is not in the alphabet")
	}
}
