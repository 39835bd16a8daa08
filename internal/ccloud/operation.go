package ccloud

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Operation names one upstream operation.
type Operation string

const (
	// UpdatePeering is PATCH /networking/v1/peerings/{id}.
	UpdatePeering Operation = "networking.v1.peerings.update"
	// UpdateIntegration is PATCH /notifications/v1/integrations/{id}.
	UpdateIntegration Operation = "notifications.v1.integrations.update"
)

const (
	peeringsPrefix     = "/networking/v1/peerings/"
	integrationsPrefix = "/notifications/v1/integrations/"
)

// ErrInvalidID is wrapped by errors about a path id that does not match
// ^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$. Such an id never reaches the upstream.
var ErrInvalidID = errors.New("client: invalid resource id")

// ErrUnknownOperation is wrapped by errors about an Operation other than
// UpdatePeering and UpdateIntegration.
var ErrUnknownOperation = errors.New("client: unknown operation")

// idPattern mirrors internal/schema.ValidID; it is duplicated here so the
// client refuses unsafe ids on its own.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$`)

// validID reports whether id is safe to use as a path segment.
func validID(id string) bool { return idPattern.MatchString(id) }

// prefix returns the path prefix of op, or "" for an unknown operation.
func (op Operation) prefix() string {
	switch op {
	case UpdatePeering:
		return peeringsPrefix
	case UpdateIntegration:
		return integrationsPrefix
	default:
		return ""
	}
}

// Path returns the upstream path for op and id, or an error wrapping
// ErrInvalidID or ErrUnknownOperation.
func (op Operation) Path(id string) (string, error) {
	p := op.prefix()
	if p == "" {
		return "", fmt.Errorf("%w: %s", ErrUnknownOperation, quoteShort(string(op)))
	}
	if !validID(id) {
		return "", fmt.Errorf("%w: %s", ErrInvalidID, quoteShort(id))
	}
	return p + url.PathEscape(id), nil
}

// Kind returns "Peering" or "Integration", or "" for an unknown operation.
func (op Operation) Kind() string {
	switch op {
	case UpdatePeering:
		return "Peering"
	case UpdateIntegration:
		return "Integration"
	default:
		return ""
	}
}

// isOperationPath reports whether p is exactly one operation prefix followed
// by one valid id, which is the only shape of path the client may call.
func isOperationPath(p string) bool {
	for _, prefix := range []string{peeringsPrefix, integrationsPrefix} {
		if rest, ok := strings.CutPrefix(p, prefix); ok {
			return validID(rest)
		}
	}
	return false
}

// quoteShort quotes s for an error message, truncated to a safe length.
func quoteShort(s string) string {
	const maxLen = 64
	if len(s) > maxLen {
		return fmt.Sprintf("%q... (%d bytes)", s[:maxLen], len(s))
	}
	return fmt.Sprintf("%q", s)
}
