// Package auditlog is how the factor services record their decisions: an
// audit event carries who asked (the relying party and client address,
// set once per request by the HTTP layer with WithCaller) and a failure to
// write it is logged, never turned into a failed sign-in.
package auditlog

import (
	"context"
	"log/slog"
	"time"

	"github.com/faceidp/faceidp/models"
)

// Caller is who is asking, for the audit log: the relying party the
// sign-in is for and the client's address.
type Caller struct {
	// ClientID is the OIDC client of the sign-in ("" outside one, e.g. on
	// the account page).
	ClientID string
	// RemoteIP is the address of the HTTP client.
	RemoteIP string
}

type callerKey struct{}

// WithCaller returns ctx carrying c. The HTTP layer sets it on every
// request that reaches a factor service.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the Caller carried by ctx (zero if none).
func CallerFrom(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}

// Appender stores audit events (storage.Audit).
type Appender interface {
	AppendAudit(ctx context.Context, e *models.AuditEvent) error
}

// Append records e, filling Time with now when unset and ClientID and
// RemoteIP from the Caller of ctx when unset.
func Append(ctx context.Context, a Appender, now time.Time, e *models.AuditEvent) {
	if e.Time.IsZero() {
		e.Time = now
	}
	c := CallerFrom(ctx)
	if e.ClientID == "" {
		e.ClientID = c.ClientID
	}
	if e.RemoteIP == "" {
		e.RemoteIP = c.RemoteIP
	}
	if err := a.AppendAudit(ctx, e); err != nil {
		slog.ErrorContext(ctx, "append audit event", "type", e.Type, "user", e.UserID, "err", err)
	}
}
