package benchrun

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/patchbay/patchbay/internal/ccloudsim"
)

// Schedule is a changing upstream limit: Base requests/s from the first
// request, then each step's limit from its time on.
type Schedule struct {
	Base  int
	Steps []ccloudsim.RateStep
}

// ParseSchedule parses "40,10@10s,40@16s": 40/s, 10/s from 10 s after the
// first request, 40/s again from 16 s.
func ParseSchedule(s string) (Schedule, error) {
	parts := strings.Split(s, ",")
	base, err := strconv.Atoi(strings.TrimSpace(parts[0]))
	if err != nil || base < 1 {
		return Schedule{}, fmt.Errorf("%q: the first limit must be a positive integer", parts[0])
	}
	out := Schedule{Base: base}
	for _, p := range parts[1:] {
		l, at, ok := strings.Cut(strings.TrimSpace(p), "@")
		limit, err := strconv.Atoi(l)
		if !ok || err != nil || limit < 1 {
			return Schedule{}, fmt.Errorf("%q: want LIMIT@DURATION, e.g. 10@10s", p)
		}
		d, err := time.ParseDuration(at)
		if err != nil || d <= 0 || len(out.Steps) > 0 && d <= out.Steps[len(out.Steps)-1].At {
			return Schedule{}, fmt.Errorf("%q: the time must be a positive duration after the step before", p)
		}
		out.Steps = append(out.Steps, ccloudsim.RateStep{At: d, Limit: limit})
	}
	return out, nil
}

// String renders s as "40→10@10s→40@16s".
func (s Schedule) String() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(s.Base))
	for _, st := range s.Steps {
		fmt.Fprintf(&b, "→%d@%s", st.Limit, st.At)
	}
	return b.String()
}
