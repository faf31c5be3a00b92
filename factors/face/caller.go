package face

import (
	"context"

	"github.com/faceidp/faceidp/factors/auditlog"
)

// Caller is who is asking, for the audit log: the relying party the
// sign-in is for and the client's address. Every audit event the service
// writes carries them. It is auditlog.Caller, shared by every factor.
type Caller = auditlog.Caller

// WithCaller returns ctx carrying c (auditlog.WithCaller). The HTTP layer
// sets it on every request that reaches the service.
func WithCaller(ctx context.Context, c Caller) context.Context { return auditlog.WithCaller(ctx, c) }

// CallerFrom returns the Caller carried by ctx (zero if none).
func CallerFrom(ctx context.Context) Caller { return auditlog.CallerFrom(ctx) }
