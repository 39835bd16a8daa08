package intake_test

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/intake"
)

func TestParseTrustedProxies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec    string
		want    []string
		wantErr bool
	}{
		{spec: "", want: nil},
		{spec: "10.0.0.0/8", want: []string{"10.0.0.0/8"}},
		{spec: " 10.1.2.3/8 , 192.0.2.7, ::1 ", want: []string{"10.0.0.0/8", "192.0.2.7/32", "::1/128"}},
		{spec: "::ffff:10.0.0.0/104", want: []string{"10.0.0.0/8"}},
		{spec: "2001:db8::/32", want: []string{"2001:db8::/32"}},
		{spec: "10.0.0.0/33", wantErr: true},
		{spec: "proxy.example.com", wantErr: true},
		{spec: "10.0.0.0/8,nope", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			t.Parallel()
			got, err := intake.ParseTrustedProxies(tt.spec)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseTrustedProxies(%q) = %v, want an error", tt.spec, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var s []string
			for _, p := range got {
				s = append(s, p.String())
			}
			if strings.Join(s, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("ParseTrustedProxies(%q) = %v, want %v", tt.spec, s, tt.want)
			}
		})
	}
}

func TestAuditTrail(t *testing.T) {
	t.Parallel()
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.1/32")}
	b := newBundle(t, intake.Config{TrustedProxies: proxies})
	tests := []struct {
		name        string
		remote      string
		headers     map[string][]string
		wantStatus  int
		wantParam   string
		wantAddress string
		wantReason  string
		wantTicket  string
	}{
		{name: "untrusted peer, forwarded header ignored", remote: "203.0.113.9:5555",
			headers: map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, wantAddress: "203.0.113.9"},
		{name: "trusted proxy names the client", remote: "10.1.2.3:5555",
			headers: map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, wantAddress: "198.51.100.1"},
		{name: "chain of trusted proxies", remote: "10.1.2.3:5555",
			headers: map[string][]string{"X-Forwarded-For": {"198.51.100.1, 192.0.2.1", "10.9.9.9"}}, wantAddress: "198.51.100.1"},
		{name: "spoofed left-most entry is not believed", remote: "10.1.2.3:5555",
			headers: map[string][]string{"X-Forwarded-For": {"1.2.3.4, 198.51.100.1"}}, wantAddress: "198.51.100.1"},
		{name: "malformed hop stops the walk", remote: "10.1.2.3:5555",
			headers: map[string][]string{"X-Forwarded-For": {"198.51.100.1, garbage, 10.9.9.9"}}, wantAddress: "10.9.9.9"},
		{name: "trusted proxy without the header", remote: "10.1.2.3:5555", wantAddress: "10.1.2.3"},
		{name: "IPv6 peer", remote: "[2001:db8::1]:5555", wantAddress: "2001:db8::1"},
		{name: "reason and ticket", remote: "203.0.113.9:1", headers: map[string][]string{
			"X-Patchbay-Reason": {"Rename for the migration — approved by Zoë"}, "X-Patchbay-Ticket": {"OPS-1234"}},
			wantAddress: "203.0.113.9", wantReason: "Rename for the migration — approved by Zoë", wantTicket: "OPS-1234"},
		{name: "reason of exactly 512 characters", remote: "203.0.113.9:1", headers: map[string][]string{
			"X-Patchbay-Reason": {strings.Repeat("é", 512)}}, wantAddress: "203.0.113.9", wantReason: strings.Repeat("é", 512)},
		{name: "reason URL credentials are masked", remote: "203.0.113.9:1", headers: map[string][]string{
			"X-Patchbay-Reason": {"see https://bob:pw@wiki.example.com/x?token=abc"}}, wantAddress: "203.0.113.9",
			wantReason: "see https://%5BREDACTED%5D@wiki.example.com/x?[REDACTED]"},
		{name: "reason too long", headers: map[string][]string{"X-Patchbay-Reason": {strings.Repeat("r", 513)}},
			wantStatus: 400, wantParam: "X-Patchbay-Reason"},
		{name: "reason with a tab", headers: map[string][]string{"X-Patchbay-Reason": {"a\tb"}}, wantStatus: 400, wantParam: "X-Patchbay-Reason"},
		{name: "reason not UTF-8", headers: map[string][]string{"X-Patchbay-Reason": {"caf\xe9"}}, wantStatus: 400, wantParam: "X-Patchbay-Reason"},
		{name: "reason twice", headers: map[string][]string{"X-Patchbay-Reason": {"a", "b"}}, wantStatus: 400, wantParam: "X-Patchbay-Reason"},
		{name: "ticket too long", headers: map[string][]string{"X-Patchbay-Ticket": {strings.Repeat("t", 129)}}, wantStatus: 400, wantParam: "X-Patchbay-Ticket"},
		{name: "ticket with a newline escape", headers: map[string][]string{"X-Patchbay-Ticket": {"OPS-1\u2028x"}}, wantStatus: 400, wantParam: "X-Patchbay-Ticket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := patchRequest(strings.NewReader(peeringBody), "application/json", jiraToken)
			if tt.remote != "" {
				req.RemoteAddr = tt.remote
			}
			for k, vs := range tt.headers {
				req.Header[http.CanonicalHeaderKey(k)] = vs
			}
			rec := b.do(t, req)
			want := tt.wantStatus
			if want == 0 {
				want = http.StatusAccepted
			}
			if rec.Code != want {
				t.Fatalf("status = %d, want %d: %s", rec.Code, want, rec.Body)
			}
			if want != http.StatusAccepted {
				if e := envelope(t, rec); e.Source == nil || e.Source.Parameter != tt.wantParam {
					t.Fatalf("source = %+v, want parameter %s", e.Source, tt.wantParam)
				}
				return
			}
			var got change.Record
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if got.ClientAddress != tt.wantAddress || got.Reason != tt.wantReason || got.Ticket != tt.wantTicket {
				t.Fatalf("audit = %q %q %q, want %q %q %q", got.ClientAddress, got.Reason, got.Ticket, tt.wantAddress, tt.wantReason, tt.wantTicket)
			}
			// The stored record carries them too.
			stored, _, err := b.records.Get(t.Context(), got.ID)
			if err != nil || stored.ClientAddress != got.ClientAddress || stored.Reason != got.Reason || stored.Ticket != got.Ticket {
				t.Fatalf("stored audit = %+v, %v", stored, err)
			}
		})
	}
}
