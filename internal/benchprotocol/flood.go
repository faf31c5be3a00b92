package main

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// runFlood measures what a wrong-secret flood does to real sign-ins: a
// sign-in loop (a public client, concurrency -c) runs alone, then together
// with -flood-workers workers sending client_secret_basic with a wrong
// secret to the token endpoint, alternately for -rounds rounds of
// -flood-duration. It reports both sign-in rates, what the flood got back
// and faceidp's peak memory.
func runFlood(ctx context.Context, o options) error {
	fi, err := startFaceidp(ctx, o.faceidp, o.workDir, "sqlite", "sqlite://"+o.workDir+"/faceidp-sqlite/faceidp.db", nil)
	if err != nil {
		return err
	}
	defer fi.stop()
	pid := fi.cmd.Process.Pid
	rss0, _ := memKB(pid)
	fmt.Printf("## Flood test: %d parallel wrong client secrets against %d sign-in workers\n\n", o.floodWorkers, o.concurrency)
	printMachine(o)
	fmt.Printf("faceidp (SQLite, face off) RSS before: %d MB\n\n", rss0/1024)
	fmt.Println("| round | sign-ins/s alone | sign-ins/s under flood | kept | flood answers (status: count) | flood req/s | faceidp CPU during flood | peak RSS during flood |")
	fmt.Println("|---|---|---|---|---|---|---|---|")

	var alone, flooded sample
	var peakKB atomic.Int64
	for round := range o.rounds {
		base := measure(ctx, fi, o.floodDuration, http.StatusOK, same(o.concurrency, signInOp(fi, loopbackTransport(o.concurrency))))
		logf("round %d: %.1f sign-ins/s alone (failed %d)", round+1, base.rate(), base.failed)

		fctx, stopFlood := context.WithCancel(ctx)
		var wg sync.WaitGroup
		var mu sync.Mutex
		statuses := map[int]int{}
		floodT := loopbackTransport(o.floodWorkers)
		floodC := loopbackClient(floodT)
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"not-a-refresh-token"}}
		for range o.floodWorkers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				local := map[int]int{}
				for fctx.Err() == nil {
					resp, err := postForm(fctx, floodC, fi.url("/oauth/token"), form, fi.clientID, "wrong-"+fi.clientSecret)
					if err != nil {
						if fctx.Err() == nil {
							local[0]++
						}
						continue
					}
					drain(resp)
					local[resp.StatusCode]++
				}
				mu.Lock()
				for k, v := range local {
					statuses[k] += v
				}
				mu.Unlock()
			}()
		}
		// Sample memory while the flood runs (VmHWM covers the whole
		// process life; this is the peak during the flood).
		var roundPeak atomic.Int64
		go func() {
			t := time.NewTicker(50 * time.Millisecond)
			defer t.Stop()
			for fctx.Err() == nil {
				if rss, _ := memKB(pid); rss > roundPeak.Load() {
					roundPeak.Store(rss)
				}
				select {
				case <-fctx.Done():
				case <-t.C:
				}
			}
		}()
		time.Sleep(500 * time.Millisecond) // the flood is at full strength when the sign-ins start
		cpu0 := cpuTime(pid)
		t0 := time.Now()
		under := measure(ctx, fi, o.floodDuration, http.StatusOK, same(o.concurrency, signInOp(fi, loopbackTransport(o.concurrency))))
		cpu := cpuTime(pid) - cpu0
		stopFlood()
		wg.Wait()
		elapsed := time.Since(t0) + 500*time.Millisecond
		if ctx.Err() != nil {
			return ctx.Err()
		}
		floodN := 0
		for _, v := range statuses {
			floodN += v
		}
		if p := roundPeak.Load(); p > peakKB.Load() {
			peakKB.Store(p)
		}
		logf("round %d: %.1f sign-ins/s under the flood (failed %d), flood %v", round+1, under.rate(), under.failed, statuses)
		fmt.Printf("| %d | %s | %s | %.0f%% | %s | %s | %.2f of %d CPUs | %d MB |\n", round+1, num(base.rate()), num(under.rate()),
			100*under.rate()/base.rate(), statusList(statuses), num(float64(floodN)/elapsed.Seconds()),
			cpu.Seconds()/under.elapsed.Seconds(), runtimeCPUs(), roundPeak.Load()/1024)
		alone.add(base)
		flooded.add(under)
	}
	_, hwm := memKB(pid)
	fmt.Printf("\nOver all rounds: %s sign-ins/s alone, %s under the flood: **%.0f%% kept** (target ≥ 80%%). "+
		"Peak RSS during the floods **%d MB**, process high-water mark %d MB (target < 600 MB).\n\n",
		num(alone.rate()), num(flooded.rate()), 100*flooded.rate()/alone.rate(), peakKB.Load()/1024, hwm/1024)
	fmt.Printf("Load average at the end: %s\n", loadAvg())
	return nil
}

func statusList(m map[int]int) string {
	keys := slices.Sorted(maps.Keys(m))
	s := ""
	for i, k := range keys {
		if i > 0 {
			s += ", "
		}
		name := fmt.Sprint(k)
		if k == 0 {
			name = "error"
		}
		s += fmt.Sprintf("%s: %d", name, m[k])
	}
	return s
}
