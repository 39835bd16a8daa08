package outbound_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/outbound"
)

// fakeResolver answers every name with addrs.
type fakeResolver struct{ addrs []netip.Addr }

func (f fakeResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return f.addrs, nil
}

func TestAddrAllowed(t *testing.T) {
	strict := outbound.Policy{}
	for addr, ok := range map[string]bool{
		"93.184.216.34": true, "2606:2800:220:1::1": true,
		"127.0.0.1": false, "::1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false,
		"169.254.169.254": false, "fe80::1": false, "fc00::1": false, "0.0.0.0": false, "::": false,
		"100.64.0.1": false, "::ffff:127.0.0.1": false, "::ffff:10.0.0.1": false, "224.0.0.1": false,
		"64:ff9b::a00:1": false, "255.255.255.255": false,
	} {
		if got := strict.AddrAllowed(netip.MustParseAddr(addr)); got != ok {
			t.Errorf("AddrAllowed(%s) = %v, want %v", addr, got, ok)
		}
	}
	dev := outbound.Policy{AllowPrivate: true}
	if !dev.AddrAllowed(netip.MustParseAddr("127.0.0.1")) || dev.AddrAllowed(netip.MustParseAddr("0.0.0.0")) {
		t.Error("AllowPrivate: loopback must pass, unspecified must not")
	}
}

func TestHostAllowed(t *testing.T) {
	p := outbound.Policy{AllowedHosts: []string{"hooks.example.com", "*.atlassian.net"}}
	for host, ok := range map[string]bool{
		"hooks.example.com": true, "HOOKS.example.com.": true, "acme.atlassian.net": true,
		"atlassian.net": false, "evil-atlassian.net": false, "hooks.example.com.evil.net": false,
		"example.com": false, "": false,
	} {
		if got := p.HostAllowed(host); got != ok {
			t.Errorf("HostAllowed(%q) = %v, want %v", host, got, ok)
		}
	}
	if _, err := outbound.ParseHosts("a.example.com, *.b.example.com"); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"*", "https://a.example.com", "a.example.com/x", "*.*.x", "u@a.example.com"} {
		if _, err := outbound.ParseHosts(bad); err == nil {
			t.Errorf("ParseHosts(%q) accepted", bad)
		}
	}
}

// server counts the requests that reach it.
func server(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s, &n
}

func TestClientRefusesAndSendsNothing(t *testing.T) {
	ok := func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }
	srv, hits := server(t, ok)
	u, _ := url.Parse(srv.URL)
	port := u.Port()
	cases := []struct {
		name   string
		policy outbound.Policy
		url    string
		res    outbound.Resolver
	}{
		{"loopback without AllowPrivate", outbound.Policy{AllowedHosts: []string{"127.0.0.1"}, AllowHTTP: true}, srv.URL, nil},
		{"host off the allowlist", outbound.Policy{AllowedHosts: []string{"hooks.example.com"}, AllowHTTP: true, AllowPrivate: true}, srv.URL, nil},
		{"plain http", outbound.Policy{AllowedHosts: []string{"127.0.0.1"}, AllowPrivate: true}, srv.URL, nil},
		{"name resolving to a private address", outbound.Policy{AllowedHosts: []string{"hooks.example.com"}, AllowHTTP: true},
			"http://hooks.example.com:" + port + "/", fakeResolver{[]netip.Addr{netip.MustParseAddr("127.0.0.1")}}},
		{"one private answer among public ones", outbound.Policy{AllowedHosts: []string{"hooks.example.com"}, AllowHTTP: true},
			"http://hooks.example.com:" + port + "/", fakeResolver{[]netip.Addr{netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("10.0.0.1")}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			client := outbound.NewClient(c.policy, 2*time.Second, c.res)
			resp, err := client.Post(c.url, "application/json", strings.NewReader("{}"))
			if err == nil {
				resp.Body.Close()
				t.Fatal("request allowed")
			}
			if !errors.Is(err, outbound.ErrNotAllowed) {
				t.Errorf("error %v, want ErrNotAllowed", err)
			}
		})
	}
	if hits.Load() != 0 {
		t.Errorf("%d requests reached the server", hits.Load())
	}
	// The same server is reachable when allowed (development policy).
	client := outbound.NewClient(outbound.Policy{AllowedHosts: []string{"127.0.0.1"}, AllowHTTP: true, AllowPrivate: true}, 2*time.Second, nil)
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if hits.Load() != 1 {
		t.Errorf("allowed request did not arrive")
	}
}

func TestClientDoesNotFollowRedirects(t *testing.T) {
	target, hits := server(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })
	redirector, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
	})
	client := outbound.NewClient(outbound.Policy{AllowedHosts: []string{"127.0.0.1"}, AllowHTTP: true, AllowPrivate: true}, 2*time.Second, nil)
	resp, err := client.Post(redirector.URL, "application/json", strings.NewReader("{}"))
	if err == nil {
		resp.Body.Close()
		t.Fatal("redirect followed")
	}
	if !errors.Is(err, outbound.ErrNotAllowed) || hits.Load() != 0 {
		t.Errorf("err %v, hits %d", err, hits.Load())
	}
}
