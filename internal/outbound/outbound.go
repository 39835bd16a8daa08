// Package outbound is the only way Patchbay's notifier reaches the network:
// an HTTP client that sends only to hosts on the operator's allowlist,
// resolves the host itself, refuses loopback, private, link-local and other
// special addresses (unless explicitly allowed), then dials exactly the
// address it checked, and never follows a redirect.
package outbound

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrNotAllowed is a request the policy refuses; nothing was sent.
var ErrNotAllowed = errors.New("outbound: destination not allowed")

// refusal is an ErrNotAllowed with the reason, and the short code the
// delivery status shows.
type refusal struct{ reason string }

func (r *refusal) Error() string     { return "outbound: destination not allowed: " + r.reason }
func (r *refusal) Is(t error) bool   { return t == ErrNotAllowed }
func (r *refusal) ErrorCode() string { return "destination_not_allowed" }

func refuse(format string, args ...any) error { return &refusal{reason: fmt.Sprintf(format, args...)} }

// Policy says where the notifier may send.
type Policy struct {
	// AllowedHosts are host names ("hooks.example.com") or wildcard
	// suffixes ("*.atlassian.net"), compared case-insensitively.
	AllowedHosts []string
	// AllowPrivate permits loopback, private and link-local addresses
	// (development and tests only).
	AllowPrivate bool
	// AllowHTTP permits plain http:// URLs (development and tests only).
	AllowHTTP bool
}

// ParseHosts splits a comma-separated allowlist and checks each entry.
func ParseHosts(s string) ([]string, error) {
	var out []string
	for _, h := range strings.Split(s, ",") {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			continue
		}
		name := strings.TrimPrefix(h, "*.")
		if name == "" || strings.ContainsAny(name, "*/:@ ?#") || strings.HasPrefix(name, ".") {
			return nil, fmt.Errorf("%q is not a host name or *.suffix", h)
		}
		out = append(out, h)
	}
	return out, nil
}

// HostAllowed reports whether host is on the allowlist.
func (p Policy) HostAllowed(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" {
		return false
	}
	for _, a := range p.AllowedHosts {
		if suffix, ok := strings.CutPrefix(a, "*."); ok {
			if strings.HasSuffix(host, "."+suffix) {
				return true
			}
		} else if host == a {
			return true
		}
	}
	return false
}

// CheckURL refuses a URL the policy does not allow (scheme, credentials,
// host); it does not resolve anything.
func (p Policy) CheckURL(u *url.URL) error {
	switch {
	case u == nil:
		return refuse("no URL")
	case u.Scheme != "https" && !(u.Scheme == "http" && p.AllowHTTP):
		return refuse("scheme %q (https only)", u.Scheme)
	case u.User != nil:
		return refuse("credentials in the URL")
	case !p.HostAllowed(u.Hostname()):
		return refuse("host %q is not on the allowlist", u.Hostname())
	}
	return nil
}

// AddrAllowed reports whether an IP address may be dialled.
func (p Policy) AddrAllowed(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsUnspecified() || a.IsMulticast() || a.IsInterfaceLocalMulticast() {
		return false
	}
	if p.AllowPrivate {
		return true
	}
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() {
		return false
	}
	for _, pfx := range specialPrefixes {
		if pfx.Contains(a) {
			return false
		}
	}
	return true
}

// specialPrefixes are non-public ranges the netip predicates do not cover.
var specialPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // this network
	netip.MustParsePrefix("100.64.0.0/10"),  // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved, broadcast
	netip.MustParsePrefix("64:ff9b::/96"),   // NAT64 (could reach private IPv4)
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64
	netip.MustParsePrefix("2002::/16"),      // 6to4 (embeds IPv4)
	netip.MustParsePrefix("fec0::/10"),      // deprecated site-local
}

// Resolver resolves host names (net.DefaultResolver in production).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// NewClient returns an HTTP client that enforces p. timeout bounds each
// request; the resolver may be nil (net.DefaultResolver).
func NewClient(p Policy, timeout time.Duration, r Resolver) *http.Client {
	if r == nil {
		r = net.DefaultResolver
	}
	dialer := &net.Dialer{
		Timeout: 10 * time.Second,
		// The last word: whatever got here, the socket's address is checked.
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !p.AddrAllowed(ap.Addr()) {
				return refuse("address %s", address)
			}
			return nil
		},
	}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, refuse("address %q", addr)
			}
			if !p.HostAllowed(host) {
				return nil, refuse("host %q is not on the allowlist", host)
			}
			addrs, err := resolve(ctx, r, host)
			if err != nil {
				return nil, err
			}
			for _, a := range addrs {
				if !p.AddrAllowed(a) {
					// One bad answer refuses the host: no DNS games.
					return nil, refuse("host %q resolves to %s", host, a)
				}
			}
			var last error
			for _, a := range addrs {
				c, err := dialer.DialContext(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
				if err == nil {
					return c, nil
				}
				last = err
			}
			return nil, last
		},
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
	}
	return &http.Client{
		Transport: &guard{policy: p, next: tr},
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return refuse("redirect")
		},
	}
}

// resolve returns the addresses of host (an IP literal is itself).
func resolve(ctx context.Context, r Resolver, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("outbound: resolve %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("outbound: resolve %s: no addresses", host)
	}
	return addrs, nil
}

// guard checks every request's URL before it reaches the transport.
type guard struct {
	policy Policy
	next   http.RoundTripper
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := g.policy.CheckURL(req.URL); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	return g.next.RoundTrip(req)
}
