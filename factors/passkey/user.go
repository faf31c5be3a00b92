package passkey

import (
	"encoding/hex"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/faceidp/faceidp/models"
)

// waUser is a faceidp user as go-webauthn sees it. The user handle is the
// opaque user id (at most 64 bytes), which holds nothing personal.
type waUser struct {
	u     *models.User
	creds []webauthn.Credential
}

var _ webauthn.User = (*waUser)(nil)

func newWAUser(u *models.User, ps []models.Passkey) *waUser {
	w := &waUser{u: u, creds: make([]webauthn.Credential, len(ps))}
	for i := range ps {
		w.creds[i] = toCredential(&ps[i])
	}
	return w
}

func (w *waUser) WebAuthnID() []byte   { return []byte(w.u.ID) }
func (w *waUser) WebAuthnName() string { return w.u.Username }
func (w *waUser) WebAuthnDisplayName() string {
	if w.u.Name != "" {
		return w.u.Name
	}
	return w.u.Username
}
func (w *waUser) WebAuthnCredentials() []webauthn.Credential { return w.creds }

func toCredential(p *models.Passkey) webauthn.Credential {
	transports := make([]protocol.AuthenticatorTransport, len(p.Transports))
	for i, t := range p.Transports {
		transports[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{
		ID:                p.CredentialID,
		PublicKey:         p.PublicKey,
		AttestationType:   p.AttestationType,
		AttestationFormat: p.AttestationFormat,
		Transport:         transports,
		Flags: webauthn.CredentialFlags{
			UserPresent:    true,
			UserVerified:   p.UserVerified,
			BackupEligible: p.BackupEligible,
			BackupState:    p.BackupState,
		},
		Authenticator: webauthn.Authenticator{
			AAGUID:     aaguidBytes(p.AAGUID),
			SignCount:  uint32(p.SignCount),
			Attachment: protocol.AuthenticatorAttachment(p.Attachment),
		},
	}
}

func descriptors(ps []models.Passkey) []protocol.CredentialDescriptor {
	out := make([]protocol.CredentialDescriptor, len(ps))
	for i := range ps {
		c := toCredential(&ps[i])
		out[i] = c.Descriptor()
	}
	return out
}

// aaguidString renders 16 bytes as 8-4-4-4-12 hex ("" for anything else).
func aaguidString(b []byte) string {
	if len(b) != 16 {
		return ""
	}
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func aaguidBytes(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 {
		return make([]byte, 16)
	}
	return b
}

// AMRFor is the RFC 8176 amr value of a passkey: "swk" for a
// backup-eligible (synced) credential, "hwk" for a device-bound one.
func AMRFor(p *models.Passkey) string {
	if p.BackupEligible {
		return "swk"
	}
	return "hwk"
}
