// Package recovery holds the fallbacks for a user who cannot pass the face
// step: one-time recovery codes the user generates, and a single-use face
// bypass an administrator grants. Either stands in for the face step of
// one sign-in, after the first factor (never for it); the sign-in must then
// enrol the face again (factors/policy decides that from the completed
// methods of the auth request).
//
// # Recovery codes
//
// Generate makes a set of 10 codes of 10 characters from the RFC 4648
// base32 alphabet (A-Z, 2-7: 50 random bits each), shown once as
// "abcde-fghij" and replacing the previous set in one transaction. Input
// is normalised (case, spaces, hyphens; 0, 1 and 8 read as O, I and B).
//
// At rest a code is HMAC-SHA256(K, userID || 0x00 || code), where K is
// derived (keyring.MAC, HKDF-SHA256) from the newest master key in
// secrets.master_keys, whose id the row records. A keyed hash rather than
// argon2id: the codes carry 50 random bits, so there is nothing for a slow
// hash to protect against except an offline search of the 2^50 space, and
// that search needs K, which is in the configuration, never in the
// database — a database dump alone reveals nothing. A keyed hash also lets
// a use find its row with one indexed lookup and no per-code salt, where
// argon2id would cost ten slow hashes per attempt (one per stored code)
// and hand an attacker a CPU amplifier. Online guessing is bounded by the
// per-factor throttle ("recovery") and the 10-in-2^50 odds per guess. A
// code only replaces the face step: a password or passkey comes first.
//
// Removing a master key makes the codes hashed under it unusable (they
// cannot be re-hashed without the plaintext): Remaining reports them as
// stale so the user can be asked to regenerate, and operators keep a
// retired key until users have done so or accept that they must.
//
// # Face bypass
//
// GrantBypass (an administrator, from the CLI) lets a user skip the face
// step once before it expires (default 24 h); a new grant replaces an
// unused one; RevokeBypass withdraws it; ConsumeBypass uses it atomically.
//
// Every generation, use (success or failure) and grant, revocation and use
// of a bypass is an audit event (types in the Audit* constants), without
// codes.
package recovery
