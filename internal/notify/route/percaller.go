package route

import (
	"fmt"
	"strings"
)

// PerCaller is one destination's parsed settings for each caller of the
// table and for the default.
type PerCaller[T any] struct {
	byCaller map[string]*T
	def      *T
}

// ParsePerCaller decodes the destination's key (name) of every caller's
// notify object and of the default with parse; a caller or default without
// the key gets nil (the destination is not used for it). Errors name the
// caller and the key.
func ParsePerCaller[S, T any](t *Table, name string, parse func(S) (*T, error)) (*PerCaller[T], error) {
	one := func(n Notify) (*T, error) {
		raw, ok := n[name]
		if !ok {
			return nil, nil
		}
		var s S
		if err := Decode(raw, &s); err != nil {
			return nil, err
		}
		return parse(s)
	}
	p := &PerCaller[T]{byCaller: map[string]*T{}}
	for _, c := range t.Callers() {
		v, err := one(t.For(c))
		if err != nil {
			return nil, fmt.Errorf("caller %q: notify.%s: %w", c, name, err)
		}
		p.byCaller[c] = v
	}
	v, err := one(t.Default())
	if err != nil {
		return nil, fmt.Errorf("default notify.%s: %w", name, err)
	}
	p.def = v
	return p, nil
}

// For returns the settings for the caller that requested a change, from the
// record's requested_by ("ops", or "ops (slack T123/U456)" for a Slack
// user of caller ops), else the default; nil when neither chose the
// destination.
func (p *PerCaller[T]) For(requestedBy string) *T {
	if v, ok := p.byCaller[CallerOf(requestedBy)]; ok {
		return v
	}
	return p.def
}

// CallerOf is the caller's name in a record's requested_by: the part before
// the first space (the Slack app appends " (slack TEAM/USER)").
func CallerOf(requestedBy string) string {
	name, _, _ := strings.Cut(requestedBy, " ")
	return name
}

// EventSettings are the settings of a destination that chooses only the
// states it is told about: {"events": ["succeeded", "failed"]}.
type EventSettings struct {
	// Events chooses the states (default: succeeded and failed).
	Events Events `json:"events,omitempty"`
}

// ParseEventSettings decodes every caller's name settings as EventSettings
// (see ParsePerCaller) and checks the state names.
func ParseEventSettings(t *Table, name string) (*PerCaller[EventSettings], error) {
	return ParsePerCaller(t, name, func(st EventSettings) (*EventSettings, error) {
		return &st, st.Events.Validate()
	})
}
