package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/faceidp/faceidp/idp/accounts"
	"github.com/faceidp/faceidp/models"
)

// policyFlags are a client's factor policy overrides on the command line
// (client add, client set-policy). "default" (or an empty list) returns a
// setting to the global default from the configuration.
type policyFlags struct {
	firstFactors, faceMode, faceEnrolment, passkeySkipsFace string
}

const (
	flagFirstFactors     = "first-factors"
	flagFaceMode         = "face-mode"
	flagFaceEnrolment    = "face-enrolment"
	flagPasskeySkipsFace = "passkey-skips-face"
)

func (f *policyFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.firstFactors, flagFirstFactors, "", `first factors allowed: "password", "passkey", "password,passkey" or "default" (policy.first_factors)`)
	fs.StringVar(&f.faceMode, flagFaceMode, "", `face step: off, optional, required or default (face.mode)`)
	fs.StringVar(&f.faceEnrolment, flagFaceEnrolment, "", `face enrolment during sign-in: offer, force, never or default (policy.face_enrolment)`)
	fs.StringVar(&f.passkeySkipsFace, flagPasskeySkipsFace, "", `whether a user-verified passkey alone satisfies the face mode: true, false or default (policy.passkey_skips_face)`)
}

// apply changes p by the flags given on cmd's command line.
func (f *policyFlags) apply(p models.ClientPolicy, cmd *cobra.Command) (models.ClientPolicy, error) {
	fs := cmd.Flags()
	isDefault := func(v string) bool { return v == "" || strings.EqualFold(v, "default") }
	if fs.Changed(flagFirstFactors) {
		p.FirstFactors = nil
		if !isDefault(f.firstFactors) {
			for _, n := range strings.Split(f.firstFactors, ",") {
				if n = strings.TrimSpace(n); n != "" {
					p.FirstFactors = append(p.FirstFactors, n)
				}
			}
		}
	}
	if fs.Changed(flagFaceMode) {
		p.FaceMode = ""
		if !isDefault(f.faceMode) {
			p.FaceMode = f.faceMode
		}
	}
	if fs.Changed(flagFaceEnrolment) {
		p.FaceEnrolment = ""
		if !isDefault(f.faceEnrolment) {
			p.FaceEnrolment = f.faceEnrolment
		}
	}
	if fs.Changed(flagPasskeySkipsFace) {
		p.PasskeySkipsFace = nil
		if !isDefault(f.passkeySkipsFace) {
			b, err := strconv.ParseBool(f.passkeySkipsFace)
			if err != nil {
				return p, fmt.Errorf("--%s must be true, false or default, got %q", flagPasskeySkipsFace, f.passkeySkipsFace)
			}
			p.PasskeySkipsFace = &b
		}
	}
	return p, nil
}

// describePolicy is a client's overrides in one word list ("-" for none).
func describePolicy(c *models.Client) string {
	var parts []string
	p := c.Policy
	if len(p.FirstFactors) > 0 {
		parts = append(parts, "first="+strings.Join(p.FirstFactors, "+"))
	}
	if p.FaceMode != "" {
		parts = append(parts, "face="+p.FaceMode)
	}
	if p.FaceEnrolment != "" {
		parts = append(parts, "enrol="+p.FaceEnrolment)
	}
	if p.PasskeySkipsFace != nil {
		parts = append(parts, "passkey-skips-face="+strconv.FormatBool(*p.PasskeySkipsFace))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ",")
}

func (a *app) clientSetPolicyCmd() *cobra.Command {
	var f policyFlags
	cmd := &cobra.Command{
		Use:   "set-policy ID [--first-factors password,passkey] [--face-mode off|optional|required|default] [--face-enrolment offer|force|never|default] [--passkey-skips-face true|false|default]",
		Short: "Override the global factor policy for one client (flags not given stay as they are; default returns to the global setting)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withAccounts(cmd.Context(), func(ac *accounts.Service) error {
				c, err := ac.GetClient(cmd.Context(), args[0])
				if err != nil {
					return fmt.Errorf("client set-policy: %w", err)
				}
				p, err := f.apply(c.Policy, cmd)
				if err != nil {
					return fmt.Errorf("client set-policy: %w", err)
				}
				if c, err = ac.SetClientPolicy(cmd.Context(), c.ID, p); err != nil {
					return fmt.Errorf("client set-policy: %w", err)
				}
				fmt.Fprintf(a.stdout, "client %s policy: %s\n", c.ID, describePolicy(c))
				return nil
			})
		},
	}
	f.register(cmd)
	return cmd
}
