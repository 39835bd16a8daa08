package ccloud_test

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/apierror"
	"github.com/patchbay/patchbay/internal/ccloud"
)

// outcome names the error class a call ends in.
type outcome int

const (
	success outcome = iota
	rateLimited
	retryable
	permanent
)

func (o outcome) String() string {
	return [...]string{"success", "rate limited", "retryable", "permanent"}[o]
}

// classOf returns the class of err, failing on an unexpected error type.
func classOf(t *testing.T, err error) outcome {
	t.Helper()
	var rl *ccloud.RateLimitedError
	var re *ccloud.RetryableError
	var pe *ccloud.PermanentError
	switch {
	case err == nil:
		return success
	case errors.As(err, &rl):
		return rateLimited
	case errors.As(err, &re):
		return retryable
	case errors.As(err, &pe):
		return permanent
	default:
		t.Fatalf("error of unexpected type %T: %v", err, err)
		return -1
	}
}

const peeringJSON = `{"api_version":"networking/v1","kind":"Peering","id":"p-1","spec":{"display_name":"x"},"status":{"phase":"READY"}}`

func envelopeJSON(status, code, pointer string) string {
	return `{"errors":[{"id":"e1","status":"` + status + `","code":"` + code +
		`","title":"T","detail":"D","source":{"pointer":"` + pointer + `"}}]}`
}

func TestDoClassifiesEveryStatus(t *testing.T) {
	t.Parallel()
	httpDate := fixedNow().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	rlHeaders := map[string]string{"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "7", "X-RateLimit-Reset": "12"}
	with := func(base map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	tests := []struct {
		name         string
		status       int
		headers      map[string]string
		body         string
		want         outcome
		wantPointers []string
		wantLocation string
		wantWait     time.Duration
		wantRL       ccloud.RateLimit
		wantNonJSON  bool
	}{
		{name: "200 resource", status: 200, headers: rlHeaders, body: peeringJSON, want: success,
			wantRL: ccloud.RateLimit{Limit: 100, HasLimit: true, Remaining: 7, HasRemaining: true, Reset: 12 * time.Second, HasReset: true}},
		{name: "204 empty", status: 204, want: success},
		{name: "200 not JSON", status: 200, body: "<html>ok</html>", want: permanent, wantNonJSON: true},
		{name: "200 JSON array", status: 200, body: "[1,2]", want: permanent, wantNonJSON: true},
		{name: "200 empty", status: 200, want: permanent, wantNonJSON: true},
		{name: "400 bad request", status: 400, body: `{"errors":[{"status":"400","code":"invalid_filter","source":{"parameter":"num_doors"}}]}`, want: permanent, wantPointers: []string{""}},
		{name: "401 unauthenticated", status: 401, headers: map[string]string{"WWW-Authenticate": `Basic error="invalid_key"`}, body: envelopeJSON("401", "user_unauthenticated", ""), want: permanent, wantPointers: []string{""}},
		{name: "402 over quota", status: 402, body: envelopeJSON("402", "quota_exceeded", ""), want: permanent, wantPointers: []string{""}},
		{name: "403 forbidden", status: 403, body: envelopeJSON("403", "forbidden", ""), want: permanent, wantPointers: []string{""}},
		{name: "404 not found", status: 404, body: envelopeJSON("404", "not_found", ""), want: permanent, wantPointers: []string{""}},
		{name: "409 conflict with Location", status: 409, headers: map[string]string{"Location": "https://api.confluent.cloud/networking/v1/peerings/p-2"},
			body: envelopeJSON("409", "resource_already_exists", ""), want: permanent, wantPointers: []string{""},
			wantLocation: "https://api.confluent.cloud/networking/v1/peerings/p-2"},
		{name: "422 two entries with pointers", status: 422,
			body: `{"errors":[{"status":"422","code":"invalid_configuration","detail":"a","source":{"pointer":"/spec/display_name"}},` +
				`{"status":422,"code":"invalid_configuration","detail":"b","source":{"pointer":"/spec/environment/id"}}]}`,
			want: permanent, wantPointers: []string{"/spec/display_name", "/spec/environment/id"}},
		{name: "429 Retry-After seconds", status: 429, headers: with(rlHeaders, "Retry-After", "5", "X-RateLimit-Remaining", "0"),
			body: envelopeJSON("429", "too_many_requests", ""), want: rateLimited, wantWait: 5 * time.Second, wantPointers: []string{""},
			wantRL: ccloud.RateLimit{Limit: 100, HasLimit: true, Remaining: 0, HasRemaining: true, Reset: 12 * time.Second, HasReset: true, RetryAfter: 5 * time.Second, HasRetryAfter: true}},
		{name: "429 Retry-After HTTP-date", status: 429, headers: map[string]string{"Retry-After": httpDate}, want: rateLimited, wantWait: 90 * time.Second,
			wantRL: ccloud.RateLimit{RetryAfter: 90 * time.Second, HasRetryAfter: true}},
		{name: "429 falls back to X-RateLimit-Reset", status: 429, headers: rlHeaders, want: rateLimited, wantWait: 12 * time.Second,
			wantRL: ccloud.RateLimit{Limit: 100, HasLimit: true, Remaining: 7, HasRemaining: true, Reset: 12 * time.Second, HasReset: true}},
		{name: "429 malformed Retry-After falls back to reset", status: 429, headers: with(rlHeaders, "Retry-After", "soon"), want: rateLimited, wantWait: 12 * time.Second,
			wantRL: ccloud.RateLimit{Limit: 100, HasLimit: true, Remaining: 7, HasRemaining: true, Reset: 12 * time.Second, HasReset: true}},
		{name: "429 without hints", status: 429, want: rateLimited, wantWait: 0},
		{name: "500 envelope", status: 500, body: envelopeJSON("500", "out_of_gas", ""), want: retryable, wantPointers: []string{""}},
		{name: "502 HTML", status: 502, headers: map[string]string{"Content-Type": "text/html"}, body: "<html>bad gateway</html>", want: retryable, wantNonJSON: true},
		{name: "503 empty", status: 503, headers: map[string]string{"Retry-After": "3"}, want: retryable, wantNonJSON: true,
			wantRL: ccloud.RateLimit{RetryAfter: 3 * time.Second, HasRetryAfter: true}},
		{name: "504", status: 504, body: envelopeJSON("504", "timeout", ""), want: retryable, wantPointers: []string{""}},
		{name: "501 not implemented", status: 501, body: envelopeJSON("501", "not_implemented", ""), want: permanent, wantPointers: []string{""}},
		{name: "418 unexpected", status: 418, body: "teapot", want: permanent, wantNonJSON: true},
		{name: "301 not followed", status: 301, headers: map[string]string{"Location": "/iam/v2/api-keys"}, want: permanent, wantNonJSON: true,
			wantLocation: "/iam/v2/api-keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/networking/v1/peerings/p-1" {
					t.Errorf("unexpected request to %s (redirect followed?)", r.URL.Path)
				}
				w.Header().Set("X-Request-Id", "req-"+tt.name)
				for k, v := range tt.headers {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			})
			c := newClient(t, rec.srv.URL)
			resp, err := c.Do(t.Context(), ccloud.UpdatePeering, "p-1", []byte(peeringBody))
			if got := classOf(t, err); got != tt.want {
				t.Fatalf("class = %v, want %v (err %v)", got, tt.want, err)
			}
			if n := len(rec.requests()); n != 1 {
				t.Errorf("requests = %d, want 1", n)
			}
			if resp == nil {
				t.Fatal("nil response")
			}
			if resp.Status != tt.status {
				t.Errorf("Status = %d, want %d", resp.Status, tt.status)
			}
			if resp.RequestID != "req-"+tt.name {
				t.Errorf("RequestID = %q", resp.RequestID)
			}
			if resp.RateLimit != tt.wantRL {
				t.Errorf("RateLimit = %+v, want %+v", resp.RateLimit, tt.wantRL)
			}
			if resp.Location != tt.wantLocation {
				t.Errorf("Location = %q, want %q", resp.Location, tt.wantLocation)
			}
			if string(resp.Body) != tt.body {
				t.Errorf("Body = %q, want %q", resp.Body, tt.body)
			}
			var pointers []string
			for _, e := range resp.Errors {
				p := ""
				if e.Source != nil {
					p = e.Source.Pointer
				}
				pointers = append(pointers, p)
			}
			if !reflect.DeepEqual(pointers, tt.wantPointers) {
				t.Errorf("pointers = %q, want %q", pointers, tt.wantPointers)
			}
			if got := errors.Is(err, ccloud.ErrNonJSONBody); got != tt.wantNonJSON {
				t.Errorf("errors.Is(ErrNonJSONBody) = %v, want %v (err %v)", got, tt.wantNonJSON, err)
			}
			assertFields(t, err, resp, tt.status, tt.wantWait)
		})
	}
}

// assertFields checks the typed error's own fields against the response.
func assertFields(t *testing.T, err error, resp *ccloud.Response, status int, wantWait time.Duration) {
	t.Helper()
	var rl *ccloud.RateLimitedError
	var re *ccloud.RetryableError
	var pe *ccloud.PermanentError
	switch {
	case errors.As(err, &rl):
		if rl.Wait != wantWait || rl.Response != resp {
			t.Errorf("RateLimitedError = %+v, want Wait %v and the response", rl, wantWait)
		}
	case errors.As(err, &re):
		if re.Status != status || re.Response != resp || re.Err == nil {
			t.Errorf("RetryableError = %+v", re)
		}
	case errors.As(err, &pe):
		if pe.Status != status || pe.Response != resp || pe.Err == nil {
			t.Errorf("PermanentError = %+v", pe)
		}
		if len(resp.Errors) > 0 {
			var env apierror.Envelope
			if !errors.As(err, &env) || !reflect.DeepEqual(env, resp.Envelope()) { // no URLs here: equal
				t.Errorf("PermanentError does not wrap the envelope: %v", err)
			}
		}
	}
	if err != nil && resp.RequestID != "" && !strings.Contains(err.Error(), resp.RequestID) {
		t.Errorf("error %q does not name the request id %q", err, resp.RequestID)
	}
}

func TestErrorStringsNameFirstEntry(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "rid-42")
		w.WriteHeader(422)
		_, _ = w.Write([]byte(`{"errors":[{"status":"422","code":"invalid_value","title":"Validation Failed",` +
			`"detail":"webhook_url https://hooks.slack.com/services/T000/B000/XXXX is not reachable\n\u001b[31m",` +
			`"source":{"pointer":"/target/webhook_url"}},{"code":"second"}]}`))
	})
	c := newClient(t, rec.srv.URL)
	_, err := c.Do(t.Context(), ccloud.UpdateIntegration, "i-1", []byte(integrationBody))
	if err == nil {
		t.Fatal("want error")
	}
	msg := err.Error()
	for _, want := range []string{"422", "rid-42", "invalid_value", "Validation Failed", "/target/webhook_url", "[redacted-url]", "and 1 more"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") || strings.Contains(msg, "\x1b") {
		t.Errorf("error %q contains control characters", msg)
	}
	assertNoSecrets(t, msg)
}
