package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
)

// op is one request of a worker: it returns the HTTP status (0 with an
// error when the request failed).
type op func(ctx context.Context) (int, error)

// sample is the outcome of one closed-loop measurement.
type sample struct {
	ok, failed int
	statuses   map[int]int
	latencies  []time.Duration
	elapsed    time.Duration
	serverCPU  time.Duration
	machine    float64 // share of all CPUs busy, 0..1
}

func (s *sample) add(o *sample) {
	s.ok += o.ok
	s.failed += o.failed
	if s.statuses == nil {
		s.statuses = map[int]int{}
	}
	for k, v := range o.statuses {
		s.statuses[k] += v
	}
	s.latencies = append(s.latencies, o.latencies...)
	s.elapsed += o.elapsed
	s.serverCPU += o.serverCPU
}

func (s *sample) rate() float64 { return float64(s.ok) / s.elapsed.Seconds() }

func (s *sample) p99() time.Duration {
	if len(s.latencies) == 0 {
		return 0
	}
	l := slices.Clone(s.latencies)
	slices.Sort(l)
	return l[(len(l)*99)/100]
}

func (s *sample) cpuPerRequest() time.Duration {
	if s.ok == 0 {
		return 0
	}
	return s.serverCPU / time.Duration(s.ok)
}

// measure runs workers closed-loop (each sends its next request when the
// previous one is answered) for d and measures the server's CPU. ok counts
// the answers with status want.
func measure(ctx context.Context, s *server, d time.Duration, want int, workers []op) *sample {
	pids := func() []int {
		p := []int{s.cmd.Process.Pid}
		if s.extraPIDs != nil {
			p = append(p, s.extraPIDs(ctx)...)
		}
		return p
	}
	before := cpuOf(pids())
	mt0, mi0 := machineBusy()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	results := make([]sample, len(workers))
	start := time.Now()
	var wg sync.WaitGroup
	for i, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &results[i]
			r.statuses = map[int]int{}
			for ctx.Err() == nil {
				t0 := time.Now()
				st, err := w(ctx)
				if ctx.Err() != nil {
					return // cut off by the deadline: not counted
				}
				r.statuses[st]++
				if err == nil && st == want {
					r.ok++
					r.latencies = append(r.latencies, time.Since(t0))
				} else {
					r.failed++
				}
			}
		}()
	}
	wg.Wait()
	total := &sample{elapsed: time.Since(start), statuses: map[int]int{}}
	// Processes that appeared during the run (new database backends)
	// count from zero.
	after := pids()
	total.serverCPU = cpuDelta(before, cpuOf(after))
	mt1, mi1 := machineBusy()
	if dt := mt1 - mt0; dt > 0 {
		total.machine = 1 - float64(mi1-mi0)/float64(dt)
	}
	for i := range results {
		results[i].elapsed = 0
		total.add(&results[i])
	}
	return total
}

// drain reads and closes a response body so the connection is reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

func getOp(c *http.Client, u, bearer string) op {
	return func(ctx context.Context) (int, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		drain(resp)
		return resp.StatusCode, nil
	}
}

func introspectOp(c *http.Client, s *server, token string) op {
	form := url.Values{"token": {token}}
	return func(ctx context.Context) (int, error) {
		resp, err := postForm(ctx, c, s.url("/oauth/introspect"), form, s.clientID, s.clientSecret)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		var body struct {
			Active bool `json:"active"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || !body.Active {
			return resp.StatusCode, fmt.Errorf("introspection: token inactive")
		}
		return resp.StatusCode, nil
	}
}

// refreshOp follows one rotating refresh token chain.
func refreshOp(c *http.Client, s *server, first string) op {
	current := first
	return func(ctx context.Context) (int, error) {
		resp, err := postForm(ctx, c, s.url("/oauth/token"), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {current}}, s.clientID, s.clientSecret)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		var tok tokens
		if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.RefreshToken == "" || tok.IDToken == "" {
			return resp.StatusCode, fmt.Errorf("refresh: %d %s", resp.StatusCode, tok.Error)
		}
		current = tok.RefreshToken
		return resp.StatusCode, nil
	}
}

// signInOp is a whole public-client sign-in in a fresh browser.
func signInOp(s *server, t *http.Transport) op {
	return func(ctx context.Context) (int, error) {
		if _, err := signIn(ctx, s, t, false); err != nil {
			return 0, err
		}
		return http.StatusOK, nil
	}
}
