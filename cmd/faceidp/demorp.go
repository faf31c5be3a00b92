package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/faceidp/faceidp/cmd/faceidp/internal/demorp"
)

func (a *app) demoRPCmd() *cobra.Command {
	var listen, clientID, baseURL string
	cmd := &cobra.Command{
		Use:   "demo-rp",
		Short: "Run the demo relying app that signs in through the provider",
		Long: `A small web app (default http://127.0.0.1:9090, or --listen /
FACEIDP_DEMO_RP_LISTEN) that signs in through the configured issuer with
the authorization code flow and PKCE, and shows the verified ID token claims
(amr, acr, auth_time, ...), userinfo, a refresh button and RP-initiated
logout. Register it first, e.g.:

  faceidp client add --id demo --name "Demo app" \
    --redirect-uri http://127.0.0.1:9090/callback \
    --post-logout-redirect-uri http://127.0.0.1:9090/

For a confidential client, put its secret in FACEIDP_DEMO_RP_CLIENT_SECRET.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, logger, err := a.loadConfig()
			if err != nil {
				return err
			}
			if baseURL == "" {
				baseURL = "http://" + listen
			}
			rp, err := demorp.New(demorp.Options{
				Issuer:       cfg.Issuer,
				ClientID:     clientID,
				ClientSecret: a.getenv("FACEIDP_DEMO_RP_CLIENT_SECRET"),
				BaseURL:      baseURL,
				HTTPClient:   &http.Client{Timeout: 30 * time.Second},
				Now:          a.now,
				Rand:         a.rand,
				Logger:       logger,
			})
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", listen, err)
			}
			hs := &http.Server{Handler: rp.Handler(), ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout,
				WriteTimeout: writeTimeout, IdleTimeout: idleTimeout, MaxHeaderBytes: maxHeaderBytes}
			logger.Info("demo app listening", "url", baseURL, "issuer", cfg.Issuer, "client_id", clientID)
			fmt.Fprintf(a.stdout, "demo app: open %s/ in a browser\n", baseURL)
			served := make(chan error, 1)
			go func() { served <- hs.Serve(ln) }()
			select {
			case err := <-served:
				return fmt.Errorf("demo app: %w", err)
			case <-cmd.Context().Done():
			}
			sctx, cancel := context.WithTimeout(context.WithoutCancel(cmd.Context()), 5*time.Second)
			defer cancel()
			if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", a.getenvOr("FACEIDP_DEMO_RP_LISTEN", "127.0.0.1:9090"), "address the demo app listens on (env FACEIDP_DEMO_RP_LISTEN)")
	cmd.Flags().StringVar(&clientID, "client-id", "demo", "client id registered at the provider")
	cmd.Flags().StringVar(&baseURL, "base-url", a.getenv("FACEIDP_DEMO_RP_BASE_URL"), "URL the browser reaches the demo app at, default http://LISTEN (env FACEIDP_DEMO_RP_BASE_URL)")
	return cmd
}
