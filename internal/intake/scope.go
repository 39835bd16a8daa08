package intake

import (
	"net/http"
	"strconv"

	"github.com/patchbay/patchbay/internal/ccloud"
)

// Permission names something a caller may be allowed to do.
type Permission string

// The permissions a caller can be given.
const (
	// PermUpdatePeering queues PATCH /networking/v1/peerings/{id}.
	PermUpdatePeering = Permission(ccloud.UpdatePeering)
	// PermUpdateIntegration queues PATCH /notifications/v1/integrations/{id}.
	PermUpdateIntegration = Permission(ccloud.UpdateIntegration)
	// PermReadChanges reads change records (GET /v1/changes/{id}).
	PermReadChanges Permission = "changes.read"
	// PermRetryChanges re-queues failed changes (POST /v1/changes/{id}/retry).
	PermRetryChanges Permission = "changes.retry"
)

// AllPermissions lists every permission, the scope of an API_TOKENS caller.
func AllPermissions() []Permission {
	return []Permission{PermUpdatePeering, PermUpdateIntegration, PermReadChanges, PermRetryChanges}
}

// known reports whether p is one of AllPermissions.
func (p Permission) known() bool {
	switch p {
	case PermUpdatePeering, PermUpdateIntegration, PermReadChanges, PermRetryChanges:
		return true
	default:
		return false
	}
}

// Scope is what a caller may do: which permissions, and optionally which
// peering environments (spec.environment.id) and resource ids. A nil
// environment or resource set means any.
type Scope struct {
	permissions  map[Permission]bool
	environments map[string]bool
	resources    map[string]bool
}

// FullScope allows everything.
func FullScope() Scope {
	s := Scope{permissions: map[Permission]bool{}}
	for _, p := range AllPermissions() {
		s.permissions[p] = true
	}
	return s
}

// Allows reports whether the scope grants p.
func (s Scope) Allows(p Permission) bool { return s.permissions[p] }

// AllowsEnvironment reports whether peerings in environment env may be changed.
func (s Scope) AllowsEnvironment(env string) bool {
	return s.environments == nil || s.environments[env]
}

// AllowsResource reports whether the resource with this id may be changed.
func (s Scope) AllowsResource(id string) bool { return s.resources == nil || s.resources[id] }

// restrictsEnvironments reports whether the scope names environments.
func (s Scope) restrictsEnvironments() bool { return s.environments != nil }

// forbidden is the 403 for a caller acting beyond its scope.
func forbidden(detail string) *problem {
	return fail(http.StatusForbidden, "forbidden", "Forbidden", detail, "")
}

// forbidOperation is the 403 for a permission the caller lacks.
func forbidOperation(c *Caller, p Permission) *problem {
	return forbidden("caller " + strconv.Quote(c.Name) + " is not allowed to " + string(p))
}

// forbidResource is the 403 for a resource outside the caller's scope.
func forbidResource(c *Caller, kind, id string) *problem {
	return failParam(http.StatusForbidden, "forbidden", "Forbidden",
		"caller "+strconv.Quote(c.Name)+" is not allowed to change "+kind+" "+strconv.Quote(id), "id")
}

// forbidEnvironment is the 403 for a peering environment outside the
// caller's scope; it points at the field.
func forbidEnvironment(c *Caller) *problem {
	return fail(http.StatusForbidden, "forbidden", "Forbidden",
		"caller "+strconv.Quote(c.Name)+" is not allowed to change peerings in this environment", "/spec/environment/id")
}
