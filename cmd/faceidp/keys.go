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
			cfg, logger, err := a.loadConfig()
			if err != nil {
				return err
			}
			kr, err := cfg.Keyring(a.rand)
			if err != nil {
				return err
			}
			store, err := a.openStore(cmd.Context(), cfg, logger)
			if err != nil {
				return err
			}
			defer store.Close()
			if err := idp.RotateSigningKeys(cmd.Context(), idp.RotateSigningKeysOptions{
				Store: store, Keyring: kr, Clock: a.now, Rand: a.rand, KeepFor: cfg.Tokens.IDTokenTTL,
			}); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "signing keys rotated; retired keys stay published for %s\n", cfg.Tokens.IDTokenTTL)
			return nil
		},
	}
	reseal := &cobra.Command{
		Use:   "reseal",
		Short: "Re-encrypt every signing key under the newest master key",
		Long:  "Run after adding a master key to secrets.master_keys, before removing the old one.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, logger, err := a.loadConfig()
			if err != nil {
				return err
			}
			kr, err := cfg.Keyring(a.rand)
			if err != nil {
				return err
			}
			store, err := a.openStore(cmd.Context(), cfg, logger)
			if err != nil {
				return err
			}
			defer store.Close()
			n, err := idp.ResealSigningKeys(cmd.Context(), store, kr)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%d signing key(s) re-encrypted under master key %q\n", n, kr.NewestID())
			return nil
		},
	}
	cmd.AddCommand(rotate, reseal, a.rotateTemplatesCmd())
	return cmd
}
