package storagetest

import (
	"testing"
	"time"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

func authRequest(id string) *models.AuthRequest {
	t0 := baseTime()
	return &models.AuthRequest{
		ID: id, ClientID: "web", RedirectURI: "https://app.example.com/cb",
		Scopes: []string{"openid", "profile", "email"}, State: "st", Nonce: "n-0S6",
		ResponseType: "code", ResponseMode: "query",
		CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", CodeChallengeMethod: "S256",
		Prompt: []string{"login", "consent"}, MaxAge: ptr(int64(300)), LoginHint: "alice",
		UILocales: []string{"de-CH", "en"}, HintSubject: "u-alice", ACRValues: []string{"urn:faceidp:acr:face", "urn:faceidp:acr:2fa"}, Step: models.StepFirstFactor, BrowserBinding: "bb-hash",
		CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute),
	}
}

func testAuthRequestCRUD(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	must(t, "create", s.CreateAuthRequest(ctx, authRequest("ar1")))
	got, err := s.GetAuthRequest(ctx, "ar1")
	must(t, "get", err)
	sameRecord(t, "auth request", got, authRequest("ar1"))
	wantErr(t, "duplicate id", s.CreateAuthRequest(ctx, authRequest("ar1")), storage.ErrAlreadyExists)

	// Advance the flow as the login state machine does.
	got.Step = models.StepDone
	got.UserID, got.SessionID = "u-alice", "sess1"
	got.AuthTime = baseTime().Add(time.Minute)
	got.AMR = []string{"pwd", "face"}
	got.ACR = "urn:faceidp:2fa"
	got.Done = true
	got.MaxAge = nil
	must(t, "update", s.UpdateAuthRequest(ctx, got))
	again, err := s.GetAuthRequest(ctx, "ar1")
	must(t, "get after update", err)
	want := authRequest("ar1")
	want.Step, want.UserID, want.SessionID, want.AuthTime = models.StepDone, "u-alice", "sess1", baseTime().Add(time.Minute)
	want.AMR, want.ACR, want.Done, want.MaxAge = []string{"pwd", "face"}, "urn:faceidp:2fa", true, nil
	sameRecord(t, "updated auth request", again, want)

	wantErr(t, "update unknown", s.UpdateAuthRequest(ctx, authRequest("nope")), storage.ErrNotFound)
	_, err = s.GetAuthRequest(ctx, "nope")
	wantErr(t, "update must not create", err, storage.ErrNotFound)

	must(t, "delete", s.DeleteAuthRequest(ctx, "ar1"))
	_, err = s.GetAuthRequest(ctx, "ar1")
	wantErr(t, "get deleted", err, storage.ErrNotFound)
	wantErr(t, "delete again", s.DeleteAuthRequest(ctx, "ar1"), storage.ErrNotFound)
}

func testAuthRequestByCodeHash(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	must(t, "create pending", s.CreateAuthRequest(ctx, authRequest("pending")))
	r := authRequest("coded")
	must(t, "create", s.CreateAuthRequest(ctx, r))
	r.CodeHash = "sha256-of-code"
	must(t, "set code", s.UpdateAuthRequest(ctx, r))

	got, err := s.GetAuthRequestByCodeHash(ctx, "sha256-of-code")
	must(t, "by code", err)
	if got.ID != "coded" {
		t.Fatalf("code hash found %s, want coded", got.ID)
	}
	_, err = s.GetAuthRequestByCodeHash(ctx, "other")
	wantErr(t, "unknown code", err, storage.ErrNotFound)
	_, err = s.GetAuthRequestByCodeHash(ctx, "")
	wantErr(t, "empty code hash must not match requests without a code", err, storage.ErrNotFound)
}
