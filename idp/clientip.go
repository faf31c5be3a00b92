package idp

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"

	"github.com/realclientip/realclientip-go"
)

// Client address headers a trusted proxy may set (Options.ClientIPHeader).
const (
	HeaderXForwardedFor = "X-Forwarded-For"
	HeaderForwarded     = "Forwarded" // RFC 7239
)

// clientIPResolver finds the address of the client a request came from,
// for rate limits, throttles and audit events. The TCP peer is the client
// unless it is one of the trusted proxies: only then is the configured
// header believed, read right to left past every hop in the trusted ranges
// (the entries a client writes itself are to the left of what the proxies
// append, so they are never reached while a trusted hop vouches for the
// next). Only one header is read, the one the proxy sets: a proxy that
// appends to X-Forwarded-For passes a client's own Forwarded header
// through unchanged, so believing both would believe the client.
type clientIPResolver struct {
	trusted []netip.Prefix
	header  realclientip.Strategy
}

func newClientIPResolver(trusted []netip.Prefix, header string) (*clientIPResolver, error) {
	if header == "" {
		header = HeaderXForwardedFor
	}
	if len(trusted) == 0 {
		return &clientIPResolver{}, nil
	}
	nets := make([]net.IPNet, 0, len(trusted))
	for _, p := range trusted {
		p = p.Masked()
		nets = append(nets, net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())})
	}
	strat, err := realclientip.NewRightmostTrustedRangeStrategy(header, nets)
	if err != nil {
		return nil, fmt.Errorf("ClientIPHeader %q: %w", header, err)
	}
	return &clientIPResolver{trusted: trusted, header: strat}, nil
}

// clientIP is the client's address (no port).
func (c *clientIPResolver) clientIP(r *http.Request) string {
	peer, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		peer = r.RemoteAddr
	}
	if len(c.trusted) == 0 {
		return peer
	}
	addr, err := netip.ParseAddr(peer)
	if err != nil || !c.isTrusted(addr.Unmap()) {
		return peer
	}
	// Empty when the header is missing or malformed or names only trusted
	// hops: the proxy itself is then the best-known client.
	if ip := c.header.ClientIP(r.Header, r.RemoteAddr); ip != "" {
		return ip
	}
	return peer
}

func (c *clientIPResolver) isTrusted(a netip.Addr) bool {
	for _, p := range c.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ParseTrustedProxies parses a list of CIDR ranges or single addresses.
func ParseTrustedProxies(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("%q is not an address or CIDR range (e.g. 10.0.0.0/8, 192.0.2.10, fd00::/8)", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
