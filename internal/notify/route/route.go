// Package route says where each caller's results go: the optional "notify"
// object of every caller in the callers file (API_CALLERS_FILE), and a
// default for callers without one. Each destination parses its own key of
// the object ("webhook", "jira", "servicenow", "slack").
package route

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/patchbay/patchbay/internal/change"
)

// ErrRoutes reports an invalid callers file or default route.
var ErrRoutes = errors.New("route: invalid notification routes")

// Notify is one caller's notify object: destination name -> its settings.
type Notify map[string]json.RawMessage

// Table maps caller names to their notify objects.
type Table struct {
	callers map[string]Notify
	def     Notify
	// Dir is the callers file's directory (relative secret files are
	// resolved against it).
	Dir string
}

// maxFileBytes bounds the callers file.
const maxFileBytes = 1 << 20

// Load reads the callers file at path (may be empty: no per-caller routes)
// and the default notify object (JSON, may be empty).
func Load(path, defaultJSON string) (*Table, error) {
	var data []byte
	dir := "."
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrRoutes, err)
		}
		defer f.Close()
		data, err = io.ReadAll(io.LimitReader(f, maxFileBytes+1))
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrRoutes, err)
		}
		if len(data) > maxFileBytes {
			return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrRoutes, path, maxFileBytes)
		}
		dir = filepath.Dir(path)
	}
	t, err := Parse(data, defaultJSON)
	if err != nil {
		return nil, err
	}
	t.Dir = dir
	return t, nil
}

// Parse reads the name and notify of every caller in a callers file (the
// other fields belong to the intake, which validates them) and the default.
func Parse(callersFile []byte, defaultJSON string) (*Table, error) {
	t := &Table{callers: map[string]Notify{}, Dir: "."}
	if len(bytes.TrimSpace(callersFile)) > 0 {
		var f struct {
			Callers []struct {
				Name   string          `json:"name"`
				Notify json.RawMessage `json:"notify"`
			} `json:"callers"`
		}
		if err := json.Unmarshal(callersFile, &f); err != nil {
			return nil, fmt.Errorf("%w: not a callers file: %w", ErrRoutes, err)
		}
		for i, c := range f.Callers {
			if len(c.Notify) == 0 || string(c.Notify) == "null" {
				continue
			}
			n, err := parseNotify(c.Notify)
			if err != nil {
				return nil, fmt.Errorf("%w: caller %d (%q): notify: %w", ErrRoutes, i+1, c.Name, err)
			}
			t.callers[c.Name] = n
		}
	}
	if defaultJSON != "" {
		n, err := parseNotify([]byte(defaultJSON))
		if err != nil {
			return nil, fmt.Errorf("%w: default: %w", ErrRoutes, err)
		}
		t.def = n
	}
	return t, nil
}

func parseNotify(data []byte) (Notify, error) {
	var n Notify
	if err := json.Unmarshal(data, &n); err != nil {
		return nil, errors.New("must be an object of destinations")
	}
	return n, nil
}

// For returns the notify object for a caller: its own, else the default
// (nil when neither exists).
func (t *Table) For(caller string) Notify {
	if n, ok := t.callers[caller]; ok {
		return n
	}
	return t.def
}

// Default returns the default notify object (may be nil).
func (t *Table) Default() Notify { return t.def }

// Callers returns the names of the callers with their own notify object, sorted.
func (t *Table) Callers() []string {
	out := make([]string, 0, len(t.callers))
	for c := range t.callers {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// CheckKnown refuses a destination key that no destination handles.
func (t *Table) CheckKnown(known []string) error {
	check := func(who string, n Notify) error {
		for k := range n {
			if !slices.Contains(known, k) {
				return fmt.Errorf("%w: %s: unknown destination %q (one of %v)", ErrRoutes, who, k, known)
			}
		}
		return nil
	}
	for _, c := range t.Callers() {
		if err := check("caller "+fmt.Sprintf("%q", c), t.callers[c]); err != nil {
			return err
		}
	}
	return check("default", t.def)
}

// Decode parses one destination's settings strictly (unknown fields are an
// error) into v.
func Decode(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the object")
	}
	return nil
}

// Events is a destination's choice of event states. Empty means the
// terminal ones (succeeded, failed); "retrying" must be asked for.
type Events []string

// Validate checks the state names.
func (e Events) Validate() error {
	for _, s := range e {
		switch change.State(s) {
		case change.StateSucceeded, change.StateFailed, change.StateRetrying:
		default:
			return fmt.Errorf("events: %q is not one of succeeded, failed, retrying", s)
		}
	}
	return nil
}

// Wants reports whether an event of state is chosen.
func (e Events) Wants(state change.State) bool {
	if len(e) == 0 {
		return state.Terminal()
	}
	return slices.Contains(e, string(state))
}
