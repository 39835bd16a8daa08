package schema

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/patchbay/patchbay/internal/apierror"
)

// want is one expected envelope entry.
type want struct {
	code    string
	pointer string
}

// validationCase is one row of a validation table.
type validationCase struct {
	name   string
	body   string
	status int // 0: the body is valid
	want   []want
}

// checkResult asserts that err matches the expected status and problems, in order.
func checkResult(t *testing.T, err error, status int, wants []want) {
	t.Helper()
	if status == 0 {
		if err != nil {
			t.Fatalf("want valid, got %v", err)
		}
		return
	}
	var se *Error
	if !errors.As(err, &se) {
		t.Fatalf("want *Error with status %d, got %v", status, err)
	}
	if se.Status != status {
		t.Errorf("status = %d, want %d (%v)", se.Status, status, se)
	}
	got := se.Envelope.Errors
	if len(got) != len(wants) {
		t.Fatalf("got %d problems %+v, want %d %+v", len(got), got, len(wants), wants)
	}
	for i, w := range wants {
		g := got[i]
		ptr := ""
		if g.Source != nil {
			ptr = g.Source.Pointer
		}
		if g.Code != w.code || ptr != w.pointer {
			t.Errorf("problem %d = (%s, %q), want (%s, %q)", i, g.Code, ptr, w.code, w.pointer)
		}
		if g.Status != strconv.Itoa(status) {
			t.Errorf("problem %d status = %q, want %q", i, g.Status, strconv.Itoa(status))
		}
		if g.Title == "" || g.Detail == "" {
			t.Errorf("problem %d has empty title or detail: %+v", i, g)
		}
	}
}

func TestErrorUnwrapsToEnvelope(t *testing.T) {
	err := ValidatePeeringUpdate([]byte(`{}`))
	var env apierror.Envelope
	if !errors.As(err, &env) {
		t.Fatalf("errors.As(%v, Envelope) = false", err)
	}
	if env.Errors[0].Code != CodeRequired {
		t.Errorf("code = %q, want %q", env.Errors[0].Code, CodeRequired)
	}
	if msg := err.Error(); !strings.Contains(msg, "required") || !strings.Contains(msg, "/spec") {
		t.Errorf("Error() = %q, want it to name the code and pointer", msg)
	}
}

func TestValidID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"p-123", true},
		{"A", true},
		{"0_a-b", true},
		{strings.Repeat("a", 255), true},
		{strings.Repeat("a", 256), false},
		{"", false},
		{"-abc", false},
		{"_abc", false},
		{"a/b", false},
		{"..", false},
		{"a.b", false},
		{"a%2Fb", false},
		{"a b", false},
		{"a\n", false},
		{"é", false},
		{"p-1?x=1", false},
	}
	for _, tt := range tests {
		if got := ValidID(tt.id); got != tt.want {
			t.Errorf("ValidID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

func TestPointerEscaping(t *testing.T) {
	err := ValidateIntegrationUpdate([]byte(`{"a/b~c":1}`))
	checkResult(t, err, 422, []want{{CodeUnknownField, "/a~1b~0c"}})
}
