package ccloudsim

import (
	"encoding/base64"
	"net/http"
	"testing"
)

func TestAuthentication(t *testing.T) {
	const wantWWW = `Basic error="invalid_key", error_description="The API Key is invalid"`
	tests := []struct {
		name   string
		target string
		opt    reqOpt
		want   int
	}{
		{"basic ok", "/networking/v1/peerings/p-demo1", withBasic(testKey, testSecret), http.StatusOK},
		{"bearer ok", "/networking/v1/peerings/p-demo1", withAuth("Bearer " + testToken), http.StatusOK},
		{"bearer scheme case-insensitive", "/networking/v1/peerings/p-demo1", withAuth("bearer " + testToken), http.StatusOK},
		{"missing", "/networking/v1/peerings/p-demo1", withAuth(""), http.StatusUnauthorized},
		{"wrong secret", "/networking/v1/peerings/p-demo1", withBasic(testKey, "nope"), http.StatusUnauthorized},
		{"empty secret", "/networking/v1/peerings/p-demo1", withBasic(testKey, ""), http.StatusUnauthorized},
		{"unknown key", "/networking/v1/peerings/p-demo1", withBasic("OTHER", testSecret), http.StatusUnauthorized},
		{"secret as key", "/networking/v1/peerings/p-demo1", withBasic(testSecret, testKey), http.StatusUnauthorized},
		{"garbled basic", "/networking/v1/peerings/p-demo1", withAuth("Basic !!!"), http.StatusUnauthorized},
		{"basic without colon", "/networking/v1/peerings/p-demo1", withAuth("Basic " + base64.StdEncoding.EncodeToString([]byte(testKey))), http.StatusUnauthorized},
		{"wrong token", "/networking/v1/peerings/p-demo1", withAuth("Bearer nope"), http.StatusUnauthorized},
		{"empty bearer", "/networking/v1/peerings/p-demo1", withAuth("Bearer "), http.StatusUnauthorized},
		{"unknown scheme", "/networking/v1/peerings/p-demo1", withAuth("Token " + testToken), http.StatusUnauthorized},
		{"auth before routing", "/nope", withAuth(""), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newSim(t, Options{})
			w := serve(s, http.MethodPatch, tt.target, peeringBody, tt.opt)
			if w.Code != tt.want {
				t.Fatalf("status = %d, want %d; body %s", w.Code, tt.want, w.Body)
			}
			if tt.want != http.StatusUnauthorized {
				return
			}
			if got := w.Header().Get("WWW-Authenticate"); got != wantWWW {
				t.Errorf("WWW-Authenticate = %q, want %q", got, wantWWW)
			}
			if env := envelopeOf(t, w); env.Errors[0].Code != "user_unauthenticated" || env.Errors[0].Status != "401" {
				t.Errorf("envelope = %+v, want status 401 code user_unauthenticated", env.Errors[0])
			}
		})
	}
}

func TestSetCredentialsReplaces(t *testing.T) {
	s, _ := newSim(t, Options{})
	s.SetCredentials(map[string]string{"NEW": "pw"}, nil)
	if w := serve(s, http.MethodPatch, "/networking/v1/peerings/p-demo1", peeringBody); w.Code != http.StatusUnauthorized {
		t.Errorf("old key: status %d, want 401", w.Code)
	}
	if w := serve(s, http.MethodPatch, "/networking/v1/peerings/p-demo1", peeringBody, withAuth("Bearer "+testToken)); w.Code != http.StatusUnauthorized {
		t.Errorf("old token: status %d, want 401", w.Code)
	}
	if w := serve(s, http.MethodPatch, "/networking/v1/peerings/p-demo1", peeringBody, withBasic("NEW", "pw")); w.Code != http.StatusOK {
		t.Errorf("new key: status %d, want 200", w.Code)
	}
}

func TestTokenLabel(t *testing.T) {
	tests := []struct{ tok, want string }{
		{"abcdefghijklmnop", "bearer:abcd…"},
		{"abcdefghijkl", "bearer:abcd…"},
		{"short", "bearer:…"},
		{"abcdefghijk", "bearer:…"},
	}
	for _, tt := range tests {
		if got := tokenLabel(tt.tok); got != tt.want {
			t.Errorf("tokenLabel(%q) = %q, want %q", tt.tok, got, tt.want)
		}
	}
}
