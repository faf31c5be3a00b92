package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/faceidp/faceidp/idp/accounts"
	"github.com/faceidp/faceidp/idp/clientsecret"
)

func (a *app) clientCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "client", Short: "Manage relying parties (OAuth clients)"}

	var in accounts.NewClient
	var secretFlag string
	var pf policyFlags
	add := &cobra.Command{
		Use:   "add --id ID --redirect-uri URI [--secret generate|-|SECRET] [flags]",
		Short: "Register a client (--secret generate: confidential; without --secret: public, PKCE required)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if in.ID == "" {
				return fmt.Errorf("client add: --id is required")
			}
			var err error
			if in.GenerateSecret, in.Secret, err = a.secretArg(secretFlag); err != nil {
				return fmt.Errorf("client add: %w", err)
			}
			if in.Policy, err = pf.apply(in.Policy, cmd); err != nil {
				return fmt.Errorf("client add: %w", err)
			}
			return a.withAccounts(cmd.Context(), func(ac *accounts.Service) error {
				c, generated, err := ac.CreateClient(cmd.Context(), in)
				if err != nil {
					return fmt.Errorf("client add: %w", err)
				}
				kind := "confidential (client_secret_basic or client_secret_post)"
				if c.Service {
					kind = "service (client_credentials grant only), scopes " + strings.Join(c.Scopes, " ")
				} else if c.Public() {
					kind = "public (PKCE S256 required)"
				}
				fmt.Fprintf(a.stdout, "client %s added: %s\n", c.ID, kind)
				a.printSecret(generated)
				return nil
			})
		},
	}
	add.Flags().StringVar(&in.ID, "id", "", "client_id (required)")
	add.Flags().BoolVar(&in.Service, "service", false, "a machine client: client_credentials grant only, a generated secret, no redirect URIs")
	add.Flags().StringArrayVar(&in.Scopes, "scope", nil, "a scope the service client may be granted (repeatable): admin (the admin API)")
	add.Flags().StringVar(&in.Name, "name", "", "name shown on the login and consent pages")
	add.Flags().StringVar(&secretFlag, "secret", "", secretUsage+"; omit for a public client")
	add.Flags().StringArrayVar(&in.RedirectURIs, "redirect-uri", nil, "allowed redirect_uri (repeatable, at least one): https, http only on a loopback host, or a reverse-domain custom scheme")
	add.Flags().StringArrayVar(&in.PostLogoutRedirectURIs, "post-logout-redirect-uri", nil, "allowed post_logout_redirect_uri (repeatable)")
	add.Flags().BoolVar(&in.SkipConsent, "skip-consent", false, "first-party client: never show the consent page")
	add.Flags().BoolVar(&in.RequireFace, "require-face", false, "require the face factor for every sign-in to this client")
	add.Flags().StringVar(&in.IDTokenAlg, "id-token-alg", "RS256", "ID token signing algorithm: RS256 or ES256")
	pf.register(add)

	list := &cobra.Command{
		Use:   "list",
		Short: "List clients",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withAccounts(cmd.Context(), func(ac *accounts.Service) error {
				clients, err := ac.ListClients(cmd.Context())
				if err != nil {
					return fmt.Errorf("client list: %w", err)
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tNAME\tTYPE\tSECRET\tCONSENT\tFACE\tALG\tREDIRECT URIS\tPOST-LOGOUT URIS\tPOLICY")
				for _, c := range clients {
					typ, consent, face := "confidential", "ask", "policy"
					if c.Public() {
						typ = "public"
					}
					if c.SkipConsent {
						consent = "skip"
					}
					if c.RequireFace {
						face = "required"
					}
					alg := c.IDTokenAlg
					if alg == "" {
						alg = "RS256"
					}
					post := strings.Join(c.PostLogoutRedirectURIs, ",")
					if post == "" {
						post = "-"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Name, typ, clientsecret.Describe(c.SecretHash),
						consent, face, alg, strings.Join(c.RedirectURIs, ","), post, describePolicy(&c))
				}
				return tw.Flush()
			})
		},
	}

	remove := &cobra.Command{
		Use:   "remove ID",
		Short: "Remove a client",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withAccounts(cmd.Context(), func(ac *accounts.Service) error {
				if err := ac.RemoveClient(cmd.Context(), args[0]); err != nil {
					return fmt.Errorf("client remove: %w", err)
				}
				fmt.Fprintf(a.stdout, "client %s removed\n", args[0])
				return nil
			})
		},
	}
	var newSecret string
	setSecret := &cobra.Command{
		Use:   "set-secret ID [--secret generate|-|SECRET]",
		Short: "Give a confidential client a new secret (the old one stops working at once)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			generate, supplied, err := a.secretArg(newSecret)
			if err != nil {
				return fmt.Errorf("client set-secret: %w", err)
			}
			return a.withAccounts(cmd.Context(), func(ac *accounts.Service) error {
				generated, err := ac.SetClientSecret(cmd.Context(), args[0], generate, supplied)
				if err != nil {
					return fmt.Errorf("client set-secret: %w", err)
				}
				fmt.Fprintf(a.stdout, "client %s: secret replaced\n", args[0])
				a.printSecret(generated)
				return nil
			})
		},
	}
	setSecret.Flags().StringVar(&newSecret, "secret", "generate", secretUsage)

	cmd.AddCommand(add, list, setSecret, remove, a.clientSetPolicyCmd())
	return cmd
}

const secretUsage = "client secret: \"generate\" (256 random bits, printed once), \"-\" (read one line from standard input) " +
	"or the secret itself, at least 32 random bytes hex or base64 encoded"

// secretArg interprets --secret: "generate", "-" (one line from standard
// input, so the secret stays out of the shell history and ps) or a value.
func (a *app) secretArg(v string) (generate bool, secret string, err error) {
	switch v {
	case "generate":
		return true, "", nil
	case "-":
		s, err := readPassword(a.stdin)
		if err != nil {
			return false, "", fmt.Errorf("--secret -: %w", err)
		}
		return false, s, nil
	}
	return false, v, nil
}

// printSecret shows a generated secret once, on its own line so scripts
// can take it (the last line of the output).
func (a *app) printSecret(secret string) {
	if secret == "" {
		return
	}
	fmt.Fprintln(a.stderr, "client secret (shown only now; store it in the application's secret store):")
	fmt.Fprintln(a.stdout, secret)
}
