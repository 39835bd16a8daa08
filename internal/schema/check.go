package schema

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/patchbay/patchbay/internal/apierror"
)

// checker collects 422 problems in document order.
type checker struct {
	problems []apierror.Error
}

// add records a 422 problem.
func (c *checker) add(code, ptr, detail string) {
	c.problems = append(c.problems, problem(http.StatusUnprocessableEntity, code, ptr, detail))
}

// result returns nil or the 422 *Error holding every problem.
func (c *checker) result() error {
	if len(c.problems) == 0 {
		return nil
	}
	return newError(http.StatusUnprocessableEntity, c.problems)
}

// isType checks the JSON type of v, recording invalid_type on a mismatch.
func (c *checker) isType(v *value, want kind, ptr string) bool {
	if v.kind == want {
		return true
	}
	c.add(CodeInvalidType, ptr, fmt.Sprintf("The property '%s' must be of type %s, not %s.", ptr, want, v.kind))
	return false
}

// stringLen checks that v is a string of min..max code points (max < 0: no limit).
func (c *checker) stringLen(v *value, ptr string, minLen, maxLen int) {
	if !c.isType(v, kindString, ptr) {
		return
	}
	n := utf8.RuneCountInString(v.str)
	switch {
	case n < minLen:
		c.add(CodeTooShort, ptr, fmt.Sprintf("The property '%s' must be at least %d characters long, but it has %d.", ptr, minLen, n))
	case maxLen >= 0 && n > maxLen:
		c.add(CodeTooLong, ptr, fmt.Sprintf("The property '%s' must be at most %d characters long, but it has %d.", ptr, maxLen, n))
	}
}

// httpURL checks that v is an absolute http or https URL with a host. The
// detail never repeats the value: webhook URLs are secrets.
func (c *checker) httpURL(v *value, ptr string) {
	if !c.isType(v, kindString, ptr) {
		return
	}
	u, err := url.Parse(v.str)
	if err != nil || (!strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https")) || u.Hostname() == "" {
		c.add(CodeInvalidURL, ptr, fmt.Sprintf("The property '%s' must be an absolute http or https URL with a host.", ptr))
	}
}

// required records a missing required field.
func (c *checker) required(ptr string) {
	c.add(CodeRequired, ptr, fmt.Sprintf("The property '%s' is required.", ptr))
}

// readOnly records a field that only the server sets.
func (c *checker) readOnly(ptr string) {
	c.add(CodeReadOnlyField, ptr, fmt.Sprintf("The property '%s' is read-only and cannot be set in a request.", ptr))
}

// immutable records a field that cannot change after creation.
func (c *checker) immutable(ptr string) {
	c.add(CodeImmutableField, ptr, fmt.Sprintf("The property '%s' is immutable and cannot be updated.", ptr))
}

// unknown records a field that is not part of the schema.
func (c *checker) unknown(ptr string) {
	c.add(CodeUnknownField, ptr, fmt.Sprintf("The property '%s' is not allowed here.", ptr))
}
