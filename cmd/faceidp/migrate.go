package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) migrateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Create or update the database schema",
		Long:  "Brings the configured database's schema up to date. `serve` and the other commands do this too; run it on its own before rolling out a new version to several instances.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withEnv(cmd.Context(), func(cmdEnv) error {
				fmt.Fprintln(a.stdout, "database schema is up to date")
				return nil
			})
		},
	}
}
