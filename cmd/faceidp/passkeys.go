package main

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/faceidp/faceidp/config"
	"github.com/faceidp/faceidp/factors/passkey"
	"github.com/faceidp/faceidp/factors/policy"
	"github.com/faceidp/faceidp/factors/recovery"
	"github.com/faceidp/faceidp/idp"
	"github.com/faceidp/faceidp/idp/passkeyweb"
	"github.com/faceidp/faceidp/keyring"
	"github.com/faceidp/faceidp/storage"
)

// firstFactors builds the first factors serve offers beside the password:
// passkeys, unless the relying party cannot be derived (an IP-address
// issuer without passkeys.rp_id), which leaves them off; off says why,
// for serve to log once it has started (a start that fails reports one
// error line, nothing else).
func (a *app) firstFactors(cfg *config.Config, store storage.Storage, logger *slog.Logger) (factors []idp.FirstFactor, off string, err error) {
	rpID, origins, err := cfg.PasskeyRelyingParty()
	if errors.Is(err, config.ErrPasskeysUnavailable) {
		return nil, err.Error(), nil
	}
	if err != nil {
		return nil, "", err
	}
	svc, err := passkey.New(passkey.Config{
		RPID: rpID, RPName: cfg.Passkeys.RPName, Origins: origins,
		UserVerification: cfg.Passkeys.UserVerification, ChallengeTTL: cfg.Passkeys.ChallengeTTL,
	}, store, a.now, a.rand)
	if err != nil {
		return nil, "", fmt.Errorf("passkeys: %w", err)
	}
	surface, err := passkeyweb.New(svc, store, passkeyweb.Options{Logger: logger.With("component", "passkey")})
	if err != nil {
		return nil, "", err
	}
	logger.Info("passkeys ready", "rp_id", rpID, "origins", origins, "user_verification", cfg.Passkeys.UserVerification)
	return []idp.FirstFactor{surface}, "", nil
}

// recoveryService builds the fallbacks (recovery codes, face bypass).
func (a *app) recoveryService(cfg *config.Config, store storage.Storage, kr *keyring.Keyring) (*recovery.Service, error) {
	return recovery.New(store, kr, a.now, a.rand, recovery.Options{BypassTTL: cfg.Recovery.BypassTTL})
}

// globalPolicy is the factor policy the configuration describes (face.mode
// is idp.Options.FaceMode).
func globalPolicy(cfg *config.Config) policy.Policy {
	return policy.Policy{
		FirstFactors:     cfg.Policy.FirstFactors,
		FaceEnrolment:    policy.Enrolment(cfg.Policy.FaceEnrolment),
		PasskeySkipsFace: cfg.Policy.PasskeySkipsFace,
	}
}
