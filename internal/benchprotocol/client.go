package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// loopbackTransport dials 127.0.0.1 whatever the host name (the example
// server's issuer is http://localhost:PORT/), so nothing leaves loopback.
func loopbackTransport(maxConns int) *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			return d.DialContext(ctx, "tcp4", net.JoinHostPort("127.0.0.1", port))
		},
		MaxIdleConns:        maxConns * 2,
		MaxIdleConnsPerHost: maxConns * 2,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
}

// loopbackClient does not follow redirects (t may be nil: a fresh one).
func loopbackClient(t *http.Transport) *http.Client {
	if t == nil {
		t = loopbackTransport(4)
	}
	return &http.Client{
		Transport:     t,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// browser follows redirects with a cookie jar and stops at the relying
// party's redirect_uri.
func browser(t *http.Transport) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Transport: t,
		Jar:       jar,
		Timeout:   30 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), redirectURI) || len(via) > 10 {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
}

func randString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Error        string `json:"error"`
}

var (
	formRe  = regexp.MustCompile(`(?s)<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>`)
	inputRe = regexp.MustCompile(`<input([^>]*)>`)
	attrRe  = regexp.MustCompile(`(\w+)="([^"]*)"`)
)

// signIn runs a whole authorization code flow as a browser would: the
// authorize request, the login form, the redirect back with the code and
// the code exchange (client_secret_basic for a confidential client, the
// PKCE verifier alone for a public one).
func signIn(ctx context.Context, s *server, t *http.Transport, confidential bool) (*tokens, error) {
	clientID := s.publicClient
	if confidential {
		clientID = s.clientID
	}
	verifier := randString()
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"client_id": {clientID}, "redirect_uri": {redirectURI}, "response_type": {"code"},
		"scope": {"openid profile email offline_access"}, "state": {randString()}, "nonce": {randString()},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	b := browser(t)
	resp, err := get(ctx, b, s.url(s.authorizePath+"?"+q.Encode()))
	if err != nil {
		return nil, fmt.Errorf("authorize: %w", err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := formRe.FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		return nil, fmt.Errorf("authorize: %d at %s, no login form", resp.StatusCode, resp.Request.URL)
	}
	form := url.Values{}
	for _, in := range inputRe.FindAllSubmatch(m[2], -1) {
		attrs := map[string]string{}
		for _, a := range attrRe.FindAllSubmatch(in[1], -1) {
			attrs[string(a[1])] = html.UnescapeString(string(a[2]))
		}
		if attrs["name"] != "" {
			form.Set(attrs["name"], attrs["value"])
		}
	}
	form.Set("username", s.username)
	form.Set("password", s.password)
	action, err := resp.Request.URL.Parse(html.UnescapeString(string(m[1])))
	if err != nil {
		return nil, err
	}
	resp, err = postForm(ctx, b, action.String(), form, "", "")
	if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode/100 != 3 || loc.Query().Get("code") == "" {
		return nil, fmt.Errorf("login: %d at %s, Location %q: no code", resp.StatusCode, resp.Request.URL, resp.Header.Get("Location"))
	}
	ex := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}}
	id, secret := s.clientID, s.clientSecret
	if !confidential {
		ex.Set("client_id", clientID)
		id, secret = "", ""
	}
	resp, err = postForm(ctx, loopbackClient(t), s.url("/oauth/token"), ex, id, secret)
	if err != nil {
		return nil, fmt.Errorf("code exchange: %w", err)
	}
	defer resp.Body.Close()
	var tok tokens
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		return nil, fmt.Errorf("code exchange: %d %s", resp.StatusCode, tok.Error)
	}
	return &tok, nil
}

func get(ctx context.Context, c *http.Client, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return c.Do(req)
}

func postForm(ctx context.Context, c *http.Client, u string, v url.Values, id, secret string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(v.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	return c.Do(req)
}
