package webhook

import (
	"encoding/base64"
	"strings"
)

// decodedLen is the key length of a whsec_ secret.
func decodedLen(secret string) (int, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	return len(b), err
}
