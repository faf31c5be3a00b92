package models

import "time"

// LoginStep is the state of a login flow attached to an authorization request.
type LoginStep string

const (
	StepFirstFactor  LoginStep = "first_factor"
	StepSecondFactor LoginStep = "second_factor"
	StepFaceEnrol    LoginStep = "face_enrol"
	StepConsent      LoginStep = "consent"
	StepDone         LoginStep = "done"
)

// AuthRequest is a pending OIDC authorization request and the login flow
// state that goes with it. It lives in the database so that any instance
// can continue the flow.
type AuthRequest struct {
	ID                  string   `gorm:"primaryKey;size:64"`
	ClientID            string   `gorm:"index;size:128;not null"`
	RedirectURI         string   `gorm:"size:2048"`
	Scopes              []string `gorm:"serializer:json"`
	State               string   `gorm:"size:1024"`
	Nonce               string   `gorm:"size:1024"`
	ResponseType        string   `gorm:"size:64"`
	ResponseMode        string   `gorm:"size:64"`
	CodeChallenge       string   `gorm:"size:256"`
	CodeChallengeMethod string   `gorm:"size:16"`
	Prompt              []string `gorm:"serializer:json"`
	MaxAge              *int64
	LoginHint           string   `gorm:"size:320"`
	UILocales           []string `gorm:"serializer:json"`
	// ACRValues are the relying app's acr_values, in its order of
	// preference (factors/policy decides whether they can be met).
	ACRValues []string `gorm:"serializer:json"`
	// HintSubject is the sub of a verified id_token_hint: the relying party
	// asks about this user, so another user's browser session must not
	// answer for it.
	HintSubject string `gorm:"size:64"`

	// Flow state.
	Step LoginStep `gorm:"size:32"`
	// BrowserBinding is a hash of a random value kept in the browser's cookie,
	// so a request ID alone cannot be used to continue someone else's flow.
	BrowserBinding string `gorm:"size:128"`
	UserID         string `gorm:"index;size:64"`
	SessionID      string `gorm:"size:64"`
	AuthTime       time.Time
	AMR            []string `gorm:"serializer:json"`
	ACR            string   `gorm:"size:128"`
	Done           bool

	// CodeHash is the SHA-256 of the authorization code once issued.
	CodeHash string `gorm:"index;size:128"`
	// CodeUsedAt is set when the code is exchanged. The request then stays
	// until ExpiresAt as a tombstone naming the tokens the exchange issued,
	// so a second exchange is recognised as reuse and revokes them
	// (RFC 6749 §4.1.2).
	CodeUsedAt *time.Time
	// CodeAccessTokenID and CodeRefreshFamilyID name the access token and
	// refresh token family issued for the code (the family is empty
	// without offline access).
	CodeAccessTokenID   string `gorm:"size:64"`
	CodeRefreshFamilyID string `gorm:"size:64"`
	CreatedAt           time.Time
	ExpiresAt           time.Time `gorm:"index"`
}
