package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/faceidp/faceidp/config"
	"github.com/faceidp/faceidp/factors/password"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// accounts is the administrative service behind the user and client
// commands: it validates input, hashes passwords and secrets with argon2id
// and audits every change.
type accounts struct {
	store  storage.Storage
	hasher *password.Hasher
	now    func() time.Time
	rand   io.Reader
}

// minPasswordLength follows NIST SP 800-63B (at least 8 characters).
const minPasswordLength = 8

var (
	usernamePattern = regexp.MustCompile(`^[\p{L}\p{N}][\p{L}\p{N}._@+-]{0,127}$`)
	clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
)

func newAccounts(store storage.Storage, now func() time.Time, random io.Reader) (*accounts, error) {
	h, err := password.New(password.Params{}, random)
	if err != nil {
		return nil, err
	}
	return &accounts{store: store, hasher: h, now: now, rand: random}, nil
}

func (ac *accounts) newID() (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(ac.rand, b); err != nil {
		return "", fmt.Errorf("generate id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func (ac *accounts) audit(ctx context.Context, typ, userID, clientID, reason string) error {
	return ac.store.AppendAudit(ctx, &models.AuditEvent{Time: ac.now(), Type: typ, Outcome: "info",
		UserID: userID, ClientID: clientID, Reason: reason})
}

// readPassword reads a password from r: everything up to the first newline
// (or the end of input), without the line ending.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, password.MaxLength+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	switch {
	case line == "":
		return "", errors.New("no password on standard input (pipe it in, e.g. `printf '%s\\n' \"$PW\" | faceidp user add ...`)")
	case len(line) > password.MaxLength:
		return "", fmt.Errorf("password is longer than %d bytes", password.MaxLength)
	case !utf8.ValidString(line):
		return "", errors.New("password is not valid UTF-8")
	case utf8.RuneCountInString(line) < minPasswordLength:
		return "", fmt.Errorf("password must be at least %d characters", minPasswordLength)
	}
	return line, nil
}

type newUser struct {
	Username, Email, Name string
	RequireFace           bool
}

func (ac *accounts) addUser(ctx context.Context, in newUser, pw string) (*models.User, error) {
	var problems []string
	if !usernamePattern.MatchString(in.Username) {
		problems = append(problems, fmt.Sprintf("--username %q must be 1-128 letters, digits or . _ @ + - (starting with a letter or digit)", in.Username))
	}
	if a, err := mail.ParseAddress(in.Email); err != nil || a.Address != in.Email || len(in.Email) > 320 {
		problems = append(problems, fmt.Sprintf("--email %q is not a plain email address", in.Email))
	}
	if len(in.Name) > 256 {
		problems = append(problems, "--name is longer than 256 bytes")
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	hash, err := ac.hasher.Hash(pw)
	if err != nil {
		return nil, err
	}
	id, err := ac.newID()
	if err != nil {
		return nil, err
	}
	u := &models.User{ID: id, Username: in.Username, Email: in.Email, Name: in.Name, PasswordHash: hash, RequireFace: in.RequireFace}
	if err := ac.store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, storage.ErrAlreadyExists) {
			return nil, fmt.Errorf("a user with username %q or email %q already exists", in.Username, in.Email)
		}
		return nil, fmt.Errorf("create user: %w", err)
	}
	return u, ac.audit(ctx, "admin.user_add", u.ID, "", "cli")
}

// findUser looks a user up by username or email.
func (ac *accounts) findUser(ctx context.Context, login string) (*models.User, error) {
	u, err := ac.store.GetUserByLogin(ctx, login)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("no user with username or email %q", login)
	}
	return u, err
}

// setDisabled disables (revoking every session and token) or re-enables a user.
func (ac *accounts) setDisabled(ctx context.Context, login string, disabled bool) (*models.User, int64, error) {
	u, err := ac.findUser(ctx, login)
	if err != nil {
		return nil, 0, err
	}
	u.Disabled = disabled
	if err := ac.store.UpdateUser(ctx, u); err != nil {
		return nil, 0, fmt.Errorf("update user: %w", err)
	}
	var revoked int64
	typ := "admin.user_enable"
	if disabled {
		typ = "admin.user_disable"
		if revoked, err = ac.revokeEverything(ctx, u.ID); err != nil {
			return nil, 0, err
		}
	}
	return u, revoked, ac.audit(ctx, typ, u.ID, "", "cli")
}

// revokeEverything ends a user's sessions and deletes their tokens at every
// client; it returns the number of sessions revoked.
func (ac *accounts) revokeEverything(ctx context.Context, userID string) (int64, error) {
	n, err := ac.store.RevokeUserSessions(ctx, userID, ac.now())
	if err != nil {
		return 0, fmt.Errorf("revoke sessions: %w", err)
	}
	clients, err := ac.store.ListClients(ctx)
	if err != nil {
		return n, fmt.Errorf("list clients: %w", err)
	}
	for _, c := range clients {
		if err := ac.store.DeleteUserClientTokens(ctx, userID, c.ID); err != nil {
			return n, fmt.Errorf("revoke tokens at client %s: %w", c.ID, err)
		}
	}
	return n, nil
}

// setPassword replaces a user's password, clears a lockout and signs the
// user out everywhere.
func (ac *accounts) setPassword(ctx context.Context, login, pw string) (*models.User, int64, error) {
	u, err := ac.findUser(ctx, login)
	if err != nil {
		return nil, 0, err
	}
	if u.PasswordHash, err = ac.hasher.Hash(pw); err != nil {
		return nil, 0, err
	}
	u.FailedLogins, u.LockedUntil = 0, nil
	if err := ac.store.UpdateUser(ctx, u); err != nil {
		return nil, 0, fmt.Errorf("update user: %w", err)
	}
	n, err := ac.revokeEverything(ctx, u.ID)
	if err != nil {
		return nil, 0, err
	}
	return u, n, ac.audit(ctx, "admin.user_set_password", u.ID, "", "cli")
}

type newClient struct {
	ID, Name, Secret         string
	RedirectURIs, PostLogout []string
	SkipConsent, RequireFace bool
	IDTokenAlg               string
}

func (ac *accounts) addClient(ctx context.Context, in newClient) (*models.Client, error) {
	var problems []string
	if !clientIDPattern.MatchString(in.ID) {
		problems = append(problems, fmt.Sprintf("--id %q must be 1-128 letters, digits or . _ : -", in.ID))
	}
	if len(in.RedirectURIs) == 0 {
		problems = append(problems, "at least one --redirect-uri is required")
	}
	for _, u := range in.RedirectURIs {
		if err := checkClientURI(u); err != nil {
			problems = append(problems, "--redirect-uri "+err.Error())
		}
	}
	for _, u := range in.PostLogout {
		if err := checkClientURI(u); err != nil {
			problems = append(problems, "--post-logout-redirect-uri "+err.Error())
		}
	}
	if in.IDTokenAlg != "RS256" && in.IDTokenAlg != "ES256" {
		problems = append(problems, fmt.Sprintf("--id-token-alg must be RS256 or ES256, got %q", in.IDTokenAlg))
	}
	if in.Secret != "" && len(in.Secret) < 16 {
		problems = append(problems, "--secret must be at least 16 characters (omit it for a public client)")
	}
	if len(in.Name) > 256 {
		problems = append(problems, "--name is longer than 256 bytes")
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	c := &models.Client{ID: in.ID, Name: in.Name, RedirectURIs: in.RedirectURIs, PostLogoutRedirectURIs: in.PostLogout,
		SkipConsent: in.SkipConsent, RequireFace: in.RequireFace, IDTokenAlg: in.IDTokenAlg}
	if c.Name == "" {
		c.Name = c.ID
	}
	if in.Secret != "" {
		h, err := ac.hasher.Hash(in.Secret)
		if err != nil {
			return nil, err
		}
		c.SecretHash = h
	}
	if err := ac.store.CreateClient(ctx, c); err != nil {
		if errors.Is(err, storage.ErrAlreadyExists) {
			return nil, fmt.Errorf("a client with id %q already exists", in.ID)
		}
		return nil, fmt.Errorf("create client: %w", err)
	}
	return c, ac.audit(ctx, "admin.client_add", "", c.ID, "cli")
}

// checkClientURI accepts absolute https URIs, http only on a loopback host
// (development, native apps), and no fragment (OAuth 2.0 §3.1.2).
func checkClientURI(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "":
		return fmt.Errorf("%q is not an absolute URL", raw)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return fmt.Errorf("%q must not have a fragment", raw)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && config.IsLoopbackHost(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return fmt.Errorf("%q: plain http is allowed only on a loopback host (127.0.0.1, ::1, localhost)", raw)
	}
	return fmt.Errorf("%q must use https", raw)
}

func (ac *accounts) removeClient(ctx context.Context, id string) error {
	if _, err := ac.store.GetClient(ctx, id); errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("no client with id %q", id)
	} else if err != nil {
		return err
	}
	if err := ac.store.DeleteClient(ctx, id); err != nil {
		return fmt.Errorf("remove client: %w", err)
	}
	return ac.audit(ctx, "admin.client_remove", "", id, "cli")
}
