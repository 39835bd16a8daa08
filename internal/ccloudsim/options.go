package ccloudsim

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"
)

// Defaults applied by New.
const (
	// DefaultBaseURL is used for metadata.self when Options.BaseURL is empty.
	DefaultBaseURL = "https://api.confluent.cloud"
	// DefaultOrganization is the organization id in resource names (CRNs).
	DefaultOrganization = "9bb441c4-edef-46ac-8a41-c49e44a3fd9a"
	// DefaultRatePeriod is the rate-limit window when Options.RatePeriod is 0.
	DefaultRatePeriod = time.Second
	// MaxBodyBytes is the largest request body accepted (413 above).
	MaxBodyBytes = 1 << 20
)

// ErrInvalidOptions is wrapped by every error New returns for bad Options.
var ErrInvalidOptions = errors.New("ccloudsim: invalid options")

// Options configures a Server.
type Options struct {
	// Credentials maps API key -> secret accepted with HTTP Basic.
	Credentials map[string]string
	// Tokens lists accepted Bearer tokens.
	Tokens []string
	// RateLimit is requests allowed per RatePeriod per credential (0 = unlimited;
	// then no X-RateLimit-* headers are sent).
	RateLimit int
	// RatePeriod is the fixed rate-limit window (default 1s).
	RatePeriod time.Duration
	// RateSchedule changes the limit over time, from the first
	// authenticated request on (RateLimit before its first step); windows
	// and Retry-After deadlines carry on across a change, as an upstream
	// whose limit "may change dynamically" would. Needs RateLimit > 0.
	RateSchedule []RateStep
	// RateLimitShared makes every credential count against one window, like
	// an organisation-wide limit; false limits each credential on its own.
	RateLimitShared bool
	// Now is the clock (default time.Now).
	Now func() time.Time
	// BaseURL is used for metadata.self, related links and 409 Location
	// (default "https://api.confluent.cloud").
	BaseURL string
	// Organization is the organization id in resource names (default DefaultOrganization).
	Organization string
	// LogLimit caps the request log to about the latest LogLimit entries (0 = unlimited).
	LogLimit int
	// Logger, when set, gets one line per request (never bodies or secrets).
	Logger *slog.Logger
}

// withDefaults validates o and fills in defaults.
func (o Options) withDefaults() (Options, error) {
	if o.RateLimit < 0 {
		return o, fmt.Errorf("%w: RateLimit %d is negative", ErrInvalidOptions, o.RateLimit)
	}
	if o.RatePeriod < 0 {
		return o, fmt.Errorf("%w: RatePeriod %s is negative", ErrInvalidOptions, o.RatePeriod)
	}
	if err := validateSchedule(o.RateSchedule); err != nil {
		return o, err
	}
	if len(o.RateSchedule) > 0 && o.RateLimit == 0 {
		return o, fmt.Errorf("%w: RateSchedule needs RateLimit > 0", ErrInvalidOptions)
	}
	if o.LogLimit < 0 {
		return o, fmt.Errorf("%w: LogLimit %d is negative", ErrInvalidOptions, o.LogLimit)
	}
	for key := range o.Credentials {
		if key == "" {
			return o, fmt.Errorf("%w: empty API key in Credentials", ErrInvalidOptions)
		}
	}
	for _, tok := range o.Tokens {
		if tok == "" {
			return o, fmt.Errorf("%w: empty token in Tokens", ErrInvalidOptions)
		}
	}
	if o.RatePeriod == 0 {
		o.RatePeriod = DefaultRatePeriod
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(o.BaseURL)
	if err != nil {
		return o, fmt.Errorf("%w: BaseURL: %w", ErrInvalidOptions, err)
	}
	if u.Scheme == "" || u.Host == "" {
		return o, fmt.Errorf("%w: BaseURL %q is not an absolute URL", ErrInvalidOptions, o.BaseURL)
	}
	if o.Organization == "" {
		o.Organization = DefaultOrganization
	}
	return o, nil
}

// Faults configures fault injection. Rates are shares in 0..1 of the
// authenticated, non-rate-limited requests; Rate500+Rate502+Rate503+DropRate
// should not exceed 1.
type Faults struct {
	Rate500, Rate502, Rate503 float64
	// SlowRate is the share of requests delayed by SlowDelay before being
	// handled (the delay ends early when the request context is cancelled).
	SlowRate  float64
	SlowDelay time.Duration
	// DropRate is the share of requests whose connection is closed without a response.
	DropRate float64
	// Seed seeds the random source, so a run is reproducible.
	Seed int64
}
