package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/faceidp/faceidp/idp"
)

func (a *app) keysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Rotate token signing keys and re-encrypt sealed records",
	}
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Generate new signing keys (RS256 and ES256) and retire the current ones",
		Long: `New ID tokens are signed with the new keys at once. Retired keys stay in the
JWKS for tokens.id_token_ttl, so tokens they signed keep verifying.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withEnv(cmd.Context(), func(env cmdEnv) error {
				keep := env.cfg.Tokens.IDTokenTTL
				if err := idp.RotateSigningKeys(cmd.Context(), idp.RotateSigningKeysOptions{
					Store: env.store, Keyring: env.keyring, Clock: a.now, Rand: a.rand, KeepFor: keep,
				}); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "signing keys rotated; retired keys stay published for %s\n", keep)
				return nil
			})
		},
	}
	reseal := &cobra.Command{
		Use:   "reseal",
		Short: "Re-encrypt every signing key under the newest master key",
		Long:  "Run after adding a master key to secrets.master_keys, before removing the old one.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withEnv(cmd.Context(), func(env cmdEnv) error {
				n, err := idp.ResealSigningKeys(cmd.Context(), env.store, env.keyring)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "%d signing key(s) re-encrypted under master key %q\n", n, env.keyring.NewestID())
				return nil
			})
		},
	}
	cmd.AddCommand(rotate, reseal, a.rotateTemplatesCmd())
	return cmd
}
