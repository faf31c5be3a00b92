package idp

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/faceidp/faceidp/factors/password"
	"github.com/faceidp/faceidp/idp/clientsecret"
	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// Client authentication at the token, introspection and revocation
// endpoints. It runs in faceidp's own handlers before op sees the request,
// so every refusal is answered here, with the right status and nothing
// logged per request, and op's later AuthorizeClientIDSecret and
// GetClientByClientID calls are answered from the request state:
//
//  1. Past ClientAuthFailuresPerIP failures from the address in the last
//     minute, a request with a secret gets 429, before any database read.
//  2. The client is read (one indexed read, reused by op).
//  3. A generated secret is checked with an HMAC (microseconds). A legacy
//     argon2id hash is checked only under ClientAuthFailuresPerClient
//     failures for the client (429 past it) and under the process-wide
//     argon2id gate (503 with Retry-After when it is full).
//  4. A failure counts against the address and the client; a success with
//     a legacy hash, or one made under an older master key, is rehashed.
//
// The per-client limit guards only the expensive legacy hashes: a
// generated secret cannot be guessed, so refusing its right answer would
// only let anyone who knows a client_id lock the client out.

// authRefusal is a client authentication that did not succeed.
type authRefusal struct {
	status     int
	err        *oidc.Error
	retryAfter time.Duration
}

// Client authentication outcomes (metric labels).
const (
	authOK          = "success"
	authFailed      = "failure"
	authRateLimited = "rate_limited"
	authBusy        = "busy"
	authUnavailable = "unavailable"
)

var errUnknownClient = errors.New("unknown client")

func refusedInvalidClient(desc string) *authRefusal {
	return &authRefusal{status: http.StatusUnauthorized, err: oidc.ErrInvalidClient().WithDescription("%s", desc)}
}

func refusedUnavailable() *authRefusal {
	return &authRefusal{status: http.StatusServiceUnavailable, retryAfter: 5 * time.Second,
		err: &oidc.Error{ErrorType: "temporarily_unavailable", Description: "the service is temporarily unavailable; retry later"}}
}

// clientCredentials reads client_id and client_secret from the Basic
// header (form-urlencoded inside, RFC 6749 §2.3.1) or the form body. Using
// both, or a client assertion (private_key_jwt is not offered), is refused.
func clientCredentials(r *http.Request) (id, secret string, refusal *authRefusal) {
	if r.Form.Get("client_assertion") != "" || r.Form.Get("client_assertion_type") != "" {
		return "", "", refusedInvalidClient("client assertions (private_key_jwt) are not supported; use client_secret_basic or client_secret_post")
	}
	bid, bsecret, basic := r.BasicAuth()
	fid, fsecret := r.Form.Get("client_id"), r.Form.Get("client_secret")
	if !basic {
		return fid, fsecret, nil
	}
	if fsecret != "" || (fid != "" && fid != mustUnescape(bid)) {
		return "", "", &authRefusal{status: http.StatusBadRequest, err: oidc.ErrInvalidRequest().WithDescription("use one client authentication method")}
	}
	var err1, err2 error
	id, err1 = url.QueryUnescape(bid)
	secret, err2 = url.QueryUnescape(bsecret)
	if err1 != nil || err2 != nil {
		return "", "", refusedInvalidClient("malformed Basic authorization header")
	}
	return id, secret, nil
}

func mustUnescape(s string) string {
	u, err := url.QueryUnescape(s)
	if err != nil {
		return s
	}
	return u
}

// authenticateClient checks clientID and secret (empty for a public
// client) and returns the client, or why not. confidentialOnly refuses
// public clients (introspection).
func (s *Server) authenticateClient(ctx context.Context, clientID, secret string, confidentialOnly bool) (*models.Client, *authRefusal) {
	if clientID == "" {
		return nil, refusedInvalidClient("client authentication is required")
	}
	ip := stateFrom(ctx).remoteIP
	ipKey, clientKey := "clientauth:ip:"+ip, "clientauth:client:"+hashToken(clientID)
	// Only a request that presents a secret can guess one or cost a hash;
	// a public client's request (client_id alone) is never refused here,
	// so a flood of wrong secrets from an address shared with real users
	// (NAT) does not stop their public-client sign-ins.
	if secret != "" && s.limitReached(ctx, s.authIPLimit, ipKey) {
		return nil, s.authRateLimited(ctx)
	}
	c, err := s.client(ctx, clientID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, s.authFailed(ctx, nil, clientID, ipKey, clientKey, errUnknownClient)
	case err != nil:
		s.storageUnavailable(ctx, err)
		s.metrics.clientAuth.WithLabelValues(authUnavailable).Inc()
		return nil, refusedUnavailable()
	}
	if c.Public() {
		if secret != "" || confidentialOnly {
			return nil, s.authFailed(ctx, c, clientID, ipKey, clientKey, errors.New("public client cannot authenticate with a secret"))
		}
		return c, nil
	}
	if secret == "" {
		return nil, s.authFailed(ctx, c, clientID, ipKey, clientKey, errors.New("no client secret"))
	}
	if clientsecret.Legacy(c.SecretHash) && s.limitReached(ctx, s.authClientLimit, clientKey) {
		return nil, s.authRateLimited(ctx)
	}
	ok, rehash, err := s.secrets.Verify(c.ID, c.SecretHash, secret)
	switch {
	case errors.Is(err, password.ErrBusy):
		s.metrics.clientAuth.WithLabelValues(authBusy).Inc()
		return nil, &authRefusal{status: http.StatusServiceUnavailable, retryAfter: time.Second,
			err: &oidc.Error{ErrorType: "temporarily_unavailable", Description: "too many authentications in progress; retry in a second"}}
	case err != nil:
		// A hash under a master key that is no longer configured, or
		// corrupted: the secret cannot be checked, which the client cannot
		// fix by retrying. Logged, since an operator must act.
		s.log.ErrorContext(ctx, "client secret hash cannot be verified", "client_id", c.ID, "scheme", clientsecret.Describe(c.SecretHash), "err", err)
		return nil, s.authFailed(ctx, c, clientID, ipKey, clientKey, errors.New("secret hash cannot be verified"))
	case !ok:
		return nil, s.authFailed(ctx, c, clientID, ipKey, clientKey, errors.New("wrong client secret"))
	}
	if rehash {
		s.rehashClientSecret(ctx, c, secret)
	}
	s.metrics.clientAuth.WithLabelValues(authOK).Inc()
	return c, nil
}

// authFailed counts a failed authentication against the address and the
// client and audits it while the client is under its limit (so a flood
// writes a bounded number of rows). Unknown clients are not audited: they
// name no account, and anyone can invent client_ids.
func (s *Server) authFailed(ctx context.Context, c *models.Client, clientID, ipKey, clientKey string, reason error) *authRefusal {
	s.metrics.clientAuth.WithLabelValues(authFailed).Inc()
	s.count(ctx, s.authIPLimit, ipKey)
	clientReached := s.count(ctx, s.authClientLimit, clientKey)
	if c != nil && !clientReached {
		s.audit(ctx, "client.auth", "failure", "", clientID, reason.Error(), nil)
	}
	return refusedInvalidClient("client authentication failed")
}

func (s *Server) authRateLimited(ctx context.Context) *authRefusal {
	s.metrics.clientAuth.WithLabelValues(authRateLimited).Inc()
	return &authRefusal{status: http.StatusTooManyRequests, retryAfter: time.Minute,
		err: &oidc.Error{ErrorType: "slow_down", Description: "too many failed client authentications; retry later"}}
}

// rehashClientSecret replaces a legacy argon2id hash (or an HMAC under an
// older master key) after the secret was verified; a concurrent change by
// an administrator wins.
func (s *Server) rehashClientSecret(ctx context.Context, c *models.Client, secret string) {
	h, err := s.secrets.Hash(c.ID, secret)
	if err != nil {
		s.log.ErrorContext(ctx, "rehash client secret", "client_id", c.ID, "err", err)
		return
	}
	err = s.store.UpdateClientSecretHash(ctx, c.ID, c.SecretHash, h)
	switch {
	case err == nil:
		s.audit(ctx, "client.secret_rehash", "success", "", c.ID, "stored hash replaced by "+clientsecret.Describe(h), map[string]any{"from": clientsecret.Describe(c.SecretHash)})
		updated := *c // cached records are shared: replace, never modify
		updated.SecretHash = h
		s.clients.put(&updated, s.clock())
	case errors.Is(err, storage.ErrStale), errors.Is(err, storage.ErrNotFound):
	default:
		s.storageUnavailable(ctx, err)
	}
}

// clientFromRequest authenticates the client of a token, introspection or
// revocation request, records it in the request state for op, and writes
// the refusal itself when there is one.
func (s *Server) clientFromRequest(w http.ResponseWriter, r *http.Request, confidentialOnly bool) bool {
	ctx := r.Context()
	id, secret, refusal := clientCredentials(r)
	var c *models.Client
	if refusal == nil {
		c, refusal = s.authenticateClient(ctx, id, secret, confidentialOnly)
	}
	if refusal != nil {
		s.refuse(w, r, refusal)
		return false
	}
	st := stateFrom(ctx)
	st.client, st.clientSecret, st.clientAuthenticated = c, secret, !c.Public()
	st.alg = idTokenAlg(c)
	return true
}

// authenticatedInRequest reports whether clientID authenticated with
// secret earlier in this request (clientFromRequest).
func authenticatedInRequest(ctx context.Context, clientID, secret string) bool {
	st := stateFrom(ctx)
	return st.client != nil && st.clientAuthenticated && st.client.ID == clientID &&
		subtle.ConstantTimeCompare([]byte(st.clientSecret), []byte(secret)) == 1
}

// refuse writes an OAuth error response (RFC 6749 §5.2). A rate-limited
// refusal is held for up to RefusalDelay first, bounded in how many are
// held at once, so a client that ignores Retry-After slows itself down.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, ref *authRefusal) {
	if ref.status == http.StatusTooManyRequests {
		s.holdRefusal(r.Context(), min(s.opts.RefusalDelay, ref.retryAfter))
	}
	h := w.Header()
	noStore(h)
	if ref.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((ref.retryAfter+time.Second-1)/time.Second)))
	}
	if ref.status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Basic realm="`+s.issuer+`"`)
	}
	writeJSON(w, ref.status, ref.err)
}

// maxHeldRefusals bounds the refusals held at once: each is a parked
// goroutine and a connection's buffers, a few KB.
const maxHeldRefusals = 1024

func (s *Server) holdRefusal(ctx context.Context, d time.Duration) {
	select {
	case s.held <- struct{}{}:
	default:
		return // too many held already: answer at once
	}
	defer func() { <-s.held }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
