package face

import "context"

// Caller is who is asking, for the audit log: the relying party the
// sign-in is for and the client's address. Every audit event the service
// writes carries them.
type Caller struct {
	// ClientID is the OIDC client of the sign-in ("" outside one, e.g. on
	// the account page).
	ClientID string
	// RemoteIP is the address of the HTTP client.
	RemoteIP string
}

type callerKey struct{}

// WithCaller returns ctx carrying c. The HTTP layer sets it on every
// request that reaches the service.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the Caller carried by ctx (zero if none).
func CallerFrom(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}
