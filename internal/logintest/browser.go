// Package logintest holds helpers for tests that drive the hosted login
// over HTTP as a browser would.
package logintest

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
)

// NewBrowser is a client with a cookie jar that follows redirects within
// the provider at issuer and stops at the first redirect that leaves it
// (the relying party's redirect_uri or post_logout_redirect_uri).
func NewBrowser(issuer string) *http.Client {
	jar, _ := cookiejar.New(nil)
	iss, _ := url.Parse(issuer)
	return &http.Client{
		Jar: jar,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Host != iss.Host {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
}
