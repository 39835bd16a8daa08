package intake_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/patchbay/patchbay/internal/intake"
)

// openAPIDoc is the part of an OpenAPI 3 document the tests look at.
type openAPIDoc struct {
	OpenAPI string                                 `yaml:"openapi"`
	Paths   map[string]map[string]openAPIOperation `yaml:"paths"`
}

type openAPIOperation struct {
	OperationID string         `yaml:"operationId"`
	Responses   map[string]any `yaml:"responses"`
}

var httpMethods = map[string]bool{
	"get": true, "put": true, "post": true, "delete": true, "options": true,
	"head": true, "patch": true, "trace": true,
}

var (
	pathParam  = regexp.MustCompile(`\{([^{}/]+)\}`)
	statusCode = regexp.MustCompile(`^[1-5][0-9X]{2}$`)
)

func parseOpenAPI(t *testing.T) openAPIDoc {
	t.Helper()
	var doc openAPIDoc
	dec := yaml.NewDecoder(bytes.NewReader(intake.OpenAPI()))
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q, want 3.x", doc.OpenAPI)
	}
	if len(doc.Paths) == 0 {
		t.Fatal("openapi.yaml documents no paths")
	}
	return doc
}

// documentedRoutes returns "METHOD /path/:param" for every documented operation.
func documentedRoutes(doc openAPIDoc) []string {
	var out []string
	for p, item := range doc.Paths {
		echoPath := pathParam.ReplaceAllString(p, ":$1")
		for m := range item {
			if httpMethods[m] {
				out = append(out, strings.ToUpper(m)+" "+echoPath)
			}
		}
	}
	sort.Strings(out)
	return out
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	t.Parallel()
	b := newBundle(t, intake.Config{})
	doc := parseOpenAPI(t)

	routes := slices.Clone(b.srv.Routes())
	sort.Strings(routes)
	documented := documentedRoutes(doc)
	if len(routes) == 0 {
		t.Fatal("server registers no routes")
	}
	for _, r := range routes {
		if _, found := slices.BinarySearch(documented, r); !found {
			t.Errorf("route %q is not documented in openapi.yaml", r)
		}
	}
	for _, d := range documented {
		if _, found := slices.BinarySearch(routes, d); !found {
			t.Errorf("openapi.yaml documents %q, which the server does not register", d)
		}
	}
	if t.Failed() {
		t.Logf("routes:     %q", routes)
		t.Logf("documented: %q", documented)
	}

	// The contract of DESIGN.md, so that a route dropped from both the
	// server and the document is still noticed.
	for _, want := range []string{
		"PATCH /networking/v1/peerings/:id",
		"PATCH /notifications/v1/integrations/:id",
		"GET /v1/changes/:change_id",
		"POST /v1/changes/:change_id/retry",
		"GET /healthz",
		"GET /readyz",
		"GET /openapi.yaml",
	} {
		if !slices.Contains(routes, want) {
			t.Errorf("server does not register %q", want)
		}
	}
}

func TestOpenAPIOperations(t *testing.T) {
	t.Parallel()
	doc := parseOpenAPI(t)
	ids := map[string]string{}
	for p, item := range doc.Paths {
		for m, op := range item {
			if !httpMethods[m] {
				continue
			}
			where := strings.ToUpper(m) + " " + p
			if op.OperationID == "" {
				t.Errorf("%s has no operationId", where)
			} else if prev, dup := ids[op.OperationID]; dup {
				t.Errorf("operationId %q used by %s and %s", op.OperationID, prev, where)
			} else {
				ids[op.OperationID] = where
			}
			if len(op.Responses) == 0 {
				t.Errorf("%s has no responses", where)
			}
			for code := range op.Responses {
				if code != "default" && !statusCode.MatchString(code) {
					t.Errorf("%s has response %q, not an HTTP status", where, code)
				}
			}
		}
	}
}

func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	b := newBundle(t, intake.Config{})
	rec := b.do(t, httptest.NewRequest(http.MethodGet, "/openapi.yaml", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /openapi.yaml = %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/yaml" {
		t.Errorf("Content-Type = %q, want application/yaml", ct)
	}
	if !bytes.Equal(rec.Body.Bytes(), intake.OpenAPI()) {
		t.Error("served document differs from intake.OpenAPI()")
	}
	if !bytes.HasPrefix(rec.Body.Bytes(), []byte("openapi: 3")) {
		t.Errorf("served document does not start like OpenAPI 3: %.40q", rec.Body.String())
	}
	// OpenAPI returns a copy: changing it does not change what is served.
	doc := intake.OpenAPI()
	doc[0] = 'X'
	again := b.do(t, httptest.NewRequest(http.MethodGet, "/openapi.yaml", nil))
	if !bytes.Equal(again.Body.Bytes(), rec.Body.Bytes()) {
		t.Error("mutating the result of OpenAPI() changed the served document")
	}
}
