package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/faceidp/faceidp/factors/recovery"
	"github.com/faceidp/faceidp/idp/accounts"
)

// bypassCmds are the user subcommands for the administrator's face bypass.
func (a *app) bypassCmds() []*cobra.Command {
	var (
		ttl    time.Duration
		reason string
	)
	grant := &cobra.Command{
		Use:   "grant-face-bypass USERNAME|EMAIL|SUB [--ttl 24h] [--reason TEXT]",
		Short: "Let a user skip the face step once (broken camera, changed appearance); that sign-in must enrol the face again",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withRecovery(cmd.Context(), func(env cmdEnv, svc *recovery.Service) error {
				u, err := accounts.New(env.store, nil, nil, a.now, a.rand).FindUser(cmd.Context(), args[0])
				if err != nil {
					return fmt.Errorf("user grant-face-bypass: %w", err)
				}
				b, err := svc.GrantBypass(cmd.Context(), u.ID, a.adminName(), reason, ttl)
				if err != nil {
					return fmt.Errorf("user grant-face-bypass: %w", err)
				}
				fmt.Fprintf(a.stdout, "face bypass granted to %s until %s: usable once, after the password or passkey; that sign-in must enrol the face again (any earlier bypass is revoked)\n",
					u.Username, b.ExpiresAt.UTC().Format(time.RFC3339))
				return nil
			})
		},
	}
	grant.Flags().DurationVar(&ttl, "ttl", 0, "how long the bypass may be used (default recovery.bypass_ttl, at most 168h)")
	grant.Flags().StringVar(&reason, "reason", "", "why, for the audit log (at most 256 characters)")

	revoke := &cobra.Command{
		Use:   "revoke-face-bypass USERNAME|EMAIL|SUB",
		Short: "Withdraw a user's unused face bypass",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withRecovery(cmd.Context(), func(env cmdEnv, svc *recovery.Service) error {
				u, err := accounts.New(env.store, nil, nil, a.now, a.rand).FindUser(cmd.Context(), args[0])
				if err != nil {
					return fmt.Errorf("user revoke-face-bypass: %w", err)
				}
				ok, err := svc.RevokeBypass(cmd.Context(), u.ID, a.adminName())
				if err != nil {
					return fmt.Errorf("user revoke-face-bypass: %w", err)
				}
				if ok {
					fmt.Fprintf(a.stdout, "face bypass of %s revoked\n", u.Username)
				} else {
					fmt.Fprintf(a.stdout, "%s has no unused face bypass\n", u.Username)
				}
				return nil
			})
		},
	}
	return []*cobra.Command{grant, revoke}
}

// withRecovery runs fn with the fallback service over the configured
// database and keyring.
func (a *app) withRecovery(ctx context.Context, fn func(cmdEnv, *recovery.Service) error) error {
	return a.withEnv(ctx, func(env cmdEnv) error {
		svc, err := recovery.New(env.store, env.keyring, a.now, a.rand, recovery.Options{BypassTTL: env.cfg.Recovery.BypassTTL})
		if err != nil {
			return err
		}
		return fn(env, svc)
	})
}

// adminName names the administrator in audit events: "cli:" and the OS
// user running the command.
func (a *app) adminName() string {
	if u := a.getenv("USER"); u != "" {
		return "cli:" + u
	}
	return "cli"
}
