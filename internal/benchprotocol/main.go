// Command benchprotocol measures faceidp's protocol endpoints side by side
// with zitadel/oidc's own example server, the library faceidp is built on,
// on loopback (127.0.0.1 only) and bounded in time. It is a development
// tool, not part of the faceidp binary; scripts/bench-protocol runs it.
//
// In one run it builds the example server from the module cache at the
// version go.mod requires, starts it and faceidp (face mode off, on SQLite
// or a fresh schema on PostgreSQL), signs in to both by driving their login
// forms as a browser would, and then measures each endpoint on the two
// servers alternately, rounds times for duration each at concurrency
// (closed loop): discovery, JWKS, userinfo, introspection, the refresh
// grant (each worker follows its own rotating refresh token chain) and
// full password sign-ins with a public client (authorize, login form,
// code, token). It reports requests per second, the 99th percentile
// latency and the server CPU per request (utime+stime of the server
// process, and for PostgreSQL of its backends, from /proc).
//
// -mode flood runs the flood test instead: a sign-in loop alone, then the
// same loop while 256 workers send wrong client secrets to the token
// endpoint, alternately; it reports the sign-in rate with and without the
// flood and the server's peak memory.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"
)

type options struct {
	faceidp       string
	dbs           []string
	postgresURL   string
	rounds        int
	duration      time.Duration
	concurrency   int
	mode          string
	floodWorkers  int
	floodDuration time.Duration
	workDir       string
	only          map[string]bool
}

func main() {
	var o options
	var dbs string
	flag.StringVar(&o.faceidp, "faceidp", ".build/bin/faceidp", "faceidp binary to measure")
	flag.StringVar(&dbs, "db", "sqlite,postgres", "databases to run faceidp on: sqlite, postgres or both")
	flag.StringVar(&o.postgresURL, "postgres", envOr("FACEIDP_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"),
		"PostgreSQL server; a fresh schema is created there and dropped afterwards")
	flag.IntVar(&o.rounds, "rounds", 3, "alternating rounds per endpoint")
	flag.DurationVar(&o.duration, "duration", 4*time.Second, "length of one measurement")
	flag.IntVar(&o.concurrency, "c", 8, "concurrent closed-loop workers")
	flag.StringVar(&o.mode, "mode", "bench", "bench (endpoints side by side) or flood (wrong-secret flood against sign-ins)")
	flag.IntVar(&o.floodWorkers, "flood-workers", 256, "parallel wrong-secret workers in flood mode")
	flag.DurationVar(&o.floodDuration, "flood-duration", 15*time.Second, "length of each flood-mode phase")
	only := flag.String("only", "", "comma-separated endpoints to measure (discovery, JWKS, userinfo, introspection, refresh, sign-in); default all")
	flag.Parse()
	o.dbs = strings.Split(dbs, ",")
	if *only != "" {
		o.only = map[string]bool{}
		for _, e := range strings.Split(*only, ",") {
			o.only[strings.ToLower(strings.TrimSpace(e))] = true
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	o.workDir, err = os.MkdirTemp("", "benchprotocol-")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(o.workDir)

	switch o.mode {
	case "bench":
		err = runBench(ctx, o)
	case "flood":
		err = runFlood(ctx, o)
	default:
		err = fmt.Errorf("unknown -mode %q (bench or flood)", o.mode)
	}
	if err != nil {
		fatal(err)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "benchprotocol:", err)
	os.Exit(1)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}
