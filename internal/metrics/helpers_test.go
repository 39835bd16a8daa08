package metrics_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// exposition gathers g and renders the families named (all when none) in
// the text format, sorted by name as the registry returns them.
func exposition(t *testing.T, g prometheus.Gatherer, names ...string) string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if len(names) > 0 && !slices.Contains(names, mf.GetName()) {
			continue
		}
		if err := enc.Encode(mf); err != nil {
			t.Fatalf("encode: %v", err)
		}
	}
	return buf.String()
}

// assertExposition compares the exposition of names with want (leading and
// trailing blank lines ignored).
func assertExposition(t *testing.T, g prometheus.Gatherer, want string, names ...string) {
	t.Helper()
	got := exposition(t, g, names...)
	if strings.TrimSpace(got) != strings.TrimSpace(want) {
		t.Fatalf("exposition:\n%s\nwant:\n%s", got, want)
	}
}
