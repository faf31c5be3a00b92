package storagetest

import (
	"testing"
	"time"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

func webClient() *models.Client {
	return &models.Client{
		ID: "web", Name: "Web App", SecretHash: "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA",
		RedirectURIs:           []string{"https://app.example.com/cb", "http://127.0.0.1:8080/cb"},
		PostLogoutRedirectURIs: []string{"https://app.example.com/"},
		SkipConsent:            true, RequireFace: true, IDTokenAlg: "ES256",
		CreatedAt: baseTime(), UpdatedAt: baseTime(),
	}
}

func testClientCRUD(t *testing.T, s storage.Storage) {
	_, err := s.GetClient(t.Context(), "web")
	wantErr(t, "get before create", err, storage.ErrNotFound)
	must(t, "create", s.CreateClient(t.Context(), webClient()))
	got, err := s.GetClient(t.Context(), "web")
	must(t, "get", err)
	sameRecord(t, "client", got, webClient())

	dup := webClient()
	dup.Name = "Impostor"
	wantErr(t, "duplicate id", s.CreateClient(t.Context(), dup), storage.ErrAlreadyExists)
	got, err = s.GetClient(t.Context(), "web")
	must(t, "get after duplicate", err)
	if got.Name != "Web App" {
		t.Errorf("duplicate create overwrote name: %q", got.Name)
	}

	must(t, "create public", s.CreateClient(t.Context(), &models.Client{ID: "cli", RedirectURIs: []string{"http://127.0.0.1/cb"}}))
	cs, err := s.ListClients(t.Context())
	must(t, "list", err)
	if len(cs) != 2 || cs[0].ID != "cli" || cs[1].ID != "web" {
		t.Fatalf("ListClients = %+v, want cli, web", cs)
	}
	if !cs[0].Public() || cs[1].Public() {
		t.Errorf("Public() wrong after round trip")
	}

	must(t, "delete", s.DeleteClient(t.Context(), "web"))
	_, err = s.GetClient(t.Context(), "web")
	wantErr(t, "get deleted", err, storage.ErrNotFound)
	wantErr(t, "delete again", s.DeleteClient(t.Context(), "web"), storage.ErrNotFound)
}

func testClientDeleteCascade(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	t0 := baseTime()
	must(t, "create web", s.CreateClient(ctx, webClient()))
	must(t, "create other", s.CreateClient(ctx, &models.Client{ID: "other"}))
	for _, c := range []string{"web", "other"} {
		rt := &models.RefreshToken{ID: "rt-" + c, TokenHash: "h-" + c, FamilyID: "f-" + c, ClientID: c, UserID: "u1", ExpiresAt: t0.Add(time.Hour)}
		at := &models.AccessToken{ID: "at-" + c, ClientID: c, UserID: "u1", ExpiresAt: t0.Add(time.Hour)}
		must(t, "refresh token "+c, s.CreateRefreshToken(ctx, rt, at))
		must(t, "consent "+c, s.SaveConsent(ctx, &models.Consent{UserID: "u1", ClientID: c, Scopes: []string{"openid"}}))
	}
	must(t, "delete web", s.DeleteClient(ctx, "web"))

	_, err := s.GetAccessToken(ctx, "at-web")
	wantErr(t, "access token of deleted client", err, storage.ErrNotFound)
	_, err = s.GetRefreshToken(ctx, "rt-web")
	wantErr(t, "refresh token of deleted client", err, storage.ErrNotFound)
	_, err = s.GetConsent(ctx, "u1", "web")
	wantErr(t, "consent of deleted client", err, storage.ErrNotFound)

	_, err = s.GetAccessToken(ctx, "at-other")
	must(t, "other client's access token kept", err)
	_, err = s.GetRefreshToken(ctx, "rt-other")
	must(t, "other client's refresh token kept", err)
	_, err = s.GetConsent(ctx, "u1", "other")
	must(t, "other client's consent kept", err)
}
