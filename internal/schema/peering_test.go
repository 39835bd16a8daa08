package schema

import (
	"strings"
	"testing"
)

func TestValidatePeeringUpdate(t *testing.T) {
	long := strings.Repeat("é", 256) // 256 code points, 512 bytes
	id255 := strings.Repeat("é", 255)
	tests := []validationCase{
		{name: "minimal", body: `{"spec":{"environment":{"id":"env-00000"}}}`},
		{name: "display name", body: `{"spec":{"display_name":"prod-peering-use1","environment":{"id":"env-00000"}}}`},
		{name: "empty display name", body: `{"spec":{"display_name":"","environment":{"id":"env-1"}}}`},
		{name: "environment.environment", body: `{"spec":{"environment":{"id":"env-1","environment":"env-1"}}}`},
		{name: "id of 255 code points", body: `{"spec":{"environment":{"id":"` + id255 + `"}}}`},
		{name: "whitespace around", body: " \n{\"spec\":{\"environment\":{\"id\":\"e\"}}}\n "},
		{name: "empty object", body: `{}`, status: 422, want: []want{{CodeRequired, "/spec"}}},
		{name: "spec null", body: `{"spec":null}`, status: 422, want: []want{{CodeInvalidType, "/spec"}}},
		{name: "spec array", body: `{"spec":[]}`, status: 422, want: []want{{CodeInvalidType, "/spec"}}},
		{name: "spec empty", body: `{"spec":{}}`, status: 422, want: []want{{CodeRequired, "/spec/environment"}}},
		{name: "environment string", body: `{"spec":{"environment":"env-1"}}`, status: 422, want: []want{{CodeInvalidType, "/spec/environment"}}},
		{name: "environment null", body: `{"spec":{"environment":null}}`, status: 422, want: []want{{CodeInvalidType, "/spec/environment"}}},
		{name: "environment id missing", body: `{"spec":{"environment":{}}}`, status: 422, want: []want{{CodeRequired, "/spec/environment/id"}}},
		{name: "environment id number", body: `{"spec":{"environment":{"id":5}}}`, status: 422, want: []want{{CodeInvalidType, "/spec/environment/id"}}},
		{name: "environment id null", body: `{"spec":{"environment":{"id":null}}}`, status: 422, want: []want{{CodeInvalidType, "/spec/environment/id"}}},
		{name: "environment id empty", body: `{"spec":{"environment":{"id":""}}}`, status: 422, want: []want{{CodeTooShort, "/spec/environment/id"}}},
		{name: "environment id 256 code points", body: `{"spec":{"environment":{"id":"` + long + `"}}}`, status: 422, want: []want{{CodeTooLong, "/spec/environment/id"}}},
		{name: "environment.environment empty", body: `{"spec":{"environment":{"id":"e","environment":""}}}`, status: 422, want: []want{{CodeTooShort, "/spec/environment/environment"}}},
		{name: "environment.environment too long", body: `{"spec":{"environment":{"id":"e","environment":"` + long + `"}}}`, status: 422, want: []want{{CodeTooLong, "/spec/environment/environment"}}},
		{name: "environment.environment bool", body: `{"spec":{"environment":{"id":"e","environment":true}}}`, status: 422, want: []want{{CodeInvalidType, "/spec/environment/environment"}}},
		{name: "environment read-only fields", body: `{"spec":{"environment":{"id":"e","related":"x","resource_name":"y","api_version":"v","kind":"k"}}}`, status: 422,
			want: []want{{CodeReadOnlyField, "/spec/environment/related"}, {CodeReadOnlyField, "/spec/environment/resource_name"}, {CodeReadOnlyField, "/spec/environment/api_version"}, {CodeReadOnlyField, "/spec/environment/kind"}}},
		{name: "environment unknown field", body: `{"spec":{"environment":{"id":"e","name":"x"}}}`, status: 422, want: []want{{CodeUnknownField, "/spec/environment/name"}}},
		{name: "display name number", body: `{"spec":{"display_name":1,"environment":{"id":"e"}}}`, status: 422, want: []want{{CodeInvalidType, "/spec/display_name"}}},
		{name: "display name null", body: `{"spec":{"display_name":null,"environment":{"id":"e"}}}`, status: 422, want: []want{{CodeInvalidType, "/spec/display_name"}}},
		{name: "cloud immutable", body: `{"spec":{"cloud":{"kind":"AwsPeering"},"environment":{"id":"e"}}}`, status: 422, want: []want{{CodeImmutableField, "/spec/cloud"}}},
		{name: "network immutable", body: `{"spec":{"environment":{"id":"e"},"network":{"id":"n-1"}}}`, status: 422, want: []want{{CodeImmutableField, "/spec/network"}}},
		{name: "network null still immutable", body: `{"spec":{"environment":{"id":"e"},"network":null}}`, status: 422, want: []want{{CodeImmutableField, "/spec/network"}}},
		{name: "spec unknown field", body: `{"spec":{"environment":{"id":"e"},"displayName":"x"}}`, status: 422, want: []want{{CodeUnknownField, "/spec/displayName"}}},
		{name: "top-level read-only fields", body: `{"api_version":"networking/v1","kind":"Peering","id":"p-1","metadata":{},"status":{"phase":"READY"},"spec":{"environment":{"id":"e"}}}`, status: 422,
			want: []want{{CodeReadOnlyField, "/api_version"}, {CodeReadOnlyField, "/kind"}, {CodeReadOnlyField, "/id"}, {CodeReadOnlyField, "/metadata"}, {CodeReadOnlyField, "/status"}}},
		{name: "top-level unknown field", body: `{"spec":{"environment":{"id":"e"}},"dry_run":true}`, status: 422, want: []want{{CodeUnknownField, "/dry_run"}}},
		{name: "unknown field with slash and tilde", body: `{"spec":{"environment":{"id":"e"},"a~/b":1}}`, status: 422, want: []want{{CodeUnknownField, "/spec/a~0~1b"}}},
		{name: "upstream example body", body: `{"spec":{"display_name":"prod-peering-use1","cloud":{"kind":"AwsPeering","account":"000000000000","vpc":"vpc-00000000000000000","routes":["10.108.16.0/21"],"customer_region":"us-east-1"},"environment":{"id":"env-00000"},"network":{"id":"string","environment":"string"}}}`,
			status: 422, want: []want{{CodeImmutableField, "/spec/cloud"}, {CodeImmutableField, "/spec/network"}}},
		{name: "all problems in document order", body: `{"kind":"Peering","spec":{"network":{},"display_name":false,"environment":{"x":1,"id":""},"cloud":{}},"z":1}`, status: 422,
			want: []want{{CodeReadOnlyField, "/kind"}, {CodeImmutableField, "/spec/network"}, {CodeInvalidType, "/spec/display_name"}, {CodeUnknownField, "/spec/environment/x"}, {CodeTooShort, "/spec/environment/id"}, {CodeImmutableField, "/spec/cloud"}, {CodeUnknownField, "/z"}}},
		{name: "required problems after the object's members", body: `{"x":1,"spec":{"y":2,"environment":{"z":3}}}`, status: 422,
			want: []want{{CodeUnknownField, "/x"}, {CodeUnknownField, "/spec/y"}, {CodeUnknownField, "/spec/environment/z"}, {CodeRequired, "/spec/environment/id"}}},
		{name: "missing spec reported last", body: `{"kind":"Peering"}`, status: 422, want: []want{{CodeReadOnlyField, "/kind"}, {CodeRequired, "/spec"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkResult(t, ValidatePeeringUpdate([]byte(tt.body)), tt.status, tt.want)
		})
	}
}
