package config

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
)

// Passkeys configures the passkey (WebAuthn) first factor.
type Passkeys struct {
	// RPID is the relying party ID passkeys are bound to: a domain equal
	// to, or a parent of, the host of every origin. Empty means the
	// issuer's host. Changing it orphans every registered passkey.
	RPID string `yaml:"rp_id"`
	// RPName is the name some authenticators show.
	RPName string `yaml:"rp_name"`
	// Origins are the origins (scheme://host[:port]) pages that use
	// passkeys are served from. Empty means the issuer's origin.
	Origins []string `yaml:"origins"`
	// UserVerification is preferred, required or discouraged.
	UserVerification string `yaml:"user_verification"`
	// ChallengeTTL is how long a registration or sign-in ceremony may be
	// answered.
	ChallengeTTL time.Duration `yaml:"challenge_ttl"`
}

// Policy holds the global defaults of the factor policy; clients may
// override each (models.Client.Policy). The face mode is face.mode.
type Policy struct {
	// FirstFactors lists the allowed first factors (password, passkey);
	// empty means both.
	FirstFactors []string `yaml:"first_factors"`
	// FaceEnrolment is offer, force or never: whether users without a
	// face template enrol during sign-in.
	FaceEnrolment string `yaml:"face_enrolment"`
	// PasskeySkipsFace lets a user-verified passkey alone satisfy the face
	// mode (NIST counts it as multi-factor). Off by default: face is still
	// asked where face.mode asks for it.
	PasskeySkipsFace bool `yaml:"passkey_skips_face"`
}

// Recovery configures the fallbacks for users who cannot pass face.
type Recovery struct {
	// BypassTTL is how long an administrator's face bypass lasts unless
	// the grant says otherwise.
	BypassTTL time.Duration `yaml:"bypass_ttl"`
}

// ErrPasskeysUnavailable is returned by PasskeyRelyingParty when the
// issuer's host is an IP address and passkeys.rp_id is not set: WebAuthn
// binds credentials to a domain, never to an address.
var ErrPasskeysUnavailable = errors.New("passkeys are unavailable: the issuer's host is an IP address, which WebAuthn does not accept as a relying party ID; use a host name (http://localhost:8080 for a local demo) or set passkeys.rp_id and passkeys.origins")

// PasskeyRelyingParty returns the relying party ID and origins passkeys
// use: passkeys.rp_id and passkeys.origins, or the issuer's host and
// origin. ErrPasskeysUnavailable when neither is configured and the issuer
// is an IP address; any other error names the key at fault.
func (c *Config) PasskeyRelyingParty() (rpID string, origins []string, err error) {
	p := c.Passkeys
	issuer, perr := url.Parse(c.Issuer)
	if perr != nil || issuer.Host == "" {
		return "", nil, fmt.Errorf("issuer: not a URL")
	}
	origins = p.Origins
	if len(origins) == 0 {
		origins = []string{issuer.Scheme + "://" + strings.ToLower(issuer.Host)}
	}
	rpID = strings.ToLower(p.RPID)
	if rpID == "" {
		rpID = strings.ToLower(issuer.Hostname())
		if len(p.Origins) == 0 && protocol.ValidateRPID(rpID) != nil {
			return "", nil, ErrPasskeysUnavailable
		}
	}
	if err := protocol.ValidateRPID(rpID); err != nil {
		return "", nil, fmt.Errorf("passkeys.rp_id: %q is not a domain a passkey can be bound to (%v)", rpID, err)
	}
	out := make([]string, 0, len(origins))
	for _, o := range origins {
		norm, err := passkeyOrigin(o, rpID)
		if err != nil {
			return "", nil, fmt.Errorf("passkeys.origins: %w", err)
		}
		if !slices.Contains(out, norm) {
			out = append(out, norm)
		}
	}
	return rpID, out, nil
}

// passkeyOrigin checks one origin against rpID and returns it normalised
// (scheme://host[:port], lower case).
func passkeyOrigin(raw, rpID string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("%q is not an origin such as https://id.example.com", raw)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q must be scheme://host[:port] only, without a path, query or user info", raw)
	}
	host := strings.ToLower(u.Hostname())
	if u.Scheme == "http" && host != "localhost" && !strings.HasSuffix(host, ".localhost") {
		return "", fmt.Errorf("%q: browsers allow passkeys over plain http only on localhost", raw)
	}
	if host != rpID && !strings.HasSuffix(host, "."+rpID) {
		return "", fmt.Errorf("%q is not on the relying party ID %q or a subdomain of it", raw, rpID)
	}
	return u.Scheme + "://" + strings.ToLower(u.Host), nil
}

// issuerValid reports whether the issuer passes its own checks (a bad
// issuer is reported once, under issuer, not again under passkeys.*).
func issuerValid(c *Config) bool {
	ok := true
	validateIssuer(c.Issuer, func(string, string, ...any) { ok = false })
	return ok
}

func validatePasskeys(c *Config, add addFunc) {
	p := &c.Passkeys
	if !issuerValid(c) {
		// Reported under issuer.
	} else if _, _, err := c.PasskeyRelyingParty(); err != nil && !errors.Is(err, ErrPasskeysUnavailable) {
		key, msg, ok := strings.Cut(err.Error(), ": ")
		if !ok || !strings.HasPrefix(key, "passkeys.") {
			key, msg = "passkeys.rp_id", err.Error()
		}
		add(key, "%s", msg)
	}
	if len(p.RPName) == 0 || len(p.RPName) > 64 {
		add("passkeys.rp_name", "must be 1 to 64 characters, got %d", len(p.RPName))
	}
	switch p.UserVerification {
	case "preferred", "required", "discouraged":
	default:
		add("passkeys.user_verification", "must be preferred, required or discouraged, got %q", p.UserVerification)
	}
	if p.ChallengeTTL < 10*time.Second || p.ChallengeTTL > time.Hour {
		add("passkeys.challenge_ttl", "must be between 10s and 1h, got %s", formatDuration(p.ChallengeTTL))
	}
}

func validatePolicy(c *Config, add addFunc) {
	p := &c.Policy
	for _, f := range p.FirstFactors {
		if f != "password" && f != "passkey" {
			add("policy.first_factors", "may list only password and passkey, got %q", f)
		}
	}
	if slices.Equal(p.FirstFactors, []string{"passkey"}) {
		if _, _, err := c.PasskeyRelyingParty(); errors.Is(err, ErrPasskeysUnavailable) {
			add("policy.first_factors", "allows only passkeys, but %v", err)
		}
	}
	switch p.FaceEnrolment {
	case "offer", "force", "never":
	default:
		add("policy.face_enrolment", "must be offer, force or never, got %q", p.FaceEnrolment)
	}
}

func validateRecovery(r *Recovery, add addFunc) {
	if r.BypassTTL < time.Minute || r.BypassTTL > 7*24*time.Hour {
		add("recovery.bypass_ttl", "must be between 1m and 168h, got %s", formatDuration(r.BypassTTL))
	}
}
