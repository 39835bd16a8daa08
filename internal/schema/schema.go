// Package schema validates the PATCH request bodies of the two Confluent Cloud
// operations Patchbay performs (Update a Peering, Update an Integration) by the
// rules of the upstream's OpenAPI documents. It is shared by the Patchbay intake
// and the Confluent Cloud simulator so that both reject exactly the same bodies
// with exactly the same error envelope.
//
// Problems are reported in the upstream's error envelope, one entry per problem,
// each with an RFC 6901 JSON pointer to the field at fault. Details never echo
// field values, because some of them (Slack and Teams webhook URLs) are secrets.
package schema

import (
	"net/http"
	"strconv"

	"github.com/patchbay/patchbay/internal/apierror"
)

// Codes of 400 problems: the body is not a well-formed, unambiguous JSON object.
const (
	// CodeMalformedJSON: the body is empty or not valid JSON.
	CodeMalformedJSON = "malformed_json"
	// CodeInvalidUTF8: the body is not valid UTF-8.
	CodeInvalidUTF8 = "invalid_utf8"
	// CodeDuplicateKey: an object has the same key twice.
	CodeDuplicateKey = "duplicate_key"
	// CodeTooDeep: objects and arrays are nested deeper than MaxDepth.
	CodeTooDeep = "too_deep"
	// CodeTrailingData: something follows the JSON object.
	CodeTrailingData = "trailing_data"
	// CodeNotObject: the body is valid JSON but not an object.
	CodeNotObject = "not_an_object"
)

// Codes of 422 problems: the body is a JSON object that violates the schema.
const (
	// CodeInvalidType: a value has the wrong JSON type (null included).
	CodeInvalidType = "invalid_type"
	// CodeRequired: a required field is missing.
	CodeRequired = "required"
	// CodeTooLong: a string has more code points than allowed.
	CodeTooLong = "too_long"
	// CodeTooShort: a string has fewer code points than allowed.
	CodeTooShort = "too_short"
	// CodeUnknownField: the field is not part of the schema.
	CodeUnknownField = "unknown_field"
	// CodeImmutableField: the field cannot be changed after creation.
	CodeImmutableField = "immutable_field"
	// CodeReadOnlyField: the field is set by the server only.
	CodeReadOnlyField = "read_only_field"
	// CodeInvalidEnum: the value is not one of the allowed values.
	CodeInvalidEnum = "invalid_enum"
	// CodeInvalidURL: the value is not an absolute http(s) URL with a host.
	CodeInvalidURL = "invalid_url"
	// CodeNotUpdatable: the resource kind cannot be updated through this API.
	CodeNotUpdatable = "not_updatable"
)

// MaxDepth is the deepest nesting of objects and arrays accepted; the body's
// top-level object is depth 1.
const MaxDepth = 32

// Error is a validation failure. Status is 400 for a body that is not a single
// well-formed JSON object (malformed JSON, invalid UTF-8, duplicate keys, too
// deep, trailing data, not an object) and 422 for a schema violation. Envelope
// holds one entry per problem, in document order.
type Error struct {
	Status   int
	Envelope apierror.Envelope
}

// Error implements error.
func (e *Error) Error() string {
	return "schema: " + e.Envelope.Error()
}

// Unwrap exposes the envelope, so errors.As can reach an apierror.Envelope.
func (e *Error) Unwrap() error {
	return e.Envelope
}

// problem builds one envelope entry; an empty pointer means the whole body.
func problem(status int, code, pointer, detail string) apierror.Error {
	e := apierror.Error{
		Status: strconv.Itoa(status),
		Code:   code,
		Title:  title(code),
		Detail: detail,
	}
	if pointer != "" {
		e.Source = &apierror.Source{Pointer: pointer}
	}
	return e
}

// newError wraps problems (at least one) into an *Error.
func newError(status int, problems []apierror.Error) *Error {
	return &Error{Status: status, Envelope: apierror.Envelope{Errors: problems}}
}

// title is the fixed, human-readable summary of a code.
func title(code string) string {
	switch code {
	case CodeMalformedJSON:
		return "Malformed JSON"
	case CodeInvalidUTF8:
		return "Invalid Encoding"
	case CodeDuplicateKey:
		return "Duplicate Key"
	case CodeTooDeep:
		return "Nesting Too Deep"
	case CodeTrailingData:
		return "Trailing Data"
	case CodeNotObject:
		return "Body Not An Object"
	case CodeInvalidType:
		return "Invalid Type"
	case CodeRequired:
		return "Required Field Missing"
	case CodeTooLong:
		return "Value Too Long"
	case CodeTooShort:
		return "Value Too Short"
	case CodeUnknownField:
		return "Unknown Field"
	case CodeImmutableField:
		return "Immutable Field"
	case CodeReadOnlyField:
		return "Read-Only Field"
	case CodeInvalidEnum:
		return "Invalid Value"
	case CodeInvalidURL:
		return "Invalid URL"
	case CodeNotUpdatable:
		return "Not Updatable"
	default:
		return http.StatusText(http.StatusUnprocessableEntity)
	}
}
