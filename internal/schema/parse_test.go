package schema

import (
	"strings"
	"testing"
)

// nested returns a body whose spec.x holds depth-1 nested arrays, so the whole
// document nests objects and arrays depth+1 levels deep.
func nested(depth int) string {
	return `{"spec":{"x":` + strings.Repeat("[", depth-2) + strings.Repeat("]", depth-2) + `}}`
}

func TestParseProblems(t *testing.T) {
	tests := []validationCase{
		{name: "empty", body: ``, status: 400, want: []want{{CodeMalformedJSON, ""}}},
		{name: "whitespace only", body: " \n\t", status: 400, want: []want{{CodeMalformedJSON, ""}}},
		{name: "syntax error", body: `{"spec":}`, status: 400, want: []want{{CodeMalformedJSON, ""}}},
		{name: "truncated", body: `{"spec":{"environment":{"id":"e"`, status: 400, want: []want{{CodeMalformedJSON, ""}}},
		{name: "trailing comma", body: `{"spec":{},}`, status: 400, want: []want{{CodeMalformedJSON, ""}}},
		{name: "single quotes", body: `{'spec':{}}`, status: 400, want: []want{{CodeMalformedJSON, ""}}},
		{name: "invalid utf8 in string", body: "{\"spec\":{\"display_name\":\"\xff\"}}", status: 400, want: []want{{CodeInvalidUTF8, ""}}},
		{name: "array", body: `[]`, status: 400, want: []want{{CodeNotObject, ""}}},
		{name: "string", body: `"spec"`, status: 400, want: []want{{CodeNotObject, ""}}},
		{name: "null", body: `null`, status: 400, want: []want{{CodeNotObject, ""}}},
		{name: "number", body: `12`, status: 400, want: []want{{CodeNotObject, ""}}},
		{name: "trailing object", body: `{"spec":{}} {}`, status: 400, want: []want{{CodeTrailingData, ""}}},
		{name: "trailing garbage", body: `{"spec":{}}x`, status: 400, want: []want{{CodeTrailingData, ""}}},
		{name: "trailing close brace", body: `{"spec":{}}}`, status: 400, want: []want{{CodeTrailingData, ""}}},
		{name: "duplicate top-level key", body: `{"spec":{},"spec":{}}`, status: 400, want: []want{{CodeDuplicateKey, "/spec"}}},
		{name: "duplicate nested key", body: `{"spec":{"environment":{"id":"a","id":"b"}}}`, status: 400, want: []want{{CodeDuplicateKey, "/spec/environment/id"}}},
		{name: "duplicate via escape", body: `{"spec":{"display_name":"a","display\u005fname":"b"}}`, status: 400, want: []want{{CodeDuplicateKey, "/spec/display_name"}}},
		{name: "duplicate in array item", body: `{"x":[{"a":1},{"a":1,"a":2}]}`, status: 400, want: []want{{CodeDuplicateKey, "/x/1/a"}}},
		{name: "duplicate key escaped pointer", body: `{"a/b":1,"a/b":2}`, status: 400, want: []want{{CodeDuplicateKey, "/a~1b"}}},
		{name: "all duplicates in order", body: `{"a":1,"a":2,"b":{"c":1,"c":2}}`, status: 400, want: []want{{CodeDuplicateKey, "/a"}, {CodeDuplicateKey, "/b/c"}}},
		{name: "same key in sibling objects is fine", body: `{"spec":{"environment":{"id":"e"}},"x":{"spec":1}}`, status: 422, want: []want{{CodeUnknownField, "/x"}}},
		{name: "depth 32 accepted", body: nested(32), status: 422, want: []want{{CodeUnknownField, "/spec/x"}, {CodeRequired, "/spec/environment"}}},
		{name: "depth 33 rejected", body: nested(33), status: 400, want: []want{{CodeTooDeep, "/spec/x" + strings.Repeat("/0", 30)}}},
		{name: "very deep rejected", body: strings.Repeat(`{"a":`, 100000), status: 400, want: []want{{CodeTooDeep, strings.Repeat("/a", 32)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkResult(t, ValidatePeeringUpdate([]byte(tt.body)), tt.status, tt.want)
		})
	}
}

func TestParseProblemsAreSharedByBothOperations(t *testing.T) {
	bodies := []string{``, `[]`, `{"a":1,"a":2}`, `{} x`, "{\"a\":\"\xc3\"}", nested(33)}
	for _, b := range bodies {
		p, i := ValidatePeeringUpdate([]byte(b)), ValidateIntegrationUpdate([]byte(b))
		if p == nil || i == nil || p.Error() != i.Error() {
			t.Errorf("body %q: peering %v, integration %v; want the same 400", b, p, i)
		}
	}
}
