package intake

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
)

// ErrCallers reports a malformed API_TOKENS value or callers file.
var ErrCallers = errors.New("intake: invalid callers")

// minTokenLen is the shortest bearer token accepted in API_TOKENS, and the
// shortest webhook secret.
const minTokenLen = 16

// RateLimit is a token bucket: Rate requests per second on average, Burst
// at once. A zero Rate means no limit.
type RateLimit struct {
	Rate  float64
	Burst int
}

// Caller is one known caller of the intake. It holds its bearer token only
// as a SHA-256 hash; a webhook secret (for signed requests) has to be kept
// as is, since HMAC needs it.
type Caller struct {
	// Name is recorded as requested_by.
	Name string
	// Scope is what the caller may do.
	Scope Scope
	// RateLimit overrides the intake's per-caller limit when Rate > 0.
	RateLimit RateLimit
	// SlackUsers are the Slack users ("TEAM_ID/USER_ID") acting as this
	// caller through the Slack app, with exactly its scope.
	SlackUsers []string
	// Slack says where the results of its Slack users' commands go.
	Slack SlackSettings

	tokenHash     [sha256.Size]byte
	hasToken      bool
	webhookSecret []byte
}

// String names the caller without revealing its credentials.
func (c *Caller) String() string { return "caller " + c.Name }

// Callers are the intake's known callers.
type Callers struct {
	list []*Caller
}

// ParseCallers parses API_TOKENS: "name=token,name2=token2". Names must be
// unique, tokens at least 16 characters. Every such caller has the full
// scope. The tokens are kept only as SHA-256 hashes.
func ParseCallers(spec string) (*Callers, error) {
	cs := &Callers{}
	seen := map[string]bool{}
	for i, pair := range strings.Split(spec, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		name, token, ok := strings.Cut(pair, "=")
		name, token = strings.TrimSpace(name), strings.TrimSpace(token)
		switch {
		case !ok || name == "" || token == "":
			return nil, fmt.Errorf("%w: entry %d is not name=token", ErrCallers, i+1)
		case len(token) < minTokenLen:
			return nil, fmt.Errorf("%w: token of caller %q is shorter than 16 characters", ErrCallers, name)
		case seen[name]:
			return nil, fmt.Errorf("%w: caller %q appears twice", ErrCallers, name)
		}
		seen[name] = true
		cs.list = append(cs.list, &Caller{Name: name, Scope: FullScope(),
			tokenHash: sha256.Sum256([]byte(token)), hasToken: true})
	}
	if len(cs.list) == 0 {
		return nil, fmt.Errorf("%w: no callers", ErrCallers)
	}
	return cs, nil
}

// Merge returns the callers of both sets. A name, or a token, used in both
// is an error.
func (cs *Callers) Merge(other *Callers) (*Callers, error) {
	out := &Callers{list: append(append([]*Caller(nil), cs.list...), other.list...)}
	if err := out.checkUnique(); err != nil {
		return nil, err
	}
	return out, nil
}

// checkUnique refuses duplicate names and duplicate tokens (a token must
// identify one caller).
func (cs *Callers) checkUnique() error {
	names := map[string]bool{}
	tokens := map[[sha256.Size]byte]string{}
	slackUsers := map[string]string{}
	for _, c := range cs.list {
		if names[c.Name] {
			return fmt.Errorf("%w: caller %q appears twice", ErrCallers, c.Name)
		}
		names[c.Name] = true
		for _, u := range c.SlackUsers {
			if prev, dup := slackUsers[u]; dup {
				return fmt.Errorf("%w: Slack user %s belongs to callers %q and %q", ErrCallers, u, prev, c.Name)
			}
			slackUsers[u] = c.Name
		}
		if !c.hasToken {
			continue
		}
		if prev, dup := tokens[c.tokenHash]; dup {
			return fmt.Errorf("%w: callers %q and %q have the same token", ErrCallers, prev, c.Name)
		}
		tokens[c.tokenHash] = c.Name
	}
	return nil
}

// Len is the number of callers.
func (cs *Callers) Len() int { return len(cs.list) }

// Lookup returns the caller's name for a token, comparing in constant time
// against every caller.
func (cs *Callers) Lookup(token string) (string, bool) {
	if c := cs.byToken(token); c != nil {
		return c.Name, true
	}
	return "", false
}

// byToken returns the caller with this bearer token, or nil. Every caller's
// hash is compared, in constant time.
func (cs *Callers) byToken(token string) *Caller {
	h := sha256.Sum256([]byte(token))
	var found *Caller
	for _, c := range cs.list {
		if subtle.ConstantTimeCompare(h[:], c.tokenHash[:]) == 1 && c.hasToken && found == nil {
			found = c
		}
	}
	return found
}

// signers returns the callers that sign webhooks, with their secrets in the
// same order.
func (cs *Callers) signers() ([]*Caller, [][]byte) {
	var callers []*Caller
	var secrets [][]byte
	for _, c := range cs.list {
		if len(c.webhookSecret) > 0 {
			callers = append(callers, c)
			secrets = append(secrets, c.webhookSecret)
		}
	}
	return callers, secrets
}

// HasSigners reports whether any caller authenticates with a webhook
// signature (which needs the deliveries store for replay protection).
func (cs *Callers) HasSigners() bool {
	callers, _ := cs.signers()
	return len(callers) > 0
}
