package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/faceidp/faceidp/config"
)

func (a *app) secretsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secrets",
		Short: "Generate secrets for the configuration file",
	}
	var keyID string
	var masterOnly bool
	gen := &cobra.Command{
		Use:   "generate",
		Short: "Print a new random secrets section (YAML) for the configuration file",
		Long: `Prints a complete "secrets:" section with fresh random keys. With
--master-key-only it prints one new master key entry: append it to
secrets.master_keys (the last entry seals new records), restart, then run
` + "`faceidp keys reseal` and `faceidp keys rotate-templates`" + ` before removing the old key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if keyID == "" {
				keyID = a.now().UTC().Format("20060102")
			}
			s, err := config.GenerateSecrets(a.rand, keyID)
			if err != nil {
				return err
			}
			var out any = map[string]config.Secrets{"secrets": s}
			if masterOnly {
				out = s.MasterKeys
			}
			b, err := yaml.Marshal(out)
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(a.stdout, string(b))
			return err
		},
	}
	gen.Flags().StringVar(&keyID, "key-id", "", "id of the master key (default: today's date, YYYYMMDD)")
	gen.Flags().BoolVar(&masterOnly, "master-key-only", false, "print only a new master key entry")
	cmd.AddCommand(gen)
	return cmd
}
