package ccloudsim

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/patchbay/patchbay/internal/schema"
)

// Path prefixes of the two operations.
const (
	peeringsPrefix     = "/networking/v1/peerings/"
	integrationsPrefix = "/notifications/v1/integrations/"
)

// resourceKind tells the two routes apart.
type resourceKind int

const (
	kindPeering resourceKind = iota + 1
	kindIntegration
)

// parseRoute maps an escaped path to a route and its (unescaped) id.
func parseRoute(escapedPath string) (resourceKind, string, bool) {
	routes := [...]struct {
		prefix string
		kind   resourceKind
	}{{peeringsPrefix, kindPeering}, {integrationsPrefix, kindIntegration}}
	for _, rt := range routes {
		prefix, kind := rt.prefix, rt.kind
		rest, found := strings.CutPrefix(escapedPath, prefix)
		if !found || rest == "" || strings.Contains(rest, "/") {
			continue
		}
		id, err := url.PathUnescape(rest)
		if err != nil {
			return kind, "", true // an id that can never be valid
		}
		return kind, id, true
	}
	return 0, "", false
}

// route answers a request that passed auth, rate limit and fault injection.
func (s *Server) route(r *http.Request, body []byte, tooLarge bool, id string) response {
	kind, rid, ok := parseRoute(r.URL.EscapedPath())
	if !ok {
		return errorResponse(id, http.StatusNotFound, "not_found", "Not Found", "No such API endpoint.", "")
	}
	if r.Method != http.MethodPatch {
		resp := errorResponse(id, http.StatusMethodNotAllowed, "method_not_allowed", "Method Not Allowed",
			"Only PATCH is supported on this path.", "")
		resp.header("Allow", http.MethodPatch)
		return resp
	}
	if !schema.ValidID(rid) {
		return notFound(id, "The requested resource was not found.")
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return errorResponse(id, http.StatusUnsupportedMediaType, "unsupported_media_type", "Unsupported Media Type",
			"The request body must be sent with Content-Type: application/json.", "")
	}
	if tooLarge {
		return errorResponse(id, http.StatusRequestEntityTooLarge, "request_entity_too_large", "Request Entity Too Large",
			"The request body is larger than 1 MiB.", "")
	}
	validate := schema.ValidatePeeringUpdate
	if kind == kindIntegration {
		validate = schema.ValidateIntegrationUpdate
	}
	if err := validate(body); err != nil {
		var se *schema.Error
		if errors.As(err, &se) {
			return envelopeResponse(id, se.Status, se.Envelope)
		}
		return errorResponse(id, http.StatusBadRequest, "bad_request", "Bad Request", "The request body is invalid.", "")
	}
	if kind == kindPeering {
		return s.updatePeering(rid, body, id)
	}
	return s.updateIntegration(rid, body, id)
}
