// Package softauthn is a software WebAuthn authenticator for tests: it
// answers the options faceidp hands to the browser the way a browser and
// an authenticator would (ES256 keys, "none" attestation, authenticator
// data with the UP, UV, BE, BS flags and a sign counter, clientDataJSON),
// so the server side is tested with real WebAuthn data. Every knob that a
// real authenticator or a hostile client could turn is a field: origin,
// RP ID, flags, counter.
package softauthn

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// Authenticator holds credentials and answers ceremonies. Not safe for
// concurrent use.
type Authenticator struct {
	// Origin is what the "browser" reports in clientDataJSON.
	Origin string
	// RPID is hashed into the authenticator data; empty means the RP ID
	// the options name.
	RPID string
	// AAGUID names the authenticator model.
	AAGUID [16]byte
	// UserVerified sets the UV flag; BackupEligible and BackupState set BE
	// and BS (a synced passkey has both).
	UserVerified, BackupEligible, BackupState bool
	// CounterStep is added to a credential's counter before every
	// assertion; 0 models an authenticator without a counter.
	CounterStep uint32
	// Transports are reported at registration.
	Transports []string

	creds []*Credential
}

// Credential is one key pair the authenticator holds.
type Credential struct {
	ID         []byte
	UserHandle []byte
	RPID       string
	Key        *ecdsa.PrivateKey
	// Counter is the last signature counter; tests may set it to make
	// the authenticator go backwards.
	Counter uint32
}

// New returns an authenticator reporting origin, with a counter that
// steps by one, user verification and no backup flags (a security key).
func New(origin string) *Authenticator {
	return &Authenticator{Origin: origin, CounterStep: 1, UserVerified: true, Transports: []string{"usb"}}
}

// Credentials returns the credentials, oldest first.
func (a *Authenticator) Credentials() []*Credential { return a.creds }

// Adopt adds a credential taken from another authenticator (a copy of its
// private key: a cloned authenticator, or one answering for another
// origin).
func (a *Authenticator) Adopt(c *Credential) { a.creds = append(a.creds, c) }

// Forget drops a credential (the user deleted it on the device).
func (a *Authenticator) Forget(id []byte) {
	for i, c := range a.creds {
		if string(c.ID) == string(id) {
			a.creds = append(a.creds[:i], a.creds[i+1:]...)
			return
		}
	}
}

// Register answers navigator.credentials.create with the options JSON
// ({"publicKey": ...}) and returns the response JSON the page would post.
func (a *Authenticator) Register(optionsJSON []byte) ([]byte, *Credential, error) {
	var cc protocol.CredentialCreation
	if err := json.Unmarshal(optionsJSON, &cc); err != nil {
		return nil, nil, fmt.Errorf("softauthn: read creation options: %w", err)
	}
	o := cc.Response
	handle, err := userHandle(o.User.ID)
	if err != nil {
		return nil, nil, err
	}
	for _, ex := range o.CredentialExcludeList {
		for _, c := range a.creds {
			if string(c.ID) == string(ex.CredentialID) {
				return nil, nil, errors.New("softauthn: InvalidStateError: a credential in the exclude list is on this authenticator")
			}
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	id := make([]byte, 32)
	if _, err := rand.Read(id); err != nil {
		return nil, nil, err
	}
	cred := &Credential{ID: id, UserHandle: handle, RPID: o.RelyingParty.ID, Key: key}
	if a.CounterStep > 0 {
		cred.Counter = 1
	}
	point, err := key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		return nil, nil, err
	}
	cose, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         1, // P-256
		XCoord:        point[1:33],
		YCoord:        point[33:65],
	})
	if err != nil {
		return nil, nil, err
	}
	authData := a.authData(a.rpID(o.RelyingParty.ID), protocol.FlagAttestedCredentialData, cred.Counter)
	authData = append(authData, a.AAGUID[:]...)
	authData = binary.BigEndian.AppendUint16(authData, uint16(len(id)))
	authData = append(authData, id...)
	authData = append(authData, cose...)
	attObj, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": authData})
	if err != nil {
		return nil, nil, err
	}
	clientData := a.clientData("webauthn.create", o.Challenge)
	resp := map[string]any{
		"id": b64(id), "rawId": b64(id), "type": "public-key", "authenticatorAttachment": "cross-platform",
		"clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON": b64(clientData), "attestationObject": b64(attObj), "transports": a.Transports,
		},
	}
	out, err := json.Marshal(resp)
	if err != nil {
		return nil, nil, err
	}
	a.creds = append(a.creds, cred)
	return out, cred, nil
}

// Assert answers navigator.credentials.get with the options JSON: it signs
// with the first credential of the allow list it holds, or, for an empty
// allow list (discoverable), with its newest credential for the RP ID.
func (a *Authenticator) Assert(optionsJSON []byte) ([]byte, error) {
	var ca protocol.CredentialAssertion
	if err := json.Unmarshal(optionsJSON, &ca); err != nil {
		return nil, fmt.Errorf("softauthn: read request options: %w", err)
	}
	o := ca.Response
	var cred *Credential
	if len(o.AllowedCredentials) == 0 {
		for _, c := range a.creds {
			if c.RPID == o.RelyingPartyID {
				cred = c
			}
		}
	} else {
		for _, allowed := range o.AllowedCredentials {
			for _, c := range a.creds {
				if cred == nil && string(c.ID) == string(allowed.CredentialID) {
					cred = c
				}
			}
		}
	}
	if cred == nil {
		return nil, errors.New("softauthn: NotAllowedError: no credential for this request")
	}
	return a.AssertWith(cred, o.RelyingPartyID, o.Challenge)
}

// AssertWith signs challenge with cred, whatever the options said (a
// replay or a forged request).
func (a *Authenticator) AssertWith(cred *Credential, rpID string, challenge []byte) ([]byte, error) {
	cred.Counter += a.CounterStep
	authData := a.authData(a.rpID(rpID), 0, cred.Counter)
	clientData := a.clientData("webauthn.get", challenge)
	digest := sha256.Sum256(clientData)
	sig, err := ecdsa.SignASN1(rand.Reader, cred.Key, sha256Sum(append(append([]byte{}, authData...), digest[:]...)))
	if err != nil {
		return nil, err
	}
	resp := map[string]any{
		"id": b64(cred.ID), "rawId": b64(cred.ID), "type": "public-key", "authenticatorAttachment": "cross-platform",
		"clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON": b64(clientData), "authenticatorData": b64(authData),
			"signature": b64(sig), "userHandle": b64(cred.UserHandle),
		},
	}
	return json.Marshal(resp)
}

func (a *Authenticator) rpID(fromOptions string) string {
	if a.RPID != "" {
		return a.RPID
	}
	return fromOptions
}

func (a *Authenticator) authData(rpID string, extra protocol.AuthenticatorFlags, counter uint32) []byte {
	h := sha256.Sum256([]byte(rpID))
	flags := protocol.FlagUserPresent | extra
	if a.UserVerified {
		flags |= protocol.FlagUserVerified
	}
	if a.BackupEligible {
		flags |= protocol.FlagBackupEligible
	}
	if a.BackupState {
		flags |= protocol.FlagBackupState
	}
	out := append(h[:], byte(flags))
	return binary.BigEndian.AppendUint32(out, counter)
}

func (a *Authenticator) clientData(typ string, challenge []byte) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": b64(challenge), "origin": a.Origin, "crossOrigin": false})
	return b
}

// userHandle decodes the user.id of creation options (base64url in JSON).
func userHandle(id any) ([]byte, error) {
	s, ok := id.(string)
	if !ok {
		return nil, fmt.Errorf("softauthn: user.id is %T, want a base64url string", id)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("softauthn: user.id: %w", err)
	}
	return b, nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func sha256Sum(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}
