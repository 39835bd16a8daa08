// Package webhooksig verifies HMAC-SHA256 webhook signatures in the
// "X-Hub-Signature-256: sha256=<hex>" form used by GitHub and Jira admin
// webhooks, and the optional Patchbay timestamp that makes a signed request
// expire.
//
// Without a timestamp the signed content is the raw request body. With an
// X-Patchbay-Timestamp header (unix seconds) the signed content is
// "<timestamp>.<body>", so the timestamp cannot be changed without breaking
// the signature, and a request older (or newer) than the allowed skew is
// refused.
package webhooksig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"time"
)

// Header names.
const (
	// HeaderSignature carries "sha256=<64 lower- or upper-case hex digits>".
	HeaderSignature = "X-Hub-Signature-256"
	// HeaderTimestamp carries the unix time (seconds) the sender signed at.
	HeaderTimestamp = "X-Patchbay-Timestamp"
)

// DefaultMaxSkew is how far a timestamp may be from the receiver's clock.
const DefaultMaxSkew = 5 * time.Minute

// prefix starts every signature header value.
const prefix = "sha256="

// Errors returned by Verify and CheckTimestamp.
var (
	// ErrMalformed: the signature header is not "sha256=" and 64 hex digits.
	ErrMalformed = errors.New("webhooksig: signature is not sha256=<64 hex digits>")
	// ErrMismatch: the signature does not match the content and secret.
	ErrMismatch = errors.New("webhooksig: signature does not match")
	// ErrTimestampMalformed: the timestamp is not a decimal unix time in seconds.
	ErrTimestampMalformed = errors.New("webhooksig: timestamp is not unix seconds")
	// ErrTimestampSkew: the timestamp is further from now than the allowed skew.
	ErrTimestampSkew = errors.New("webhooksig: timestamp outside the allowed window")
)

// Content returns the signed content: body, or "<timestamp>.<body>" when a
// timestamp is given.
func Content(body []byte, timestamp string) []byte {
	if timestamp == "" {
		return body
	}
	out := make([]byte, 0, len(timestamp)+1+len(body))
	out = append(out, timestamp...)
	out = append(out, '.')
	return append(out, body...)
}

// Sign returns the header value for content: "sha256=<lower-case hex>".
func Sign(secret, content []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(content)
	return prefix + hex.EncodeToString(mac.Sum(nil))
}

// Parse decodes a signature header value into the 32-byte MAC. The "sha256="
// prefix is case-sensitive, as GitHub sends it; the hex digits are not.
func Parse(header string) ([]byte, error) {
	if len(header) != len(prefix)+2*sha256.Size || header[:len(prefix)] != prefix {
		return nil, ErrMalformed
	}
	mac, err := hex.DecodeString(header[len(prefix):])
	if err != nil {
		return nil, ErrMalformed
	}
	return mac, nil
}

// Verify checks header against content signed with secret, comparing in
// constant time. It returns nil, ErrMalformed or ErrMismatch. An empty secret
// never verifies.
func Verify(secret []byte, header string, content []byte) error {
	got, err := Parse(header)
	if err != nil {
		return err
	}
	return verifyMAC(secret, got, content)
}

// verifyMAC compares an already parsed MAC.
func verifyMAC(secret, got, content []byte) error {
	if len(secret) == 0 {
		return ErrMismatch
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(content)
	if !hmac.Equal(mac.Sum(nil), got) {
		return ErrMismatch
	}
	return nil
}

// Match returns the index of the first secret that verifies header against
// content, or -1. Every secret is tried, whatever the outcome, so the time
// taken does not reveal which one matched. It returns ErrMalformed for a
// header that cannot be parsed and ErrMismatch when no secret matches.
func Match(secrets [][]byte, header string, content []byte) (int, error) {
	got, err := Parse(header)
	if err != nil {
		return -1, err
	}
	found := -1
	for i, s := range secrets {
		if verifyMAC(s, got, content) == nil && found < 0 {
			found = i
		}
	}
	if found < 0 {
		return -1, ErrMismatch
	}
	return found, nil
}

// maxTimestampDigits bounds the timestamp so parsing cannot overflow.
const maxTimestampDigits = 12

// CheckTimestamp parses a unix-seconds timestamp (decimal digits only, no
// sign) and checks that it is within maxSkew of now, in either direction.
func CheckTimestamp(ts string, now time.Time, maxSkew time.Duration) (time.Time, error) {
	if ts == "" || len(ts) > maxTimestampDigits {
		return time.Time{}, ErrTimestampMalformed
	}
	for i := 0; i < len(ts); i++ {
		if ts[i] < '0' || ts[i] > '9' {
			return time.Time{}, ErrTimestampMalformed
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return time.Time{}, ErrTimestampMalformed
	}
	at := time.Unix(sec, 0)
	if d := now.Sub(at); d > maxSkew || d < -maxSkew {
		return at, ErrTimestampSkew
	}
	return at, nil
}
