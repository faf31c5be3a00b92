package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/faceidp/faceidp/config"
	"github.com/faceidp/faceidp/storage/sqlstore"
)

// app is what every command shares: its streams, environment, clock and
// random source. Tests build one with buffers and a fixed environment.
type app struct {
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
	environ []string
	now     func() time.Time
	rand    io.Reader

	// Set by the persistent flags.
	configPath string
	demo       bool
}

// run executes the command line args and returns the process exit code.
// Errors are printed as one line (a configuration error lists each
// problem on its own line) without cobra's usage text.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, environ []string) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, environ: environ, now: time.Now, rand: rand.Reader}
	return a.execute(ctx, args)
}

func (a *app) execute(ctx context.Context, args []string) int {
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(a.stderr, "faceidp: "+err.Error())
		return 1
	}
	return 0
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "faceidp",
		Short: "OpenID Connect identity provider with password sign-in and a face second factor",
		Long: `faceidp is an OpenID Connect provider. Users sign in with a password; the
face factor (a live challenge checked on the server) is only ever a second
factor.

Every command reads the same configuration: the YAML file given with
--config (or FACEIDP_CONFIG), overridden by FACEIDP_* environment variables.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVarP(&a.configPath, "config", "c", a.getenv("FACEIDP_CONFIG"), "YAML configuration file (env FACEIDP_CONFIG)")
	root.PersistentFlags().BoolVar(&a.demo, "demo", false, "demo mode: generate missing secrets once and keep them in the data directory (never in production)")
	// Flag parse errors are usage errors: show the command's usage for those.
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w (see `%s --help`)", err, c.CommandPath())
	})
	root.AddCommand(
		a.serveCmd(),
		a.migrateCmd(),
		a.userCmd(),
		a.clientCmd(),
		a.keysCmd(),
		a.modelsCmd(),
		a.secretsCmd(),
		a.demoRPCmd(),
	)
	return root
}

func (a *app) getenv(name string) string {
	for _, kv := range a.environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

// getenvOr is getenv with a default for an unset or empty variable.
func (a *app) getenvOr(name, def string) string {
	if v := a.getenv(name); v != "" {
		return v
	}
	return def
}

// loadConfig reads and validates the configuration; it is the first thing
// every command that touches state does.
func (a *app) loadConfig() (*config.Config, *slog.Logger, error) {
	boot := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg, err := config.Load(config.LoadOptions{
		Path:    a.configPath,
		Environ: a.environ,
		Demo:    a.demo,
		Rand:    a.rand,
		Logger:  boot,
	})
	if err != nil {
		return nil, nil, err
	}
	return cfg, newLogger(a.stderr, cfg.Log), nil
}

func newLogger(w io.Writer, lc config.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(lc.Level)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if lc.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openStore opens the configured database and brings its schema up to date.
// SQLite files live in the data directory, which is created if needed.
func (a *app) openStore(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*sqlstore.Store, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	store, err := sqlstore.Open(ctx, cfg.ResolvedDatabaseURL(), sqlstore.WithLogger(logger), sqlstore.WithClock(a.now))
	if err != nil {
		return nil, err
	}
	if err := store.Migrate(ctx); err != nil {
		store.Close()
		return nil, fmt.Errorf("migrate database: %w", err)
	}
	return store, nil
}
