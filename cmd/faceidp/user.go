package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// withAccounts loads the configuration, opens the database and runs fn.
func (a *app) withAccounts(ctx context.Context, fn func(*accounts) error) error {
	cfg, logger, err := a.loadConfig()
	if err != nil {
		return err
	}
	store, err := a.openStore(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer store.Close()
	ac, err := newAccounts(store, a.now, a.rand)
	if err != nil {
		return err
	}
	return fn(ac)
}

func (a *app) userCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage user accounts"}

	var in newUser
	add := &cobra.Command{
		Use:   "add --username NAME --email EMAIL [--name \"Full Name\"] < password",
		Short: "Create a user; the password is read from standard input",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if in.Username == "" || in.Email == "" {
				return fmt.Errorf("user add: --username and --email are required")
			}
			pw, err := readPassword(a.stdin)
			if err != nil {
				return fmt.Errorf("user add: %w", err)
			}
			return a.withAccounts(cmd.Context(), func(ac *accounts) error {
				u, err := ac.addUser(cmd.Context(), in, pw)
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
	add.Flags().BoolVar(&in.RequireFace, "require-face", false, "always require the face factor for this user")

	list := &cobra.Command{
		Use:   "list",
		Short: "List users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withAccounts(cmd.Context(), func(ac *accounts) error {
				users, err := ac.store.ListUsers(cmd.Context())
				if err != nil {
					return fmt.Errorf("user list: %w", err)
				}
				faces, err := ac.store.ListFaceTemplateKeys(cmd.Context())
				if err != nil {
					return fmt.Errorf("user list: %w", err)
				}
				now := a.now()
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "USERNAME\tEMAIL\tNAME\tSTATUS\tFACE\tSUB")
				for _, u := range users {
					status := "active"
					switch {
					case u.Disabled:
						status = "disabled"
					case u.Locked(now):
						status = "locked"
					}
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
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.Username, u.Email, name, status, face, u.ID)
				}
				return tw.Flush()
			})
		},
	}

	disable := &cobra.Command{
		Use:   "disable USERNAME|EMAIL",
		Short: "Disable a user and revoke their sessions and tokens",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withAccounts(cmd.Context(), func(ac *accounts) error {
				u, n, err := ac.setDisabled(cmd.Context(), args[0], true)
				if err != nil {
					return fmt.Errorf("user disable: %w", err)
				}
				fmt.Fprintf(a.stdout, "user %s disabled; %d session(s) revoked\n", u.Username, n)
				return nil
			})
		},
	}
	enable := &cobra.Command{
		Use:   "enable USERNAME|EMAIL",
		Short: "Re-enable a disabled user",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withAccounts(cmd.Context(), func(ac *accounts) error {
				u, _, err := ac.setDisabled(cmd.Context(), args[0], false)
				if err != nil {
					return fmt.Errorf("user enable: %w", err)
				}
				fmt.Fprintf(a.stdout, "user %s enabled\n", u.Username)
				return nil
			})
		},
	}
	setPassword := &cobra.Command{
		Use:   "set-password USERNAME|EMAIL < password",
		Short: "Replace a user's password (read from standard input), clear a lockout and sign them out",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := readPassword(a.stdin)
			if err != nil {
				return fmt.Errorf("user set-password: %w", err)
			}
			return a.withAccounts(cmd.Context(), func(ac *accounts) error {
				u, n, err := ac.setPassword(cmd.Context(), args[0], pw)
				if err != nil {
					return fmt.Errorf("user set-password: %w", err)
				}
				fmt.Fprintf(a.stdout, "password of %s replaced; %d session(s) revoked\n", u.Username, n)
				return nil
			})
		},
	}
	cmd.AddCommand(add, list, disable, enable, setPassword)
	return cmd
}
