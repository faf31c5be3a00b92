package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/faceidp/faceidp/config"
	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/factors/throttle"
	"github.com/faceidp/faceidp/idp"
	"github.com/faceidp/faceidp/storage"
)

// HTTP server limits. Face uploads (a few dozen small JPEGs) are the
// largest requests; the timeouts leave room for them on slow links.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 60 * time.Second
	writeTimeout      = 90 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
	shutdownTimeout   = 20 * time.Second
	cleanupInterval   = 10 * time.Minute
)

func (a *app) serveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the OpenID Provider",
		Long: `Loads and validates the configuration, migrates the database, makes sure
signing keys exist, loads the face models (unless face.mode is off) and serves
the provider until SIGINT or SIGTERM, then shuts down gracefully.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.serve(cmd.Context())
		},
	}
}

func (a *app) serve(ctx context.Context) error {
	cfg, logger, err := a.loadConfig()
	if err != nil {
		return err
	}
	// Refuse before touching anything when the face factor cannot work.
	if err := checkFaceModels(cfg); err != nil {
		return err
	}
	// Bind before the slow part (face models, database): a port already
	// in use is reported at once, not after the models have loaded.
	// Connections made meanwhile wait in the listen backlog.
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	defer ln.Close()
	cfg.WarnDemoMode(logger)
	kr, err := cfg.Keyring(a.rand)
	if err != nil {
		return err
	}
	keys, err := cfg.Keys()
	if err != nil {
		return err
	}
	store, err := a.openStore(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer store.Close()

	factors, closeFactors, err := a.secondFactors(cfg, store, kr, logger)
	if err != nil {
		return err
	}
	defer closeFactors()

	firstFactors, passkeysOff, err := a.firstFactors(cfg, store, logger)
	if err != nil {
		return err
	}
	fallbacks, err := a.recoveryService(cfg, store, kr)
	if err != nil {
		return err
	}

	faceMode, err := policy.ParseFaceMode(cfg.Face.Mode)
	if err != nil {
		return err
	}
	proxies, err := idp.ParseTrustedProxies(cfg.TrustedProxies)
	if err != nil {
		return fmt.Errorf("trusted_proxies: %w", err)
	}
	adminSurface, err := a.adminSurface(ctx, cfg, logger, store, kr, fallbacks, keys.CookieHash, keys.CookieBlock)
	if err != nil {
		return err
	}
	srv, err := idp.New(ctx, idp.Options{
		Issuer:          cfg.Issuer,
		Store:           store,
		Keyring:         kr,
		CookieHashKey:   keys.CookieHash,
		CookieBlockKey:  keys.CookieBlock,
		TokenKey:        keys.Token,
		Clock:           a.now,
		Rand:            a.rand,
		Logger:          logger,
		AuthRequestTTL:  cfg.Tokens.AuthRequestTTL,
		CodeTTL:         cfg.Tokens.CodeTTL,
		AccessTokenTTL:  cfg.Tokens.AccessTokenTTL,
		IDTokenTTL:      cfg.Tokens.IDTokenTTL,
		RefreshTokenTTL: cfg.Tokens.RefreshTokenTTL,
		SessionTTL:      cfg.Tokens.SessionTTL,
		FaceMode:        faceMode,
		SecondFactors:   factors,
		Throttle:        throttleRules(cfg),
		TrustedProxies:  proxies,
		ClientIPHeader:  cfg.ClientIPHeader,
		LoginsPerIP:     int64(cfg.RateLimit.LoginsPerIP),
		LoginsPerUser:   int64(cfg.RateLimit.LoginsPerUser),

		ClientAuthFailuresPerIP:     int64(cfg.RateLimit.ClientAuthFailuresPerIP),
		ClientAuthFailuresPerClient: int64(cfg.RateLimit.ClientAuthFailuresPerClient),
		AuthorizePerIP:              int64(cfg.RateLimit.AuthorizePerIP),

		RateLimitRedisURL: cfg.RateLimit.RedisURL,

		Policy:       globalPolicy(cfg),
		FirstFactors: firstFactors,
		Recovery:     fallbacks,
		Admin:        adminSurface,
	})
	if err != nil {
		return err
	}
	// Runs after the HTTP server has shut down (defers run last-in,
	// first-out), so no request still uses the rate limiter's Redis pool.
	defer func() {
		if err := srv.Close(); err != nil {
			logger.Warn("close provider", "err", err)
		}
	}()

	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	if passkeysOff != "" {
		logger.Warn("passkeys are off", "reason", passkeysOff)
	}
	logger.Info("faceidp listening", "addr", ln.Addr().String(), "issuer", srv.Issuer(),
		"discovery", srv.Issuer()+"/.well-known/openid-configuration", "face_mode", cfg.Face.Mode, "demo", cfg.Demo)

	cleanupCtx, stopCleanup := context.WithCancel(ctx)
	defer stopCleanup()
	go a.cleanup(cleanupCtx, store, logger)

	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "grace", shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// cleanup removes expired protocol state periodically. Every instance may
// run it: the deletes are idempotent.
func (a *app) cleanup(ctx context.Context, store storage.Storage, logger *slog.Logger) {
	t := time.NewTicker(cleanupInterval)
	defer t.Stop()
	for {
		n, err := store.DeleteExpired(ctx, a.now())
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Warn("delete expired records", "err", err)
		case n > 0:
			logger.Debug("deleted expired records", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// faceEnabled reports whether serve loads the face engine.
func faceEnabled(cfg *config.Config) bool { return cfg.Face.Mode != config.FaceOff }

// throttleRules are the per-factor throttle policies the configuration
// describes (README "Throttling").
func throttleRules(cfg *config.Config) throttle.Rules {
	rl := cfg.RateLimit
	delays := rl.PasswordDelayDurations()
	return throttle.Rules{
		Factors: map[string]throttle.Policy{
			throttle.FactorPassword: throttle.PasswordPolicy(rl.PasswordThrottleAfter, delays, rl.PasswordWindow),
			throttle.FactorFace:     throttle.FacePolicy(rl.FaceThrottleAfter, rl.FaceDelay, rl.FaceDelayMax, rl.FaceDisableAfter),
			// Passkeys and recovery codes: the password's policy, counters of their own.
			throttle.FactorPasskey:  throttle.PasswordPolicy(rl.PasswordThrottleAfter, delays, rl.PasswordWindow),
			throttle.FactorRecovery: throttle.PasswordPolicy(rl.PasswordThrottleAfter, delays, rl.PasswordWindow),
		},
		Source: throttle.PasswordPolicy(rl.IPThrottleAfter, delays, throttle.DefaultSourceWindow),
	}
}
