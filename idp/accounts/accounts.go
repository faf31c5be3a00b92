// Package accounts is the service layer for administering users and
// clients: the CLI (and later an admin UI) call it, never the storage
// directly, so validation and hashing happen in one place. Errors are
// one clear line meant to be shown to the operator.
package accounts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/faceidp/faceidp/factors/password"
	"github.com/faceidp/faceidp/factors/recovery"
	"github.com/faceidp/faceidp/factors/throttle"
	"github.com/faceidp/faceidp/idp/clientsecret"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// Password policy.
const (
	MinPasswordLength = 8
	MaxPasswordLength = password.MaxLength
)

// Service manages users and clients.
type Service struct {
	store   storage.Storage
	hasher  *password.Hasher
	secrets *clientsecret.Hasher
	clock   func() time.Time
	rand    io.Reader
	// Optional collaborators (With...): fallbacks, throttle state and
	// signing key rotation. An operation that needs a missing one says so.
	recovery   *recovery.Service
	throttle   *throttle.Limiter
	rotateKeys func(context.Context) error
}

// New returns a Service. hasher hashes passwords, secrets generates and
// hashes client secrets (either may be nil for a service that only reads);
// rand makes user IDs; clock stamps records and session revocations.
func New(store storage.Storage, hasher *password.Hasher, secrets *clientsecret.Hasher, clock func() time.Time, rand io.Reader) *Service {
	return &Service{store: store, hasher: hasher, secrets: secrets, clock: clock, rand: rand}
}

var usernameRe = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$`)

// NewUser is the input of CreateUser.
type NewUser struct {
	Username string
	Email    string
	Name     string
	Password string
	// EmailVerified marks the address as verified by the administrator.
	EmailVerified bool
	// RequireFace makes the face factor mandatory for this user's sign-ins
	// (they enrol at the next sign-in if they have no template yet).
	RequireFace bool
	// Admin grants the admin role.
	Admin bool
}

// CreateUser validates and stores a new user with a hashed password.
func (s *Service) CreateUser(ctx context.Context, in NewUser) (*models.User, error) {
	in.Username = strings.TrimSpace(in.Username)
	in.Email = strings.TrimSpace(in.Email)
	in.Name = strings.TrimSpace(in.Name)
	if !usernameRe.MatchString(in.Username) {
		return nil, fmt.Errorf("username %q is invalid: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", in.Username)
	}
	if err := validateEmail(in.Email); err != nil {
		return nil, err
	}
	if utf8.RuneCountInString(in.Name) > 256 {
		return nil, errors.New("name is longer than 256 characters")
	}
	if err := validatePassword(in.Password); err != nil {
		return nil, err
	}
	hash, err := s.hasher.Hash(in.Password)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	id, err := s.newID("u_")
	if err != nil {
		return nil, err
	}
	now := s.clock()
	u := &models.User{
		ID: id, Username: in.Username, Email: in.Email, EmailVerified: in.EmailVerified,
		Name: in.Name, PasswordHash: hash, RequireFace: in.RequireFace, Admin: in.Admin, CreatedAt: now, UpdatedAt: now,
	}
	if err := s.store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, storage.ErrAlreadyExists) {
			return nil, conflictError(fmt.Sprintf("a user with username %q or email %q already exists", in.Username, in.Email))
		}
		return nil, fmt.Errorf("create user %q: %w", in.Username, err)
	}
	if err := s.audit(ctx, now, AuditUserCreate, u.ID, "", map[string]any{
		"username": u.Username, "email_verified": u.EmailVerified, "require_face": u.RequireFace, "admin": u.Admin,
	}); err != nil {
		return u, fmt.Errorf("user %q created, but %w", u.Username, err)
	}
	return u, nil
}

func validateEmail(e string) error {
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || len(e) > 320 || !strings.Contains(e[strings.LastIndexByte(e, '@')+1:], ".") && !strings.HasSuffix(e, "@localhost") {
		return fmt.Errorf("email %q is not a valid address (want name@example.com)", e)
	}
	return nil
}

func validatePassword(pw string) error {
	if n := utf8.RuneCountInString(pw); n < MinPasswordLength {
		return fmt.Errorf("password is too short: %d characters, at least %d required", n, MinPasswordLength)
	}
	if len(pw) > MaxPasswordLength {
		return fmt.Errorf("password is too long: at most %d bytes", MaxPasswordLength)
	}
	return nil
}

// ListUsers returns every user.
func (s *Service) ListUsers(ctx context.Context) ([]models.User, error) {
	users, err := s.store.ListUsers(ctx)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return users, nil
}

// findUser looks a user up by ID, username or email.
func (s *Service) findUser(ctx context.Context, ref string) (*models.User, error) {
	u, err := s.store.GetUserByLogin(ctx, ref)
	if errors.Is(err, storage.ErrNotFound) {
		u, err = s.store.GetUser(ctx, ref)
	}
	if errors.Is(err, storage.ErrNotFound) {
		return nil, notFoundError(fmt.Sprintf("no user with id, username or email %q", ref))
	}
	if err != nil {
		return nil, fmt.Errorf("look up user %q: %w", ref, err)
	}
	return u, nil
}

// DisableUser stops a user from signing in, revokes their sessions and
// deletes their access and refresh tokens (every client); it returns how
// many sessions were revoked.
func (s *Service) DisableUser(ctx context.Context, ref string) (int64, error) {
	u, err := s.findUser(ctx, ref)
	if err != nil {
		return 0, err
	}
	now := s.clock()
	u.Disabled, u.UpdatedAt = true, now
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return 0, fmt.Errorf("disable user %q: %w", u.Username, err)
	}
	n, err := s.signOutEverywhere(ctx, u, now)
	if err != nil {
		return 0, err
	}
	if err := s.audit(ctx, now, AuditUserDisable, u.ID, "", map[string]any{"sessions_revoked": n, "tokens_deleted": true}); err != nil {
		return n, fmt.Errorf("user %q disabled, but %w", u.Username, err)
	}
	return n, nil
}

// signOutEverywhere revokes every session of u and deletes every access and
// refresh token issued to it, so neither the browser nor any relying party
// keeps access; it returns how many sessions were revoked.
func (s *Service) signOutEverywhere(ctx context.Context, u *models.User, now time.Time) (int64, error) {
	n, err := s.store.RevokeUserSessions(ctx, u.ID, now)
	if err != nil {
		return 0, fmt.Errorf("revoke sessions of %q: %w", u.Username, err)
	}
	if err := s.store.DeleteUserTokens(ctx, u.ID); err != nil {
		return n, fmt.Errorf("delete tokens of %q: %w", u.Username, err)
	}
	return n, nil
}

// EnableUser lets a disabled user sign in again and clears every throttle
// counter of the user (password and every second factor, on every known
// device): the administrator vouches for whoever will sign in next. It
// returns how many counters were cleared.
func (s *Service) EnableUser(ctx context.Context, ref string) (int64, error) {
	u, err := s.findUser(ctx, ref)
	if err != nil {
		return 0, err
	}
	now := s.clock()
	if u.Disabled {
		u.Disabled, u.UpdatedAt = false, now
		if err := s.store.UpdateUser(ctx, u); err != nil {
			return 0, fmt.Errorf("enable user %q: %w", u.Username, err)
		}
	}
	n, err := s.store.DeleteUserThrottles(ctx, u.ID, "")
	if err != nil {
		return 0, fmt.Errorf("clear throttles of %q: %w", u.Username, err)
	}
	if err := s.audit(ctx, now, AuditUserEnable, u.ID, "", map[string]any{"throttles_cleared": n}); err != nil {
		return n, fmt.Errorf("user %q enabled, but %w", u.Username, err)
	}
	return n, nil
}

// EnableFace turns face sign-in back on for a user whose face attempts
// were throttled or disabled (after face.disable_after consecutive
// failures): it clears the user's face counter and nothing else. Confirm
// who is asking first: this gives whoever holds the password and the face
// a fresh set of attempts. It reports whether there was anything to clear.
func (s *Service) EnableFace(ctx context.Context, ref string) (bool, error) {
	u, err := s.findUser(ctx, ref)
	if err != nil {
		return false, err
	}
	n, err := s.store.DeleteUserThrottles(ctx, u.ID, throttle.FactorFace)
	if err != nil {
		return false, fmt.Errorf("enable face of %q: %w", u.Username, err)
	}
	if err := s.audit(ctx, s.clock(), AuditUserEnableFace, u.ID, "", map[string]any{"throttles_cleared": n}); err != nil {
		return n > 0, fmt.Errorf("face of %q enabled, but %w", u.Username, err)
	}
	return n > 0, nil
}

// ResetFace deletes a user's face template, the fallback for a user who can
// no longer pass the face step (new glasses, an injury, a lost camera), and
// clears their face throttle (a disabled face is enabled again for the new
// enrolment). The next sign-in that needs face asks them to enrol again
// after the password, so confirm who is asking before resetting. It
// reports whether there was a template to delete.
func (s *Service) ResetFace(ctx context.Context, ref string) (bool, error) {
	u, err := s.findUser(ctx, ref)
	if err != nil {
		return false, err
	}
	n, err := s.store.DeleteUserThrottles(ctx, u.ID, throttle.FactorFace)
	if err != nil {
		return false, fmt.Errorf("clear face throttle of %q: %w", u.Username, err)
	}
	err = s.store.DeleteFaceTemplate(ctx, u.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reset face of %q: %w", u.Username, err)
	}
	if err := s.audit(ctx, s.clock(), AuditUserResetFace, u.ID, "", map[string]any{"throttles_cleared": n}); err != nil {
		return true, fmt.Errorf("face of %q reset, but %w", u.Username, err)
	}
	return true, nil
}

// SetRequireFace makes the face factor mandatory (or no longer mandatory)
// for a user's sign-ins. It reports whether anything changed.
func (s *Service) SetRequireFace(ctx context.Context, ref string, require bool) (bool, error) {
	u, err := s.findUser(ctx, ref)
	if err != nil {
		return false, err
	}
	if u.RequireFace == require {
		return false, nil
	}
	now := s.clock()
	u.RequireFace, u.UpdatedAt = require, now
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return false, fmt.Errorf("set require-face of %q: %w", u.Username, err)
	}
	if err := s.audit(ctx, now, AuditUserRequireFace, u.ID, "", map[string]any{"require_face": require}); err != nil {
		return true, fmt.Errorf("require-face of %q changed, but %w", u.Username, err)
	}
	return true, nil
}

// SetPassword replaces a user's password, clears the user's password
// throttle counters, revokes the user's sessions and deletes their access
// and refresh tokens: whoever knew the old password loses what they
// obtained with it.
func (s *Service) SetPassword(ctx context.Context, ref, pw string) error {
	if err := validatePassword(pw); err != nil {
		return err
	}
	u, err := s.findUser(ctx, ref)
	if err != nil {
		return err
	}
	hash, err := s.hasher.Hash(pw)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	now := s.clock()
	u.PasswordHash, u.UpdatedAt = hash, now
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return fmt.Errorf("set password of %q: %w", u.Username, err)
	}
	if _, err := s.store.DeleteUserThrottles(ctx, u.ID, throttle.FactorPassword); err != nil {
		return fmt.Errorf("clear password throttles of %q: %w", u.Username, err)
	}
	n, err := s.signOutEverywhere(ctx, u, now)
	if err != nil {
		return err
	}
	if err := s.audit(ctx, now, AuditSetPassword, u.ID, "", map[string]any{"sessions_revoked": n, "tokens_deleted": true}); err != nil {
		return fmt.Errorf("password of %q replaced, but %w", u.Username, err)
	}
	return nil
}

// NewClient is the input of CreateClient.
type NewClient struct {
	ID string
	// GenerateSecret makes a confidential client with a generated secret
	// (256 random bits), returned once by CreateClient. Otherwise Secret is
	// an operator-chosen secret, which must be as random
	// (clientsecret.CheckSupplied), or empty for a public client (PKCE
	// required).
	GenerateSecret         bool
	Secret                 string
	Name                   string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	SkipConsent            bool
	RequireFace            bool
	// IDTokenAlg is "RS256" (default) or "ES256".
	IDTokenAlg string
	// Policy overrides the global factor policy (zero: the defaults).
	Policy models.ClientPolicy
	// Service makes a machine client that uses only the client-credentials
	// grant (a generated secret, no redirect URIs), allowed Scopes.
	Service bool
	Scopes  []string
}

var clientIDRe = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._:-]{0,127}$`)

// CreateClient validates and registers a relying party, hashing its
// secret. It returns the generated secret when in.GenerateSecret is set
// (shown to the operator once; only its hash is stored).
func (s *Service) CreateClient(ctx context.Context, in NewClient) (*models.Client, string, error) {
	if !clientIDRe.MatchString(in.ID) {
		return nil, "", fmt.Errorf("client id %q is invalid: use 1-128 letters, digits, '.', '_', ':' or '-'", in.ID)
	}
	if in.Service {
		if len(in.RedirectURIs) > 0 || len(in.PostLogoutRedirectURIs) > 0 {
			return nil, "", errors.New("a service client signs nobody in: it takes no redirect URIs")
		}
		if in.Secret == "" {
			in.GenerateSecret = true
		}
		for _, sc := range in.Scopes {
			if !slices.Contains(serviceScopes, sc) {
				return nil, "", fmt.Errorf("scope %q is not one a service client may be allowed (%s)", sc, strings.Join(serviceScopes, ", "))
			}
		}
	} else if len(in.Scopes) > 0 {
		return nil, "", errors.New("only a service client (--service) is allowed extra scopes")
	}
	if len(in.RedirectURIs) == 0 && !in.Service {
		return nil, "", errors.New("at least one redirect URI is required")
	}
	for _, u := range in.RedirectURIs {
		if err := ValidateRedirectURI(u); err != nil {
			return nil, "", fmt.Errorf("redirect URI: %w", err)
		}
	}
	for _, u := range in.PostLogoutRedirectURIs {
		if err := ValidateRedirectURI(u); err != nil {
			return nil, "", fmt.Errorf("post-logout redirect URI: %w", err)
		}
	}
	switch in.IDTokenAlg {
	case "":
		in.IDTokenAlg = "RS256"
	case "RS256", "ES256":
	default:
		return nil, "", fmt.Errorf("ID token algorithm %q is not RS256 or ES256", in.IDTokenAlg)
	}
	c := &models.Client{
		ID: in.ID, Name: strings.TrimSpace(in.Name),
		RedirectURIs: dedupe(in.RedirectURIs), PostLogoutRedirectURIs: dedupe(in.PostLogoutRedirectURIs),
		SkipConsent: in.SkipConsent, RequireFace: in.RequireFace, IDTokenAlg: in.IDTokenAlg,
		Policy: in.Policy, Service: in.Service, Scopes: dedupe(in.Scopes),
	}
	if err := validateClientPolicy(c); err != nil {
		return nil, "", err
	}
	secret, generated, err := s.clientSecret(in.GenerateSecret, in.Secret)
	if err != nil {
		return nil, "", err
	}
	if secret != "" {
		if c.SecretHash, err = s.secrets.Hash(c.ID, secret); err != nil {
			return nil, "", fmt.Errorf("hash client secret: %w", err)
		}
	}
	now := s.clock()
	c.CreatedAt, c.UpdatedAt = now, now
	if err := s.store.CreateClient(ctx, c); err != nil {
		if errors.Is(err, storage.ErrAlreadyExists) {
			return nil, "", conflictError(fmt.Sprintf("a client with id %q already exists", in.ID))
		}
		return nil, "", fmt.Errorf("create client %q: %w", in.ID, err)
	}
	if err := s.audit(ctx, now, AuditClientCreate, "", c.ID, map[string]any{
		"public": c.Public(), "secret_generated": generated != "", "redirect_uris": c.RedirectURIs, "post_logout_redirect_uris": c.PostLogoutRedirectURIs,
		"skip_consent": c.SkipConsent, "require_face": c.RequireFace, "id_token_alg": c.IDTokenAlg,
		"policy": policyDetails(c.Policy), "service": c.Service, "scopes": c.Scopes,
	}); err != nil {
		return c, generated, fmt.Errorf("client %q created, but %w", c.ID, err)
	}
	return c, generated, nil
}

// clientSecret returns the secret to register and, when it was generated,
// the same value to show once.
func (s *Service) clientSecret(generate bool, supplied string) (secret, generated string, err error) {
	switch {
	case generate && supplied != "":
		return "", "", errors.New("either generate a client secret or supply one, not both")
	case generate:
		if generated, err = s.secrets.Generate(); err != nil {
			return "", "", err
		}
		return generated, generated, nil
	case supplied != "":
		if err := clientsecret.CheckSupplied(supplied); err != nil {
			return "", "", err
		}
		return supplied, "", nil
	}
	return "", "", nil
}

// SetClientSecret gives a confidential client a new secret (generated, or
// supplied as for CreateClient) and returns the generated one. The old
// secret stops working at once; tokens already issued stay valid. Use it
// for a secret that leaked, a legacy operator-chosen one, or one hashed
// under a master key that is about to be removed.
func (s *Service) SetClientSecret(ctx context.Context, id string, generate bool, supplied string) (string, error) {
	if !generate && supplied == "" {
		return "", errors.New("generate a client secret or supply one")
	}
	c, err := s.store.GetClient(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return "", notFoundError(fmt.Sprintf("no client with id %q", id))
	}
	if err != nil {
		return "", fmt.Errorf("look up client %q: %w", id, err)
	}
	if c.Public() {
		return "", fmt.Errorf("client %q is public (PKCE, no secret); register a confidential client instead", id)
	}
	secret, generated, err := s.clientSecret(generate, supplied)
	if err != nil {
		return "", err
	}
	h, err := s.secrets.Hash(c.ID, secret)
	if err != nil {
		return "", fmt.Errorf("hash client secret: %w", err)
	}
	if err := s.store.UpdateClientSecretHash(ctx, c.ID, c.SecretHash, h); err != nil {
		return "", fmt.Errorf("set secret of client %q: %w", id, err)
	}
	if err := s.audit(ctx, s.clock(), AuditClientSecret, "", c.ID, map[string]any{"secret_generated": generated != ""}); err != nil {
		return generated, fmt.Errorf("secret of client %q replaced, but %w", id, err)
	}
	return generated, nil
}

// ValidateRedirectURI accepts absolute URIs without a fragment; plain http
// only for loopback hosts (127.0.0.1, ::1, localhost). Private-use schemes
// (com.example.app:/cb) are allowed for native apps.
func ValidateRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return fmt.Errorf("%q is not an absolute URI", raw)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return fmt.Errorf("%q must not contain a fragment", raw)
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" {
			return fmt.Errorf("%q has no host", raw)
		}
	case "http":
		h := u.Hostname()
		ip := net.ParseIP(h)
		if !strings.EqualFold(h, "localhost") && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("%q uses plain http on a non-loopback host; use https", raw)
		}
	case "javascript", "data", "file", "vbscript":
		return fmt.Errorf("%q uses a forbidden scheme", raw)
	default:
		if !strings.Contains(u.Scheme, ".") {
			return fmt.Errorf("%q: custom schemes must be reverse-domain names like com.example.app", raw)
		}
	}
	return nil
}

func dedupe(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// ListClients returns every registered client.
func (s *Service) ListClients(ctx context.Context) ([]models.Client, error) {
	cs, err := s.store.ListClients(ctx)
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	return cs, nil
}

// RemoveClient deletes a client with its tokens, consents and pending
// sign-ins.
func (s *Service) RemoveClient(ctx context.Context, id string) error {
	err := s.store.DeleteClient(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return notFoundError(fmt.Sprintf("no client with id %q", id))
	}
	if err != nil {
		return fmt.Errorf("remove client %q: %w", id, err)
	}
	if err := s.audit(ctx, s.clock(), AuditClientRemove, "", id, nil); err != nil {
		return fmt.Errorf("client %q removed, but %w", id, err)
	}
	return nil
}

// Audit event types written by the service (outcome "success"). Details
// never hold passwords, secrets or their hashes.
const (
	AuditUserCreate      = "admin.user_create"
	AuditUserDisable     = "admin.user_disable"
	AuditUserEnable      = "admin.user_enable"
	AuditUserRequireFace = "admin.user_require_face"
	AuditUserResetFace   = "admin.user_reset_face"
	AuditUserEnableFace  = "admin.user_enable_face"
	AuditSetPassword     = "admin.set_password"
	AuditClientCreate    = "admin.client_create"
	AuditClientSecret    = "admin.client_secret"
	AuditClientRemove    = "admin.client_remove"
	AuditClientPolicy    = "admin.client_policy"
)

// audit records an administrative act. The act has already happened when
// it is called, so a failure is reported to the operator as such rather
// than undone.
func (s *Service) audit(ctx context.Context, now time.Time, typ, userID, clientID string, details map[string]any) error {
	a := ActorFrom(ctx)
	if a.Name != "" {
		if details == nil {
			details = map[string]any{}
		}
		details["actor"] = a.Name
	}
	e := &models.AuditEvent{Time: now, Type: typ, Outcome: "success", UserID: userID, ClientID: clientID, RemoteIP: a.RemoteIP, Details: details}
	if err := s.store.AppendAudit(ctx, e); err != nil {
		return fmt.Errorf("recording the audit event failed: %w", err)
	}
	return nil
}

func (s *Service) newID(prefix string) (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", fmt.Errorf("generate id: %w", err)
	}
	return prefix + fmt.Sprintf("%x", b), nil
}
