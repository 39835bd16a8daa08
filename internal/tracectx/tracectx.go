// Package tracectx checks W3C Trace Context `traceparent` values. Patchbay
// does not trace by itself; it carries the caller's traceparent from the
// intake through the queue to the upstream call and the result event, so a
// chat bot's request can be followed end to end. Values that are not
// well formed are dropped, never propagated.
package tracectx

// Header is the W3C Trace Context header (and CloudEvents extension) name.
const Header = "traceparent"

// length of "vv-<32 hex trace id>-<16 hex parent id>-ff".
const length = 2 + 1 + 32 + 1 + 16 + 1 + 2

// Valid reports whether tp is a well-formed traceparent: lowercase hex
// fields `version-traceid-parentid-flags` of 2, 32, 16 and 2 digits, a
// version other than ff, and a trace id and parent id that are not all
// zeros (both forbidden by the specification).
func Valid(tp string) bool {
	if len(tp) != length || tp[2] != '-' || tp[35] != '-' || tp[52] != '-' {
		return false
	}
	for i := 0; i < len(tp); i++ {
		if i == 2 || i == 35 || i == 52 {
			continue
		}
		if !isLowerHex(tp[i]) {
			return false
		}
	}
	return tp[:2] != "ff" && !allZero(tp[3:35]) && !allZero(tp[36:52])
}

// Clean returns tp when it is Valid and "" otherwise.
func Clean(tp string) string {
	if Valid(tp) {
		return tp
	}
	return ""
}

// TraceID returns the trace id of a valid traceparent (for log lines), or
// "" when tp is not valid.
func TraceID(tp string) string {
	if !Valid(tp) {
		return ""
	}
	return tp[3:35]
}

func isLowerHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }

func allZero(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '0' {
			return false
		}
	}
	return true
}
