package ccloudsim

import (
	"maps"
	"slices"
	"time"
)

// Peering is a simulated networking/v1 Peering.
type Peering struct {
	ID            string
	DisplayName   string
	EnvironmentID string
	NetworkID     string
	// Cloud is the spec.cloud object, e.g. {"kind":"AwsPeering","account":"000000000000",...}.
	Cloud map[string]any
	// Phase is status.phase (default "READY").
	Phase string
	// CreatedAt and UpdatedAt default to the clock at seeding.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Integration is a simulated notifications/v1 Integration.
type Integration struct {
	ID          string
	DisplayName string
	Description string
	// Target is the target object, e.g. {"kind":"Slack","webhook_url":"https://..."}.
	Target map[string]any
	// CreatedAt and UpdatedAt default to the clock at seeding.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// kind returns the target kind, or "".
func (i Integration) kind() string {
	k, _ := i.Target["kind"].(string)
	return k
}

// clone returns a deep copy of p.
func (p Peering) clone() Peering {
	p.Cloud = cloneMap(p.Cloud)
	return p
}

// clone returns a deep copy of i.
func (i Integration) clone() Integration {
	i.Target = cloneMap(i.Target)
	return i
}

// cloneMap deep-copies a JSON-like map.
func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

// cloneValue deep-copies a JSON-like value; other types are copied shallowly.
func cloneValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return cloneMap(t)
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = cloneValue(x)
		}
		return out
	case []string:
		return slices.Clone(t)
	case map[string]string:
		return maps.Clone(t)
	default:
		return v
	}
}
