package outbound

import "fmt"

// EnvConfig is the outbound policy's environment configuration.
type EnvConfig struct {
	// AllowedHosts is the comma-separated allowlist of destination hosts.
	AllowedHosts string `env:"NOTIFY_ALLOWED_HOSTS"`
	// AllowPrivate permits loopback, private and link-local addresses.
	AllowPrivate bool `env:"NOTIFY_ALLOW_PRIVATE_NETWORKS, default=false"`
	// AllowHTTP permits plain http:// destinations.
	AllowHTTP bool `env:"NOTIFY_ALLOW_HTTP, default=false"`
}

// Policy validates the configuration and returns the policy; the error
// names the variable.
func (e EnvConfig) Policy() (Policy, error) {
	hosts, err := ParseHosts(e.AllowedHosts)
	if err != nil {
		return Policy{}, fmt.Errorf("NOTIFY_ALLOWED_HOSTS: %w", err)
	}
	return Policy{AllowedHosts: hosts, AllowPrivate: e.AllowPrivate, AllowHTTP: e.AllowHTTP}, nil
}
