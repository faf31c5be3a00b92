package policy

import (
	"fmt"
	"slices"

	"github.com/faceidp/faceidp/models"
)

// Policy is the factor policy in force for a client.
type Policy struct {
	// FirstFactors lists the allowed first factors (FirstFactorPassword,
	// FirstFactorPasskey); empty means both.
	FirstFactors     []string
	FaceMode         FaceMode
	FaceEnrolment    Enrolment
	PasskeySkipsFace bool
}

// ParseFirstFactors validates a list of first factor names (empty: both).
func ParseFirstFactors(names []string) ([]string, error) {
	var out []string
	for _, n := range names {
		if n != FirstFactorPassword && n != FirstFactorPasskey {
			return nil, fmt.Errorf("first factor %q is not one of %s, %s", n, FirstFactorPassword, FirstFactorPasskey)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// Resolve applies the client's overrides (models.Client.Policy and
// RequireFace) to the global defaults. An invalid stored override is an
// error naming the client, never silently the default.
func Resolve(global Policy, c *models.Client) (Policy, error) {
	p := global
	p.FirstFactors = slices.Clone(global.FirstFactors)
	if c == nil {
		return p, nil
	}
	o := c.Policy
	if len(o.FirstFactors) > 0 {
		ff, err := ParseFirstFactors(o.FirstFactors)
		if err != nil {
			return Policy{}, fmt.Errorf("client %s: %w", c.ID, err)
		}
		p.FirstFactors = ff
	}
	if o.FaceMode != "" {
		m, err := ParseFaceMode(o.FaceMode)
		if err != nil {
			return Policy{}, fmt.Errorf("client %s: %w", c.ID, err)
		}
		p.FaceMode = m
	}
	if c.RequireFace {
		p.FaceMode = FaceRequired
	}
	if o.FaceEnrolment != "" {
		e, err := ParseEnrolment(o.FaceEnrolment)
		if err != nil {
			return Policy{}, fmt.Errorf("client %s: %w", c.ID, err)
		}
		p.FaceEnrolment = e
	}
	if o.PasskeySkipsFace != nil {
		p.PasskeySkipsFace = *o.PasskeySkipsFace
	}
	return p, nil
}

// Input returns an Input carrying the policy; the caller fills in the
// user, the request and the completed methods.
func (p Policy) Input() Input {
	return Input{FaceMode: p.FaceMode, FirstFactors: slices.Clone(p.FirstFactors), FaceEnrolment: p.FaceEnrolment, PasskeySkipsFace: p.PasskeySkipsFace}
}

// Allows reports whether the policy allows first factor name.
func (p Policy) Allows(name string) bool {
	return len(p.FirstFactors) == 0 || slices.Contains(p.FirstFactors, name)
}
