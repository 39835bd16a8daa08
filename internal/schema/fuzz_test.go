package schema

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"testing"
)

// fuzzSeeds are bodies shared by both fuzz targets' seed corpora.
var fuzzSeeds = []string{
	``, `{}`, `[]`, `null`, `"x"`, `{"a":1,"a":2}`, `{} {}`, `{}x`, "{\"a\":\"\xff\"}",
	`{"spec":{"environment":{"id":"env-00000"}}}`,
	`{"spec":{"display_name":"n","environment":{"id":"e","environment":"e"}}}`,
	`{"spec":{"cloud":{"kind":"AwsPeering","routes":["10.0.0.0/16"]},"network":{"id":"n"},"environment":{"id":""}}}`,
	`{"api_version":"x","spec":null}`,
	`{"display_name":"Slack integration","description":"d","target":{"kind":"Slack","webhook_url":"https://hooks.slack.com/services/a/b/c"}}`,
	`{"target":{"kind":"Webhook","url":"http://:80"}}`,
	`{"target":{"kind":"RoleEmail","role_name":"OrganizationAdmin"}}`,
	`{"target":{"kind":1}}`,
	`{"a~/b":[[[[{"c":[1,2.5e3,true,false,null]}]]]]}`,
	`{"spec":{"display_name":"\u00e9\ud83d\ude00","environment":{"id":"\u0000"}}}`,
}

// checkFuzzResult asserts the invariants every validator result must hold.
func checkFuzzResult(t *testing.T, body []byte, err error) {
	t.Helper()
	if err == nil {
		var m map[string]any
		if uerr := json.Unmarshal(body, &m); uerr != nil {
			t.Fatalf("accepted body %q does not unmarshal into a map: %v", body, uerr)
		}
		return
	}
	var se *Error
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not *Error", err, err)
	}
	if se.Status != http.StatusBadRequest && se.Status != http.StatusUnprocessableEntity {
		t.Fatalf("status = %d, want 400 or 422", se.Status)
	}
	if len(se.Envelope.Errors) == 0 {
		t.Fatal("error envelope is empty")
	}
	for _, e := range se.Envelope.Errors {
		if e.Status != strconv.Itoa(se.Status) || e.Code == "" || e.Title == "" || e.Detail == "" {
			t.Fatalf("incomplete problem %+v in a %d error", e, se.Status)
		}
	}
	if se.Status == http.StatusUnprocessableEntity && !json.Valid(body) {
		t.Fatalf("422 for a body that is not valid JSON: %q", body)
	}
}

func FuzzValidatePeeringUpdate(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkFuzzResult(t, body, ValidatePeeringUpdate(body))
	})
}

func FuzzValidateIntegrationUpdate(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkFuzzResult(t, body, ValidateIntegrationUpdate(body))
	})
}

// idPattern is the documented id rule, the oracle for ValidID.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$`)

func FuzzValidID(f *testing.F) {
	for _, s := range []string{"p-1", "", "-a", "a/b", "..", "a\n", "é", "A_b-9", "a%2F"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if got, want := ValidID(id), idPattern.MatchString(id); got != want {
			t.Fatalf("ValidID(%q) = %v, regexp says %v", id, got, want)
		}
	})
}
