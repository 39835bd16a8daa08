package tracectx_test

import (
	"strings"
	"testing"

	"github.com/patchbay/patchbay/internal/tracectx"
)

func TestValid(t *testing.T) {
	t.Parallel()
	const good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tests := []struct {
		name string
		tp   string
		want bool
	}{
		{"spec example", good, true},
		{"unsampled", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", true},
		{"future version", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true},
		{"empty", "", false},
		{"version ff", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false},
		{"uppercase hex", strings.ToUpper(good), false},
		{"zero trace id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", false},
		{"zero parent id", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", false},
		{"short trace id", "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", false},
		{"trailing data", good + "-xyz", false},
		{"wrong separator", "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false},
		{"non-hex", "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01", false},
		{"header injection", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tracectx.Valid(tt.tp); got != tt.want {
				t.Fatalf("Valid(%q) = %v, want %v", tt.tp, got, tt.want)
			}
			wantClean, wantID := "", ""
			if tt.want {
				wantClean, wantID = tt.tp, tt.tp[3:35]
			}
			if got := tracectx.Clean(tt.tp); got != wantClean {
				t.Fatalf("Clean(%q) = %q, want %q", tt.tp, got, wantClean)
			}
			if got := tracectx.TraceID(tt.tp); got != wantID {
				t.Fatalf("TraceID(%q) = %q, want %q", tt.tp, got, wantID)
			}
		})
	}
}
