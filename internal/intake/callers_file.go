package intake

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/patchbay/patchbay/internal/schema"
)

// callersFile is the JSON form of API_CALLERS_FILE.
type callersFile struct {
	Callers []callerEntry `json:"callers"`
}

// callerEntry is one caller in the callers file. Secrets are never in the
// file: the token only as its SHA-256, the webhook secret by reference.
type callerEntry struct {
	Name             string   `json:"name"`
	TokenSHA256      string   `json:"token_sha256"`
	Operations       []string `json:"operations"`
	Environments     []string `json:"environments"`
	Resources        []string `json:"resources"`
	WebhookSecretEnv string   `json:"webhook_secret_env"`
	// WebhookSecretFile is absolute or relative to the callers file.
	WebhookSecretFile string  `json:"webhook_secret_file"`
	RateLimit         float64 `json:"rate_limit"`
	RateBurst         int     `json:"rate_burst"`
	// SlackUsers are the Slack users ("TEAM_ID/USER_ID") who act as this
	// caller through the Slack app; SlackResponseType and
	// SlackFallbackWebhookEnv say where their results go (see slack.go).
	SlackUsers              []string `json:"slack_users"`
	SlackResponseType       string   `json:"slack_response_type"`
	SlackFallbackWebhookEnv string   `json:"slack_fallback_webhook_env"`
	// Notify says where the caller's results go; the notifier parses and
	// validates it (internal/notify/route), the intake only tolerates it.
	Notify json.RawMessage `json:"notify,omitempty"`
}

// callerName is the shape of a caller name.
var callerName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// envName is the shape of an environment variable name.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// maxCallersFileBytes bounds the callers file.
const maxCallersFileBytes = 1 << 20

// LoadCallersFile reads and parses a callers file (see ParseCallersFile);
// lookupEnv resolves webhook_secret_env (os.LookupEnv in production).
func LoadCallersFile(path string, lookupEnv func(string) (string, bool)) (*Callers, error) {
	data, err := readSmallFile(path, maxCallersFileBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCallers, err)
	}
	return ParseCallersFile(data, filepath.Dir(path), lookupEnv)
}

// ParseCallersFile parses the JSON callers file:
//
//	{"callers": [{
//	  "name": "jira",
//	  "token_sha256": "<hex SHA-256 of the bearer token>",
//	  "operations": ["networking.v1.peerings.update", "changes.read"],
//	  "environments": ["env-prod"],   (optional: peering spec.environment.id)
//	  "resources": ["p-123"],         (optional: resource ids)
//	  "webhook_secret_env": "JIRA_WEBHOOK_SECRET",  (or webhook_secret_file)
//	  "rate_limit": 5, "rate_burst": 10  (optional, overrides INTAKE_RATE_LIMIT)
//	  "slack_users": ["T123/U456"],     (optional: Slack users acting as this caller)
//	  "slack_response_type": "in_channel",  (optional: "ephemeral", the default)
//	  "slack_fallback_webhook_env": "OPS_SLACK_WEBHOOK"  (optional: incoming webhook URL)
//	}]}
//
// A caller needs a token, a webhook secret or Slack users (any of them), and at least one
// operation. Relative webhook_secret_file paths are resolved against dir.
// Errors name the caller and the field, never a secret.
func ParseCallersFile(data []byte, dir string, lookupEnv func(string) (string, bool)) (*Callers, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f callersFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: not a callers file: %w", ErrCallers, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: data after the callers object", ErrCallers)
	}
	if len(f.Callers) == 0 {
		return nil, fmt.Errorf("%w: no callers", ErrCallers)
	}
	cs := &Callers{}
	for i, e := range f.Callers {
		c, err := e.caller(dir, lookupEnv)
		if err != nil {
			return nil, fmt.Errorf("%w: caller %d (%s): %w", ErrCallers, i+1, quoteName(e.Name), err)
		}
		cs.list = append(cs.list, c)
	}
	if err := cs.checkUnique(); err != nil {
		return nil, err
	}
	return cs, nil
}

// caller validates one entry.
func (e callerEntry) caller(dir string, lookupEnv func(string) (string, bool)) (*Caller, error) {
	if !callerName.MatchString(e.Name) {
		return nil, errors.New("name must match " + callerName.String())
	}
	c := &Caller{Name: e.Name, Scope: Scope{permissions: map[Permission]bool{}}}
	if e.TokenSHA256 != "" {
		h, err := hex.DecodeString(e.TokenSHA256)
		if err != nil || len(h) != sha256.Size {
			return nil, errors.New("token_sha256 must be 64 hex digits (sha256sum of the token)")
		}
		copy(c.tokenHash[:], h)
		c.hasToken = true
	}
	secret, err := e.secret(dir, lookupEnv)
	if err != nil {
		return nil, err
	}
	c.webhookSecret = secret
	if err := e.slack(c, lookupEnv); err != nil {
		return nil, err
	}
	if !c.hasToken && len(secret) == 0 && len(c.SlackUsers) == 0 {
		return nil, errors.New("needs token_sha256, a webhook secret (webhook_secret_env or webhook_secret_file) or slack_users")
	}
	if len(e.Operations) == 0 {
		return nil, errors.New("operations is empty")
	}
	for _, op := range e.Operations {
		p := Permission(op)
		if !p.known() {
			return nil, fmt.Errorf("unknown operation %s (one of %s)", quoteName(op), permissionList())
		}
		c.Scope.permissions[p] = true
	}
	if e.Environments != nil {
		if len(e.Environments) == 0 {
			return nil, errors.New("environments is empty (omit it to allow every environment)")
		}
		c.Scope.environments = map[string]bool{}
		for _, env := range e.Environments {
			if n := utf8.RuneCountInString(env); n < 1 || n > 255 {
				return nil, errors.New("every environment must be 1 to 255 characters")
			}
			c.Scope.environments[env] = true
		}
	}
	if e.Resources != nil {
		if len(e.Resources) == 0 {
			return nil, errors.New("resources is empty (omit it to allow every resource)")
		}
		c.Scope.resources = map[string]bool{}
		for _, id := range e.Resources {
			if !schema.ValidID(id) {
				return nil, fmt.Errorf("resource %s does not match ^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$", quoteName(id))
			}
			c.Scope.resources[id] = true
		}
	}
	if e.RateLimit < 0 || e.RateBurst < 0 {
		return nil, errors.New("rate_limit and rate_burst must not be negative")
	}
	c.RateLimit = RateLimit{Rate: e.RateLimit, Burst: e.RateBurst}
	return c, nil
}

// secret resolves the webhook secret reference, if any.
func (e callerEntry) secret(dir string, lookupEnv func(string) (string, bool)) ([]byte, error) {
	var secret string
	switch {
	case e.WebhookSecretEnv != "" && e.WebhookSecretFile != "":
		return nil, errors.New("set webhook_secret_env or webhook_secret_file, not both")
	case e.WebhookSecretEnv != "":
		if !envName.MatchString(e.WebhookSecretEnv) {
			return nil, errors.New("webhook_secret_env is not an environment variable name")
		}
		v, ok := lookupEnv(e.WebhookSecretEnv)
		if !ok {
			return nil, fmt.Errorf("webhook_secret_env: %s is not set", e.WebhookSecretEnv)
		}
		secret = v
	case e.WebhookSecretFile != "":
		path := e.WebhookSecretFile
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		data, err := readSmallFile(path, 4<<10)
		if err != nil {
			return nil, fmt.Errorf("webhook_secret_file: %w", err)
		}
		secret = strings.TrimRight(string(data), "\r\n")
	default:
		return nil, nil
	}
	if len(secret) < minTokenLen {
		return nil, errors.New("the webhook secret is shorter than 16 characters")
	}
	return []byte(secret), nil
}

// readSmallFile reads at most limit bytes of a file; a larger file is an error.
func readSmallFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return data, nil
}

// quoteName quotes a name from the file for an error message, shortened.
func quoteName(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// permissionList is the known permissions, for error messages.
func permissionList() string {
	parts := make([]string, 0, 4)
	for _, p := range AllPermissions() {
		parts = append(parts, string(p))
	}
	return strings.Join(parts, ", ")
}
