package accounts

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// AuditQuery selects audit events (see storage.AuditFilter); User may be
// a username, email or sub.
type AuditQuery struct {
	User     string
	ClientID string
	Type     string
	Outcome  string
	Since    time.Time
	Until    time.Time
	Page     Page
}

// MaxExport caps the events one QueryAudit returns (a CSV export).
const MaxExport = 10000

// QueryAudit returns a page of matching events, newest first.
func (s *Service) QueryAudit(ctx context.Context, q AuditQuery) ([]models.AuditEvent, error) {
	p := q.Page
	if p.Limit <= 0 || p.Limit > MaxExport {
		p = p.norm()
	}
	p.Offset = max(p.Offset, 0)
	f := storage.AuditFilter{ClientID: q.ClientID, Type: q.Type, Outcome: q.Outcome, Since: q.Since, Until: q.Until, Limit: p.Limit, Offset: p.Offset}
	if q.User != "" {
		u, err := s.findUser(ctx, q.User)
		if err != nil {
			// Events may name users since deleted, or not a user at all.
			f.UserID = q.User
		} else {
			f.UserID = u.ID
		}
	}
	evs, err := s.store.ListAudit(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("query audit log: %w", err)
	}
	return evs, nil
}

// WriteAuditCSV writes events as CSV with a header row; details are one
// JSON column. Cells that a spreadsheet would run as a formula are
// prefixed with a quote.
func WriteAuditCSV(w io.Writer, evs []models.AuditEvent) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"id", "time", "type", "outcome", "user_id", "client_id", "reason", "remote_ip", "details"}); err != nil {
		return err
	}
	for _, e := range evs {
		d := ""
		if len(e.Details) > 0 {
			b, err := json.Marshal(e.Details)
			if err != nil {
				return fmt.Errorf("encode details of event %d: %w", e.ID, err)
			}
			d = string(b)
		}
		row := []string{strconv.FormatUint(e.ID, 10), e.Time.UTC().Format(time.RFC3339Nano), e.Type, e.Outcome, e.UserID, e.ClientID, e.Reason, e.RemoteIP, d}
		for i, c := range row {
			if c != "" && (c[0] == '=' || c[0] == '+' || c[0] == '-' || c[0] == '@') {
				row[i] = "'" + c
			}
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Abuse is the abuse overview: what failed since Since.
type Abuse struct {
	Since time.Time
	// FailuresByUser and FailuresBySource count failed sign-in steps
	// (login.* and face.verify failures), most first.
	FailuresByUser   []Count
	FailuresBySource []Count
	// SpoofRefusals counts refused face decisions by reason.
	SpoofRefusals []Count
	// Throttled are the counters holding attempts back now.
	Throttled []models.FactorThrottle
	// Truncated is set when more events failed than were counted.
	Truncated bool
}

// Count is one row of a tally.
type Count struct {
	Key string
	N   int
}

// abuseScan bounds the failure events one overview reads.
const abuseScan = 20000

// AbuseOverview tallies the failures of the last window (default 24h).
func (s *Service) AbuseOverview(ctx context.Context, window time.Duration) (*Abuse, error) {
	if window <= 0 {
		window = 24 * time.Hour
	}
	a := &Abuse{Since: s.clock().Add(-window)}
	evs, err := s.store.ListAudit(ctx, storage.AuditFilter{Outcome: "failure", Since: a.Since, Limit: abuseScan + 1})
	if err != nil {
		return nil, fmt.Errorf("abuse overview: %w", err)
	}
	if len(evs) > abuseScan {
		evs, a.Truncated = evs[:abuseScan], true
	}
	byUser, bySource, spoof := map[string]int{}, map[string]int{}, map[string]int{}
	for _, e := range evs {
		isLogin := len(e.Type) > 6 && e.Type[:6] == "login."
		if !isLogin && e.Type != "face.verify" {
			continue
		}
		if e.UserID != "" {
			byUser[e.UserID]++
		}
		if e.RemoteIP != "" {
			bySource[e.RemoteIP]++
		}
		if e.Type == "face.verify" && e.Reason != "" {
			spoof[e.Reason]++
		}
	}
	a.FailuresByUser, a.FailuresBySource, a.SpoofRefusals = tally(byUser), tally(bySource), tally(spoof)
	if a.Throttled, err = s.store.ListFailingThrottles(ctx, 100); err != nil {
		return nil, fmt.Errorf("abuse overview: %w", err)
	}
	return a, nil
}

func tally(m map[string]int) []Count {
	out := make([]Count, 0, len(m))
	for k, n := range m {
		out = append(out, Count{k, n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].N != out[j].N {
			return out[i].N > out[j].N
		}
		return out[i].Key < out[j].Key
	})
	return out
}
