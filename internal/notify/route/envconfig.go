package route

import "fmt"

// EnvConfig is where the routes come from.
type EnvConfig struct {
	// CallersFile is the intake's callers file; the notifier reads each
	// caller's name and notify object.
	CallersFile string `env:"API_CALLERS_FILE"`
	// Default is the notify object (JSON) for callers without their own.
	Default string `env:"NOTIFY_DEFAULT"`
}

// Load reads the routes; the error names the variable.
func (e EnvConfig) Load() (*Table, error) {
	if _, err := Parse(nil, e.Default); err != nil {
		return nil, fmt.Errorf("NOTIFY_DEFAULT: %w", err)
	}
	t, err := Load(e.CallersFile, e.Default)
	if err != nil {
		return nil, fmt.Errorf("API_CALLERS_FILE: %w", err)
	}
	return t, nil
}
