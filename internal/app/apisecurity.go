package app

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/patchbay/patchbay/internal/intake"
)

// apiCallers builds the intake's callers from API_TOKENS and
// API_CALLERS_FILE (both may be set; names and tokens must not repeat). nil
// means the explicitly insecure development mode.
func apiCallers(cfg APIConfig, logger *slog.Logger) (*intake.Callers, error) {
	var callers *intake.Callers
	if cfg.APITokens != "" {
		cs, err := intake.ParseCallers(cfg.APITokens)
		if err != nil {
			return nil, fmt.Errorf("API_TOKENS: %w", err)
		}
		callers = cs
	}
	if cfg.CallersFile != "" {
		lookup := cfg.LookupEnv
		if lookup == nil {
			lookup = os.LookupEnv
		}
		cs, err := intake.LoadCallersFile(cfg.CallersFile, lookup)
		if err != nil {
			return nil, fmt.Errorf("API_CALLERS_FILE: %w", err)
		}
		if callers != nil {
			if cs, err = callers.Merge(cs); err != nil {
				return nil, fmt.Errorf("API_CALLERS_FILE: with API_TOKENS: %w", err)
			}
		}
		callers = cs
	}
	switch {
	case callers != nil:
		return callers, nil
	case !cfg.InsecureAuth:
		return nil, errors.New("API_TOKENS: no callers configured; set API_TOKENS=name=token,... or API_CALLERS_FILE (or PATCHBAY_INSECURE_NO_AUTH=true for local development only)")
	default:
		logger.Warn("PATCHBAY_INSECURE_NO_AUTH is set: the intake accepts requests without a token")
		return nil, nil
	}
}

// intakeConfig validates the intake's limits.
func intakeConfig(cfg APIConfig) (intake.Config, error) {
	if cfg.MaxBodyBytes < 1024 || cfg.MaxBodyBytes > 10<<20 {
		return intake.Config{}, fmt.Errorf("MAX_BODY_BYTES: %d not in 1024..10485760", cfg.MaxBodyBytes)
	}
	if cfg.IntakeRateLimit < 0 {
		return intake.Config{}, fmt.Errorf("INTAKE_RATE_LIMIT: %g is negative (0 disables the limit)", cfg.IntakeRateLimit)
	}
	if cfg.IntakeRateBurst < 0 {
		return intake.Config{}, fmt.Errorf("INTAKE_RATE_BURST: %d is negative", cfg.IntakeRateBurst)
	}
	if cfg.MaxLongPolls < 0 {
		return intake.Config{}, fmt.Errorf("MAX_LONG_POLLS: %d is negative", cfg.MaxLongPolls)
	}
	proxies, err := intake.ParseTrustedProxies(cfg.TrustedProxies)
	if err != nil {
		return intake.Config{}, fmt.Errorf("TRUSTED_PROXIES: %w", err)
	}
	return intake.Config{
		MaxBodyBytes:   cfg.MaxBodyBytes,
		RateLimit:      intake.RateLimit{Rate: cfg.IntakeRateLimit, Burst: cfg.IntakeRateBurst},
		MaxLongPolls:   cfg.MaxLongPolls,
		TrustedProxies: proxies,
	}, nil
}

// apiSecrets are the secret values the api's logs must never show: the
// API_TOKENS tokens and the Slack app's signing secret and fallback webhook.
func apiSecrets(cfg APIConfig) []string {
	var out []string
	for _, s := range []string{cfg.Slack.SigningSecret, cfg.Slack.FallbackWebhookURL} {
		if s != "" {
			out = append(out, s)
		}
	}
	for _, pair := range strings.Split(cfg.APITokens, ",") {
		if _, token, ok := strings.Cut(pair, "="); ok {
			out = append(out, strings.TrimSpace(token))
		}
	}
	return out
}
