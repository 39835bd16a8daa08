package ccloud

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// FuzzRequestTarget pins the guarantee that the worker only ever calls
// CCLOUD_API_URL with one of the two operation paths: whatever the
// operation name and id, newRequest either refuses (nothing is sent) or
// builds PATCH <base>/networking/v1/peerings/<id> or
// <base>/notifications/v1/integrations/<id> with a single safe segment,
// on the configured host, without query, fragment or user info.
func FuzzRequestTarget(f *testing.F) {
	for _, s := range []struct{ op, id string }{
		{string(UpdatePeering), "p-1"}, {string(UpdateIntegration), "i-1"}, {string(UpdatePeering), "../iam/v2/api-keys"},
		{string(UpdatePeering), "p-1%2F..%2Fx"}, {string(UpdateIntegration), "i-1?x=1"}, {string(UpdatePeering), "p-1#f"},
		{string(UpdatePeering), "@evil.example"}, {"iam.v2.api-keys.delete", "k-1"}, {"", ""},
		{string(UpdatePeering), strings.Repeat("a", 256)}, {string(UpdatePeering), "a\x00"}, {string(UpdateIntegration), "é"},
	} {
		f.Add(s.op, s.id)
	}
	c, err := New(Config{BaseURL: "https://api.confluent.cloud/base", APIKey: "k", APISecret: "s"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, op, id string) {
		req, err := c.newRequest(context.Background(), Operation(op), id, []byte(`{}`))
		if err != nil {
			if req != nil {
				t.Fatalf("newRequest(%q, %q) returned a request with error %v", op, id, err)
			}
			return
		}
		u := req.URL
		if req.Method != http.MethodPatch || u.Scheme != "https" || u.Host != "api.confluent.cloud" ||
			u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.RawPath != "" {
			t.Fatalf("newRequest(%q, %q) targets %s %s", op, id, req.Method, u)
		}
		rest, ok := strings.CutPrefix(u.Path, "/base/networking/v1/peerings/")
		if !ok {
			rest, ok = strings.CutPrefix(u.Path, "/base/notifications/v1/integrations/")
		}
		if !ok || rest != id || !validID(rest) {
			t.Fatalf("newRequest(%q, %q) path %q is not an operation path", op, id, u.Path)
		}
	})
}
