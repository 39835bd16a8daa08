package apierror_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/patchbay/patchbay/internal/apierror"
)

func TestDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		want    apierror.Envelope
		wantErr error // checked with errors.Is when set
		anyErr  bool  // an error that is not ErrNotEnvelope
	}{
		{
			name: "valid envelope",
			body: `{"errors":[{"id":"e-1","status":"422","code":"invalid_input","title":"Invalid Input","detail":"display_name too long"}]}`,
			want: apierror.Envelope{Errors: []apierror.Error{{
				ID: "e-1", Status: "422", Code: "invalid_input", Title: "Invalid Input", Detail: "display_name too long",
			}}},
		},
		{
			name: "numeric status and id",
			body: `{"errors":[{"id":17,"status":429,"code":"too_many_requests"}]}`,
			want: apierror.Envelope{Errors: []apierror.Error{{ID: "17", Status: "429", Code: "too_many_requests"}}},
		},
		{
			name: "non-scalar status becomes empty",
			body: `{"errors":[{"status":{"x":1},"code":["a"]}]}`,
			want: apierror.Envelope{Errors: []apierror.Error{{}}},
		},
		{
			name: "source pointer",
			body: `{"errors":[{"status":"422","source":{"pointer":"/spec/display_name"}}]}`,
			want: apierror.Envelope{Errors: []apierror.Error{{Status: "422", Source: &apierror.Source{Pointer: "/spec/display_name"}}}},
		},
		{
			name: "source parameter and several entries",
			body: `{"errors":[{"status":"400","source":{"parameter":"page_size"}},{"status":"400","code":"second"}]}`,
			want: apierror.Envelope{Errors: []apierror.Error{
				{Status: "400", Source: &apierror.Source{Parameter: "page_size"}},
				{Status: "400", Code: "second"},
			}},
		},
		{
			name: "empty errors array",
			body: `{"errors":[]}`,
			want: apierror.Envelope{Errors: []apierror.Error{}},
		},
		{name: "missing errors", body: `{"message":"nope"}`, wantErr: apierror.ErrNotEnvelope},
		{name: "null errors", body: `{"errors":null}`, wantErr: apierror.ErrNotEnvelope},
		{name: "JSON array", body: `[1,2]`, anyErr: true},
		{name: "not JSON", body: `<html>502 Bad Gateway</html>`, anyErr: true},
		{name: "empty body", body: ``, anyErr: true},
		{name: "errors not an array", body: `{"errors":"boom"}`, anyErr: true},
		{name: "entry not an object", body: `{"errors":["boom"]}`, anyErr: true},
		{name: "title not a string", body: `{"errors":[{"title":5}]}`, anyErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := apierror.Decode([]byte(tt.body))
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Decode err = %v, want %v", err, tt.wantErr)
				}
			case tt.anyErr:
				if err == nil {
					t.Fatalf("Decode = %+v, want an error", got)
				}
				if errors.Is(err, apierror.ErrNotEnvelope) {
					t.Fatalf("Decode err = %v, want a JSON error, not ErrNotEnvelope", err)
				}
			default:
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("Decode =\n %#v\nwant\n %#v", got, tt.want)
				}
			}
			if err != nil && len(got.Errors) != 0 {
				t.Fatalf("Decode returned entries with an error: %+v", got)
			}
		})
	}
}

func TestEnvelopeError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  apierror.Envelope
		want string
	}{
		{name: "empty", env: apierror.Envelope{}, want: "empty error envelope"},
		{
			name: "detail preferred over title",
			env:  apierror.Envelope{Errors: []apierror.Error{{Status: "422", Code: "invalid", Title: "T", Detail: "D"}}},
			want: "422 invalid: D",
		},
		{
			name: "title when no detail",
			env:  apierror.Envelope{Errors: []apierror.Error{{Status: "404", Code: "not_found", Title: "Not Found"}}},
			want: "404 not_found: Not Found",
		},
		{
			name: "neither title nor detail",
			env:  apierror.Envelope{Errors: []apierror.Error{{Status: "500", Code: "x"}}},
			want: "500 x",
		},
		{
			name: "pointer",
			env: apierror.Envelope{Errors: []apierror.Error{{Status: "422", Code: "c", Detail: "d",
				Source: &apierror.Source{Pointer: "/spec/environment/id"}}}},
			want: "422 c: d (at /spec/environment/id)",
		},
		{
			name: "parameter is not rendered as a pointer",
			env: apierror.Envelope{Errors: []apierror.Error{{Status: "400", Code: "c", Detail: "d",
				Source: &apierror.Source{Parameter: "wait"}}}},
			want: "400 c: d",
		},
		{
			name: "more entries",
			env: apierror.Envelope{Errors: []apierror.Error{
				{Status: "422", Code: "a", Detail: "first"}, {Status: "422", Code: "b"}, {Status: "422", Code: "c"},
			}},
			want: "422 a: first (and 2 more)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.env.Error(); got != tt.want {
				t.Fatalf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                         string
		status                       int
		code, title, detail, pointer string
		want                         apierror.Envelope
		wantJSON                     string
	}{
		{
			name: "without pointer", status: 404, code: "not_found", title: "Not Found", detail: "no such change",
			want:     apierror.Envelope{Errors: []apierror.Error{{Status: "404", Code: "not_found", Title: "Not Found", Detail: "no such change"}}},
			wantJSON: `{"errors":[{"status":"404","code":"not_found","title":"Not Found","detail":"no such change"}]}`,
		},
		{
			name: "with pointer", status: 422, code: "invalid", title: "Invalid", detail: "too long", pointer: "/display_name",
			want: apierror.Envelope{Errors: []apierror.Error{{Status: "422", Code: "invalid", Title: "Invalid", Detail: "too long",
				Source: &apierror.Source{Pointer: "/display_name"}}}},
			wantJSON: `{"errors":[{"status":"422","code":"invalid","title":"Invalid","detail":"too long","source":{"pointer":"/display_name"}}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := apierror.New(tt.status, tt.code, tt.title, tt.detail, tt.pointer)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("New = %#v, want %#v", got, tt.want)
			}
			b, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.wantJSON {
				t.Fatalf("JSON = %s, want %s", b, tt.wantJSON)
			}
			back, err := apierror.Decode(b)
			if err != nil {
				t.Fatalf("Decode(New): %v", err)
			}
			if !reflect.DeepEqual(back, got) {
				t.Fatalf("round trip = %#v, want %#v", back, got)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	seeds := []string{
		`{"errors":[{"id":"1","status":"422","code":"c","title":"t","detail":"d","source":{"pointer":"/a"}}]}`,
		`{"errors":[{"status":429}]}`,
		`{"errors":[{"status":4.2e2,"id":-1}]}`,
		`{"errors":[{"source":{"parameter":"wait"}},{}]}`,
		`{"errors":[]}`,
		`{"errors":null}`,
		`{"message":"x"}`,
		`{"errors":[{"status":{"a":1}}]}`,
		`{"errors":[{"source":null}]}`,
		`[]`,
		`null`,
		`not json`,
		``,
		`{"errors":[{"detail":"\u0000\ud800"}]}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := apierror.Decode(body)
		if err != nil {
			if len(env.Errors) != 0 {
				t.Fatalf("entries returned with error %v", err)
			}
			return
		}
		_ = env.Error() // must not panic
		if env.Errors == nil {
			t.Fatalf("decoded envelope has nil Errors for %q", body)
		}
		b, err := json.Marshal(env)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		back, err := apierror.Decode(b)
		if err != nil {
			t.Fatalf("decode re-encoded %s: %v", b, err)
		}
		if !reflect.DeepEqual(back, env) {
			t.Fatalf("round trip mismatch:\n input %q\n first  %#v\n second %#v", body, env, back)
		}
	})
}
