// Package throttle is faceidp's per-factor attempt throttling (NIST SP
// 800-63B-4 §3.2.2 and §3.2.3, OWASP's brute-force guidance). It owns the
// policy (how many failures are free, how long each further attempt
// waits, when a factor is disabled for a user); storage.Throttles keeps
// the counters in the shared database, so every instance sees the same
// counts.
//
// Each counter belongs to one factor and one subject:
//
//   - a user account ("user:<id>"), for any factor: password, face, and
//     later passkey ("hwk") and recovery codes ("recovery");
//   - a known device ("device:<hash>"): a browser holding a signed device
//     cookie for the account has its own password counter, so failures
//     from elsewhere do not block it (OWASP "device cookies");
//   - a login name that names no account ("login:<hmac>"), which behaves
//     exactly like an account's counter so the throttle does not reveal
//     which accounts exist;
//   - a source address ("ip:<address>"), counted with the Source policy.
//
// A success resets the counters of its own factor only: a correct password
// never touches the face counter.
//
// An attempt is reserved before the factor does any work (Begin), so
// attempts made in parallel cannot slip past a limit, and settled with
// exactly one of Fail, Succeed or Release.
package throttle

import (
	"fmt"
	"time"
)

// Factor names (RFC 8176 amr values where one exists).
const (
	FactorPassword = "pwd"
	FactorFace     = "face"
	FactorPasskey  = "hwk"
	FactorRecovery = "recovery"
)

// Policy is how one kind of counter throttles.
//
// The first After failures are free. From then on each further attempt
// waits, after the last failure, Delays[(failures-After)/Step] (the last
// delay repeats). With DisableAfter > 0, that many consecutive failures
// disable the factor for the user until a success cannot happen any more:
// an administrator (or a recovery path) clears the counter. With Window > 0
// the counter is forgotten that long after its last failure.
type Policy struct {
	After        int
	Step         int
	Delays       []time.Duration
	DisableAfter int
	Window       time.Duration
}

// Delay is the wait before the next attempt after failures consecutive
// failures (0 while they are free).
func (p Policy) Delay(failures int) time.Duration {
	if failures < p.After || len(p.Delays) == 0 {
		return 0
	}
	step := max(p.Step, 1)
	i := min((failures-p.After)/step, len(p.Delays)-1)
	return p.Delays[i]
}

// Disabled reports whether failures disable the factor.
func (p Policy) Disabled(failures int) bool {
	return p.DisableAfter > 0 && failures >= p.DisableAfter
}

// Validate checks a policy.
func (p Policy) Validate() error {
	switch {
	case p.After < 1:
		return fmt.Errorf("free failures must be at least 1, got %d", p.After)
	case p.Step < 0:
		return fmt.Errorf("step must not be negative, got %d", p.Step)
	case len(p.Delays) == 0:
		return fmt.Errorf("no delays")
	case p.DisableAfter != 0 && p.DisableAfter <= p.After:
		return fmt.Errorf("disable after %d failures must be more than the %d free ones", p.DisableAfter, p.After)
	case p.Window < 0:
		return fmt.Errorf("window must not be negative, got %s", p.Window)
	}
	for i, d := range p.Delays {
		if d <= 0 {
			return fmt.Errorf("delay %d is %s, want a positive duration", i+1, d)
		}
		if i > 0 && d < p.Delays[i-1] {
			return fmt.Errorf("delays must not shrink: %s after %s", d, p.Delays[i-1])
		}
	}
	return nil
}

// Defaults.
const (
	DefaultPasswordAfter    = 5
	DefaultSourceAfter      = 20
	DefaultPasswordWindow   = 24 * time.Hour
	DefaultSourceWindow     = time.Hour
	DefaultFaceAfter        = 5
	MaxFaceAfter            = 10 // NIST SP 800-63B-4 §3.2.3 with presentation-attack detection
	DefaultFaceDelay        = 30 * time.Second
	MinFaceDelay            = 30 * time.Second
	DefaultFaceDelayMax     = time.Hour
	DefaultFaceDisableAfter = 50
)

// DefaultPasswordDelays are the waits after 5, 10 and 15 failures of an
// account (after 20, 40 and 60 of a source address).
var DefaultPasswordDelays = []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute}

// PasswordPolicy throttles an account's (or a known device's) password:
// after every `after` further failures the next delay of delays applies.
// It is forgotten window after the last failure.
func PasswordPolicy(after int, delays []time.Duration, window time.Duration) Policy {
	return Policy{After: after, Step: after, Delays: append([]time.Duration(nil), delays...), Window: window}
}

// FacePolicy throttles a biometric factor: after `after` consecutive
// failures each further attempt waits first, doubling after every failure
// up to max; disableAfter consecutive failures disable it. Only a success
// of the same factor or an administrator resets it (no window).
func FacePolicy(after int, first, maxDelay time.Duration, disableAfter int) Policy {
	var delays []time.Duration
	for d := first; ; d *= 2 {
		if d >= maxDelay {
			delays = append(delays, maxDelay)
			break
		}
		delays = append(delays, d)
	}
	return Policy{After: after, Step: 1, Delays: delays, DisableAfter: disableAfter}
}

// Rules are the policies of every counter.
type Rules struct {
	// Factors maps a factor to the policy of its per-account (and
	// per-device) counters.
	Factors map[string]Policy
	// Source is the policy of the per-source-address counter that every
	// first-factor attempt also counts in.
	Source Policy
}

// DefaultRules are faceidp's defaults: password 5 free failures per
// account then 1 min, 5 min, 30 min (forgotten after 24 h without a
// failure); 20 per source address then the same delays (forgotten after
// 1 h); face 5 free failures, then 30 s doubling up to 1 h, disabled
// after 50.
func DefaultRules() Rules {
	return Rules{
		Factors: map[string]Policy{
			FactorPassword: PasswordPolicy(DefaultPasswordAfter, DefaultPasswordDelays, DefaultPasswordWindow),
			FactorFace:     FacePolicy(DefaultFaceAfter, DefaultFaceDelay, DefaultFaceDelayMax, DefaultFaceDisableAfter),
		},
		Source: PasswordPolicy(DefaultSourceAfter, DefaultPasswordDelays, DefaultSourceWindow),
	}
}

// For returns the policy of factor: the configured one, else the default
// one of a password (a factor added later is throttled from its first day).
func (r Rules) For(factor string) Policy {
	if p, ok := r.Factors[factor]; ok {
		return p
	}
	if p, ok := DefaultRules().Factors[factor]; ok {
		return p
	}
	return DefaultRules().Factors[FactorPassword]
}

// Validate checks every policy.
func (r Rules) Validate() error {
	for f, p := range r.Factors {
		if err := p.Validate(); err != nil {
			return fmt.Errorf("throttle policy of %s: %w", f, err)
		}
	}
	if err := r.Source.Validate(); err != nil {
		return fmt.Errorf("throttle policy of source addresses: %w", err)
	}
	return nil
}
