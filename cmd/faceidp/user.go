package main

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/faceidp/faceidp/factors/throttle"
	"github.com/faceidp/faceidp/idp/accounts"
)

func (a *app) userCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage user accounts"}

	var in accounts.NewUser
	add := &cobra.Command{
		Use:   "add --username NAME --email EMAIL [--name \"Full Name\"] [--require-face] < password",
		Short: "Create a user; the password is asked for on a terminal (twice, not echoed) or read from standard input (first line)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if in.Username == "" || in.Email == "" {
				return fmt.Errorf("user add: --username and --email are required")
			}
			pw, err := a.readNewPassword()
			if err != nil {
				return fmt.Errorf("user add: %w", err)
			}
			in.Password = pw
			return a.withAccounts(cmd.Context(), func(ac *accounts.Service) error {
				u, err := ac.CreateUser(accounts.WithActor(cmd.Context(), accounts.Actor{Name: a.adminName()}), in)
				if err != nil {
					return fmt.Errorf("user add: %w", err)
				}
				fmt.Fprintf(a.stdout, "user %s added (sub %s)\n", u.Username, u.ID)
				return nil
			})
		},
	}
	add.Flags().StringVar(&in.Username, "username", "", "login name (required)")
	add.Flags().StringVar(&in.Email, "email", "", "email address (required)")
	add.Flags().StringVar(&in.Name, "name", "", "full name")
	add.Flags().BoolVar(&in.EmailVerified, "email-verified", false, "mark the email address as verified (email_verified claim)")
	add.Flags().BoolVar(&in.RequireFace, "require-face", false, "require the face factor for every sign-in of this user (enrolment at the next sign-in)")
	add.Flags().BoolVar(&in.Admin, "admin", false, "grant the admin role (the console at /admin)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withEnv(cmd.Context(), func(env cmdEnv) error {
				users, err := accounts.New(env.store, nil, nil, a.now, a.rand).ListUsers(cmd.Context())
				if err != nil {
					return fmt.Errorf("user list: %w", err)
				}
				faces, err := env.store.ListFaceTemplateKeys(cmd.Context())
				if err != nil {
					return fmt.Errorf("user list: %w", err)
				}
				limiter, err := throttle.New(env.store, throttleRules(env.cfg), a.now)
				if err != nil {
					return fmt.Errorf("user list: %w", err)
				}
				now := a.now()
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "USERNAME\tEMAIL\tNAME\tSTATUS\tFACE\tTHROTTLED\tSUB")
				for _, u := range users {
					status := "active"
					if u.Disabled {
						status = "disabled"
					}
					st, err := limiter.UserStatus(cmd.Context(), u.ID)
					if err != nil {
						return fmt.Errorf("user list: %w", err)
					}
					throttled := describeThrottles(st, now)
					face := "-"
					if _, ok := faces[u.ID]; ok {
						face = "enrolled"
					}
					if u.RequireFace {
						face += ",required"
					}
					name := u.Name
					if name == "" {
						name = "-"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.Username, u.Email, name, status, face, throttled, u.ID)
				}
				return tw.Flush()
			})
		},
	}

	disable := &cobra.Command{
		Use:   "disable USERNAME|EMAIL|SUB",
		Short: "Disable a user, revoke their sessions and delete their access and refresh tokens",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withAccounts(cmd.Context(), func(ac *accounts.Service) error {
				n, err := ac.DisableUser(cmd.Context(), args[0])
				if err != nil {
					return fmt.Errorf("user disable: %w", err)
				}
				fmt.Fprintf(a.stdout, "user %s disabled; %d session(s) revoked, access and refresh tokens deleted\n", args[0], n)
				return nil
			})
		},
	}
	resetFace := &cobra.Command{
		Use:   "reset-face USERNAME|EMAIL|SUB",
		Short: "Delete a user's face template so they enrol again at their next sign-in",
		Long: `For a user who can no longer pass the face step. Their next sign-in that needs
face asks them to enrol a new face after the password: confirm who is asking
before you run this.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withAccounts(cmd.Context(), func(ac *accounts.Service) error {
				deleted, err := ac.ResetFace(cmd.Context(), args[0])
				if err != nil {
					return fmt.Errorf("user reset-face: %w", err)
				}
				if !deleted {
					fmt.Fprintf(a.stdout, "user %s has no face template\n", args[0])
					return nil
				}
				fmt.Fprintf(a.stdout, "face template of %s deleted; the next sign-in that needs face enrols a new one\n", args[0])
				return nil
			})
		},
	}
	enable := &cobra.Command{
		Use:   "enable USERNAME|EMAIL|SUB",
		Short: "Re-enable a disabled user and clear every throttle of the user (password and face, every device)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withAccounts(cmd.Context(), func(ac *accounts.Service) error {
				n, err := ac.EnableUser(cmd.Context(), args[0])
				if err != nil {
					return fmt.Errorf("user enable: %w", err)
				}
				fmt.Fprintf(a.stdout, "user %s enabled; %d throttle counter(s) cleared\n", args[0], n)
				return nil
			})
		},
	}
	enableFace := &cobra.Command{
		Use:   "enable-face USERNAME|EMAIL|SUB",
		Short: "Turn face sign-in back on for a user after too many failed face checks (clears the face throttle only)",
		Long: `Face is disabled for a user after rate_limit.face_disable_after consecutive failed
face verifications (50 by default), and each attempt after
rate_limit.face_throttle_after failures waits. This clears that counter and
nothing else; the password throttle is untouched. Confirm who is asking first.
If the user can no longer pass the face step at all, use reset-face instead.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withAccounts(cmd.Context(), func(ac *accounts.Service) error {
				cleared, err := ac.EnableFace(cmd.Context(), args[0])
				if err != nil {
					return fmt.Errorf("user enable-face: %w", err)
				}
				if !cleared {
					fmt.Fprintf(a.stdout, "face of %s was not throttled\n", args[0])
					return nil
				}
				fmt.Fprintf(a.stdout, "face sign-in of %s enabled again; its failure count starts from zero\n", args[0])
				return nil
			})
		},
	}
	setPassword := &cobra.Command{
		Use:   "set-password USERNAME|EMAIL|SUB < password",
		Short: "Replace a user's password (asked for on a terminal, else read from standard input), clear its password throttle and sign the user out everywhere",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := a.readNewPassword()
			if err != nil {
				return fmt.Errorf("user set-password: %w", err)
			}
			return a.withAccounts(cmd.Context(), func(ac *accounts.Service) error {
				if err := ac.SetPassword(cmd.Context(), args[0], pw); err != nil {
					return fmt.Errorf("user set-password: %w", err)
				}
				fmt.Fprintf(a.stdout, "password of %s replaced; sessions revoked, access and refresh tokens deleted\n", args[0])
				return nil
			})
		},
	}
	setRequireFace := &cobra.Command{
		Use:   "set-require-face USERNAME|EMAIL|SUB true|false",
		Short: "Make the face factor mandatory (true) or no longer mandatory (false) for a user's sign-ins",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			require, err := strconv.ParseBool(args[1])
			if err != nil {
				return fmt.Errorf("user set-require-face: second argument must be true or false, got %q", args[1])
			}
			return a.withAccounts(cmd.Context(), func(ac *accounts.Service) error {
				changed, err := ac.SetRequireFace(cmd.Context(), args[0], require)
				if err != nil {
					return fmt.Errorf("user set-require-face: %w", err)
				}
				state := "required"
				if !require {
					state = "not required"
				}
				if !changed {
					fmt.Fprintf(a.stdout, "face was already %s for %s\n", state, args[0])
					return nil
				}
				fmt.Fprintf(a.stdout, "face is now %s for %s\n", state, args[0])
				return nil
			})
		},
	}
	setAdmin := &cobra.Command{
		Use:   "set-admin USERNAME|EMAIL|SUB true|false",
		Short: "Grant (true) or remove (false) the admin role: the console at /admin",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			admin, err := strconv.ParseBool(args[1])
			if err != nil {
				return fmt.Errorf("user set-admin: second argument must be true or false, got %q", args[1])
			}
			return a.withAccounts(cmd.Context(), func(ac *accounts.Service) error {
				ctx := accounts.WithActor(cmd.Context(), accounts.Actor{Name: a.adminName()})
				changed, err := ac.SetAdmin(ctx, args[0], admin)
				if err != nil {
					return fmt.Errorf("user set-admin: %w", err)
				}
				state := "an admin"
				if !admin {
					state = "not an admin"
				}
				if !changed {
					fmt.Fprintf(a.stdout, "%s was already %s\n", args[0], state)
					return nil
				}
				fmt.Fprintf(a.stdout, "%s is now %s\n", args[0], state)
				return nil
			})
		},
	}
	cmd.AddCommand(add, list, disable, enable, enableFace, setPassword, setRequireFace, resetFace, setAdmin)
	cmd.AddCommand(a.bypassCmds()...)
	return cmd
}

// describeThrottles says what holds a user back, for user list: "face
// disabled", "pwd wait 4m (device)", or "-".
func describeThrottles(st []throttle.Status, now time.Time) string {
	var parts []string
	for _, s := range st {
		switch {
		case s.Disabled:
			parts = append(parts, s.Key.Factor+" disabled")
		case !s.RetryAt.IsZero():
			what := s.Key.Factor + " wait " + throttle.FormatWait(s.RetryAt.Sub(now))
			if s.Key.Kind == throttle.KindDevice {
				what += " (a device)"
			}
			parts = append(parts, what)
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}
