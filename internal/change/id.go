package change

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
)

// NewID returns a fresh change id: "chg_" and 26 random base32 characters.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return "chg_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// ValidID reports whether s looks like a change id (safe as a KV key).
func ValidID(s string) bool {
	rest, ok := strings.CutPrefix(s, "chg_")
	if !ok || len(rest) != 26 {
		return false
	}
	for _, c := range rest {
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}
