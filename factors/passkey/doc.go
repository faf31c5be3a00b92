// Package passkey is the passkey first factor: WebAuthn registration and
// sign-in over github.com/go-webauthn/webauthn, with ceremonies and
// credentials kept through storage.Storage so any instance can finish what
// another began.
//
// # Ceremonies
//
// Every Begin* stores a ceremony (models.WebAuthnSession) holding
// go-webauthn's SessionData, with a challenge of 32 bytes from the
// injected random source, and returns its ID and the options for
// navigator.credentials.create/get as JSON. The matching Finish* consumes
// the ceremony atomically, so it can be answered once; it must come from
// the same sign-in (auth request id) and browser (Binding.Browser, the
// hash the flow already keeps for the auth request) before it expires
// (Config.ChallengeTTL, judged on the injected clock). A response signed
// over another ceremony's challenge fails verification.
//
// # Sign-in
//
// BeginLogin(nil user) is a discoverable ("usernameless") ceremony with an
// empty allow list: the browser offers any passkey of this relying party,
// also through conditional UI (autofill); the response's user handle names
// the user. BeginLogin(user) is username-first: only that user's passkeys
// are allowed and may answer. A username that matches no account (or one
// without passkeys) still gets a ceremony, which nothing can complete, so
// the answer does not tell whether the account exists.
//
// FinishLogin verifies origin, RP ID hash, challenge, signature, user
// presence, user verification when Config.UserVerification is "required",
// and the backup flags (BE may never change; BS without BE is refused).
// The sign counter must increase, or stay 0 for authenticators that keep
// none: a counter that goes backwards or repeats a non-zero value is
// refused with ErrCounterRegressed, audited as "passkey.clone_suspected"
// (a cloned authenticator, or one that malfunctions). The check is made
// twice: by go-webauthn against the stored counter, and by the database's
// conditional UPDATE (storage.RecordPasskeyUse), so two instances cannot
// both accept one counter value.
//
// # amr
//
// Assertion.AMR is RFC 8176's "swk" (proof of possession of a
// software-secured key) for a backup-eligible, i.e. synced, passkey: its
// private key is copied between devices by a sync provider. A
// device-bound credential (BE=0: security keys, most platform
// authenticators without sync) is "hwk" (hardware-secured key). This is
// judged on the BE flag, which the authenticator signs; faceidp asks for
// no attestation, so "hwk" does not prove certified hardware.
// Assertion.UserVerified is the UV flag of this assertion (a PIN or
// biometric on the authenticator): a user-verified passkey is a
// multi-factor authenticator (NIST SP 800-63B), which factors/policy
// records as the amr value followed by "mfa" (policy.PasskeyMethods).
//
// # Errors and audit
//
// Errors are sentinels (ErrCeremonyUsed, ErrCounterRegressed, ...); those
// of FinishLogin come wrapped in *Failure, which names the user and
// passkey when they were identified, so the caller can count the failure
// in that user's per-factor throttle (factor name: the amr value, "hwk" or
// "swk", or "passkey" before a credential is identified). The service
// writes the audit events of its own decisions (passkey.register,
// passkey.login, passkey.clone_suspected, passkey.rename, passkey.remove)
// with the auditlog.Caller of the context; the login flow audits its own
// steps as it does for other factors.
package passkey
