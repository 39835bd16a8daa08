package schema

// maxIDLen is the longest path id accepted.
const maxIDLen = 255

// ValidID reports whether a path id matches ^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$.
// Such an id is a single, unescaped path segment, so it can never make a
// request reach another upstream path.
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > maxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case (c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}
