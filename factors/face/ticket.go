package face

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/faceidp/faceidp/models"
)

// A pass ticket carries a streamed challenge's pass from the stream, which
// cannot set cookies (it is a WebSocket), to the request that continues
// the sign-in. It is sealed under the keyring, bound to the sign-in and the
// browser, names the user and purpose, and expires after PassTicketTTL.
// It is good once in practice: continuing the sign-in moves the flow past
// the face step, after which the step refuses it.

// PassTicketTTL is how long a pass ticket may be redeemed.
const PassTicketTTL = 60 * time.Second

// ErrBadTicket: the ticket is malformed, forged, expired or for another
// sign-in.
var ErrBadTicket = errors.New("face pass ticket not valid")

type passTicket struct {
	UserID  string             `json:"u"`
	Purpose models.FacePurpose `json:"p"`
	Expires int64              `json:"e"`
}

func ticketAAD(authRequestID, sessionID string) []byte {
	return []byte("face-pass:" + authRequestID + "\x00" + sessionID)
}

// PassTicket seals the pass of out for the sign-in (authRequestID,
// sessionID). It refuses an outcome that did not pass.
func (s *Service) PassTicket(out *Outcome, authRequestID, sessionID string) (string, error) {
	if !out.Passed() {
		return "", errors.New("face: no pass ticket for a failed attempt")
	}
	pt, err := json.Marshal(passTicket{UserID: out.UserID, Purpose: out.Purpose, Expires: s.now().Add(PassTicketTTL).Unix()})
	if err != nil {
		return "", err
	}
	keyID, sealed, err := s.kr.Seal(pt, ticketAAD(authRequestID, sessionID))
	if err != nil {
		return "", fmt.Errorf("face: seal pass ticket: %w", err)
	}
	return keyID + "." + base64.RawURLEncoding.EncodeToString(sealed), nil
}

// RedeemTicket opens a pass ticket of the sign-in and returns whom and
// what it passed.
func (s *Service) RedeemTicket(ticket, authRequestID, sessionID string) (userID string, purpose models.FacePurpose, err error) {
	keyID, enc, ok := strings.Cut(ticket, ".")
	if !ok {
		return "", "", ErrBadTicket
	}
	sealed, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return "", "", ErrBadTicket
	}
	pt, err := s.kr.Open(keyID, sealed, ticketAAD(authRequestID, sessionID))
	if err != nil {
		return "", "", ErrBadTicket
	}
	var t passTicket
	if json.Unmarshal(pt, &t) != nil || !s.now().Before(time.Unix(t.Expires, 0)) {
		return "", "", ErrBadTicket
	}
	return t.UserID, t.Purpose, nil
}
