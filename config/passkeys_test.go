package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func loadWith(t *testing.T, env ...string) (*Config, error) {
	t.Helper()
	return Load(LoadOptions{Environ: append(append(secretEnv(), "FACEIDP_DATA_DIR="+t.TempDir()), env...)})
}

func TestPasskeyRelyingPartyFromIssuer(t *testing.T) {
	cfg, err := loadWith(t, "FACEIDP_ISSUER=https://ID.Example.com")
	if err != nil {
		t.Fatal(err)
	}
	rp, origins, err := cfg.PasskeyRelyingParty()
	if err != nil || rp != "id.example.com" || !slices.Equal(origins, []string{"https://id.example.com"}) {
		t.Fatalf("PasskeyRelyingParty = %q %v %v", rp, origins, err)
	}
	cfg, _ = loadWith(t, "FACEIDP_ISSUER=http://localhost:8080")
	if rp, origins, err = cfg.PasskeyRelyingParty(); err != nil || rp != "localhost" || origins[0] != "http://localhost:8080" {
		t.Fatalf("localhost issuer: %q %v %v", rp, origins, err)
	}
	if cfg.Passkeys.UserVerification != "preferred" || cfg.Passkeys.RPName != "faceidp" || cfg.Policy.FaceEnrolment != "offer" ||
		cfg.Policy.PasskeySkipsFace || cfg.Recovery.BypassTTL.Hours() != 24 {
		t.Fatalf("defaults: %+v %+v %+v", cfg.Passkeys, cfg.Policy, cfg.Recovery)
	}
}

// The default issuer is an address: the server starts, without passkeys.
func TestPasskeysUnavailableOnAnIPIssuer(t *testing.T) {
	cfg, err := loadWith(t)
	if err != nil {
		t.Fatalf("default configuration refused: %v", err)
	}
	if _, _, err := cfg.PasskeyRelyingParty(); !errors.Is(err, ErrPasskeysUnavailable) {
		t.Fatalf("127.0.0.1 issuer: %v", err)
	}
	_, err = loadWith(t, "FACEIDP_POLICY_FIRST_FACTORS=passkey")
	if ps := problems(t, err); len(ps) != 1 || ps[0].Key != "policy.first_factors" || !strings.Contains(ps[0].Message, "IP address") {
		t.Fatalf("passkeys only, none possible: %+v", ps)
	}
}

func TestPasskeyConfiguration(t *testing.T) {
	cfg, err := loadWith(t, "FACEIDP_ISSUER=https://login.example.com", "FACEIDP_PASSKEYS_RP_ID=example.com",
		"FACEIDP_PASSKEYS_ORIGINS=https://login.example.com, https://example.com/, https://login.example.com")
	if err != nil {
		t.Fatal(err)
	}
	rp, origins, err := cfg.PasskeyRelyingParty()
	if err != nil || rp != "example.com" || !slices.Equal(origins, []string{"https://login.example.com", "https://example.com"}) {
		t.Fatalf("configured: %q %v %v", rp, origins, err)
	}
	type want struct{ key, msg string }
	for _, tc := range []struct {
		name string
		env  []string
		want []want
	}{
		{"rp id is an address", []string{"FACEIDP_PASSKEYS_RP_ID=10.0.0.1"}, []want{{"passkeys.rp_id", `"10.0.0.1" is not a domain`}}},
		{"rp id with a port", []string{"FACEIDP_ISSUER=https://id.example.com", "FACEIDP_PASSKEYS_RP_ID=example.com:443"}, []want{{"passkeys.rp_id", "is not a domain"}}},
		{"origin outside the rp id", []string{"FACEIDP_ISSUER=https://id.example.com", "FACEIDP_PASSKEYS_ORIGINS=https://evil.example.net"},
			[]want{{"passkeys.origins", `"https://evil.example.net" is not on the relying party ID "id.example.com"`}}},
		{"origin with a path", []string{"FACEIDP_ISSUER=https://id.example.com", "FACEIDP_PASSKEYS_ORIGINS=https://id.example.com/login"},
			[]want{{"passkeys.origins", "without a path"}}},
		{"plain http origin", []string{"FACEIDP_ISSUER=https://id.example.com", "FACEIDP_PASSKEYS_ORIGINS=http://id.example.com"},
			[]want{{"passkeys.origins", "only on localhost"}}},
		{"origins with an IP issuer need an rp id", []string{"FACEIDP_PASSKEYS_ORIGINS=https://id.example.com"},
			[]want{{"passkeys.rp_id", `"127.0.0.1" is not a domain`}}},
		{"bad user verification and ttl", []string{"FACEIDP_PASSKEYS_USER_VERIFICATION=always", "FACEIDP_PASSKEYS_CHALLENGE_TTL=2h"},
			[]want{{"passkeys.challenge_ttl", "must be between 10s and 1h, got 2h"}, {"passkeys.user_verification", `got "always"`}}},
		{"policy values", []string{"FACEIDP_POLICY_FIRST_FACTORS=password,sms", "FACEIDP_POLICY_FACE_ENROLMENT=later"},
			[]want{{"policy.face_enrolment", `must be offer, force or never, got "later"`}, {"policy.first_factors", `got "sms"`}}},
		{"bypass ttl", []string{"FACEIDP_RECOVERY_BYPASS_TTL=30s"}, []want{{"recovery.bypass_ttl", "must be between 1m and 168h, got 30s"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadWith(t, tc.env...)
			ps := problems(t, err)
			if len(ps) != len(tc.want) {
				t.Fatalf("problems %+v, want %+v", ps, tc.want)
			}
			for i, w := range tc.want {
				if ps[i].Key != w.key || !strings.Contains(ps[i].Message, w.msg) {
					t.Errorf("problem %d = %s: %s; want %s: ...%s...", i, ps[i].Key, ps[i].Message, w.key, w.msg)
				}
			}
		})
	}
}
