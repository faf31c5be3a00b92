package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// scenario builds the workers for one endpoint on one server; setup (sign-
// ins for tokens) happens here, outside the measurement.
type scenario struct {
	name    string
	key     string  // for -only
	target  float64 // faceidp req/s ÷ example req/s to reach (0: none)
	workers func(ctx context.Context, s *server, load *http.Client, setup *http.Transport, n int) ([]op, error)
}

func same(n int, o op) []op {
	ops := make([]op, n)
	for i := range ops {
		ops[i] = o
	}
	return ops
}

var scenarios = []scenario{
	{"discovery", "discovery", 1, func(_ context.Context, s *server, c *http.Client, _ *http.Transport, n int) ([]op, error) {
		return same(n, getOp(c, s.url("/.well-known/openid-configuration"), "")), nil
	}},
	{"JWKS", "jwks", 1, func(_ context.Context, s *server, c *http.Client, _ *http.Transport, n int) ([]op, error) {
		return same(n, getOp(c, s.url("/keys"), "")), nil
	}},
	{"userinfo", "userinfo", 1, func(ctx context.Context, s *server, c *http.Client, t *http.Transport, n int) ([]op, error) {
		tok, err := signIn(ctx, s, t, true)
		if err != nil {
			return nil, err
		}
		return same(n, getOp(c, s.url("/userinfo"), tok.AccessToken)), nil
	}},
	{"introspection", "introspection", 1, func(ctx context.Context, s *server, c *http.Client, t *http.Transport, n int) ([]op, error) {
		tok, err := signIn(ctx, s, t, true)
		if err != nil {
			return nil, err
		}
		return same(n, introspectOp(c, s, tok.AccessToken)), nil
	}},
	{"refresh grant", "refresh", 2, func(ctx context.Context, s *server, c *http.Client, t *http.Transport, n int) ([]op, error) {
		ops := make([]op, n)
		for i := range ops {
			tok, err := signIn(ctx, s, t, true)
			if err != nil {
				return nil, err
			}
			ops[i] = refreshOp(c, s, tok.RefreshToken)
		}
		return ops, nil
	}},
	{"password sign-in (public client)", "sign-in", 0, func(_ context.Context, s *server, _ *http.Client, t *http.Transport, n int) ([]op, error) {
		return same(n, signInOp(s, t)), nil
	}},
}

// scenarios are the ones -only selects.
func (o options) scenarios() []scenario {
	var out []scenario
	for _, sc := range scenarios {
		if o.only == nil || o.only[sc.key] {
			out = append(out, sc)
		}
	}
	return out
}

type cell struct {
	total  sample
	rounds []float64 // req/s of each round
}

func runBench(ctx context.Context, o options) error {
	logf("building zitadel/oidc's example server from the module cache")
	exampleBin, version, err := buildExample(ctx, o.workDir)
	if err != nil {
		return err
	}
	fmt.Printf("## Protocol benchmark: faceidp vs zitadel/oidc %s example/server\n\n", version)
	printMachine(o)
	for _, db := range o.dbs {
		if err := benchOn(ctx, o, db, exampleBin); err != nil {
			return fmt.Errorf("%s: %w", db, err)
		}
	}
	fmt.Printf("Load average at the end: %s\n", loadAvg())
	return nil
}

func benchOn(ctx context.Context, o options, db, exampleBin string) error {
	var dbURL string
	var extra func(context.Context) []int
	switch db {
	case "sqlite":
		dbURL = "sqlite://" + o.workDir + "/faceidp-sqlite/faceidp.db"
	case "postgres":
		pg, err := newPGSchema(ctx, o.postgresURL)
		if err != nil {
			return err
		}
		defer pg.drop(context.WithoutCancel(ctx))
		dbURL, extra = pg.url, pg.backends
	default:
		return fmt.Errorf("unknown database %q", db)
	}
	logf("%s: starting faceidp and the example server", db)
	fi, err := startFaceidp(ctx, o.faceidp, o.workDir, db, dbURL, extra)
	if err != nil {
		return err
	}
	defer fi.stop()
	ex, err := startExample(ctx, exampleBin, o.workDir)
	if err != nil {
		return err
	}
	defer ex.stop()

	servers := []*server{ex, fi}
	cells := map[string]map[string]*cell{}
	for _, sc := range o.scenarios() {
		cells[sc.name] = map[string]*cell{ex.name: {}, fi.name: {}}
	}
	setup := loopbackTransport(o.concurrency)
	for round := range o.rounds {
		for _, sc := range o.scenarios() {
			order := servers
			if round%2 == 1 {
				order = []*server{fi, ex} // alternate who goes first
			}
			for _, s := range order {
				load := loopbackClient(loopbackTransport(o.concurrency))
				workers, err := sc.workers(ctx, s, load, setup, o.concurrency)
				if err != nil {
					return fmt.Errorf("%s on %s: setup: %w", sc.name, s.name, err)
				}
				smp := measure(ctx, s, o.duration, http.StatusOK, workers)
				if ctx.Err() != nil {
					return ctx.Err()
				}
				c := cells[sc.name][s.name]
				c.total.add(smp)
				c.rounds = append(c.rounds, smp.rate())
				logf("%s round %d %-34s %-8s %8.0f req/s  p99 %-9s cpu/req %-9s failed %d  machine busy %.0f%%",
					db, round+1, sc.name, s.name, smp.rate(), smp.p99().Round(10*time.Microsecond),
					smp.cpuPerRequest().Round(time.Microsecond), smp.failed, 100*smp.machine)
				if smp.ok == 0 {
					return fmt.Errorf("%s on %s: no successful request (statuses %v)", sc.name, s.name, smp.statuses)
				}
			}
		}
	}
	printTable(db, o, cells)
	return nil
}

func printMachine(o options) {
	model := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	rev, _ := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	fmt.Printf("- %s, %d CPUs, %s; faceidp at %s\n", model, runtime.NumCPU(), runtime.Version(), strings.TrimSpace(string(rev)))
	fmt.Printf("- load average at the start: %s\n", loadAvg())
	if o.mode == "flood" {
		fmt.Printf("- %d rounds of %s of sign-ins alone, then %s under the flood; %d sign-in workers, %d flood workers\n\n",
			o.rounds, o.floodDuration, o.floodDuration, o.concurrency, o.floodWorkers)
		return
	}
	fmt.Printf("- %d alternating rounds of %s per endpoint and server, %d closed-loop workers\n\n", o.rounds, o.duration, o.concurrency)
}

func printTable(db string, o options, cells map[string]map[string]*cell) {
	fmt.Printf("### faceidp on %s\n\n", db)
	fmt.Println("| endpoint | faceidp req/s (rounds) | example req/s (rounds) | ratio | target | faceidp p99 | example p99 | faceidp CPU/req | example CPU/req |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")
	for _, sc := range o.scenarios() {
		f, e := cells[sc.name]["faceidp"], cells[sc.name]["example"]
		ratio := f.total.rate() / e.total.rate()
		target := "-"
		if sc.target > 0 {
			mark := "met"
			if ratio < sc.target {
				mark = "NOT met"
			}
			target = fmt.Sprintf("≥ %gx: %s", sc.target, mark)
		} else if strings.HasPrefix(sc.name, "password") {
			mark := "met"
			if f.total.rate() < 30 {
				mark = "NOT met"
			}
			target = "≥ 30/s: " + mark
		}
		fmt.Printf("| %s | %s | %s | %.2f | %s | %s | %s | %s | %s |\n", sc.name,
			rateCell(f), rateCell(e), ratio, target,
			dur(f.total.p99()), dur(e.total.p99()), dur(f.total.cpuPerRequest()), dur(e.total.cpuPerRequest()))
	}
	fmt.Println()
	if db == "postgres" {
		fmt.Println("faceidp's CPU per request includes its PostgreSQL backends (found by application_name).")
		fmt.Println()
	}
}

func rateCell(c *cell) string {
	lo, hi := slices.Min(c.rounds), slices.Max(c.rounds)
	return fmt.Sprintf("**%s** (%s–%s)", num(c.total.rate()), num(lo), num(hi))
}

func num(f float64) string {
	switch {
	case f >= 100:
		return fmt.Sprintf("%.0f", f)
	case f >= 10:
		return fmt.Sprintf("%.1f", f)
	}
	return fmt.Sprintf("%.2f", f)
}

func dur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
}
