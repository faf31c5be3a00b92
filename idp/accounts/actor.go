package accounts

import "context"

// Actor names who performs an administrative act, for the audit log:
// "admin:<sub>" for an administrator in the console, "client:<id>" for a
// service client of the admin API, "cli:<os user>" for the CLI.
type Actor struct {
	Name     string
	RemoteIP string
}

type actorKey struct{}

// WithActor returns ctx carrying the actor that every audit event the
// service writes under it names.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor ctx carries (zero if none).
func ActorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}
