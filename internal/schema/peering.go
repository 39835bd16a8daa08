package schema

// Length limits of an ObjectReference's id and environment.
const (
	refMinLen = 1
	refMaxLen = 255
)

// ValidatePeeringUpdate validates a body for PATCH /networking/v1/peerings/{id};
// it returns nil or an *Error (400 or 422) listing every problem.
func ValidatePeeringUpdate(body []byte) error {
	root, perr := parse(body)
	if perr != nil {
		return perr
	}
	var c checker
	hasSpec := false
	for _, m := range root.members {
		ptr := child("", m.key)
		switch m.key {
		case "spec":
			hasSpec = true
			c.peeringSpec(m.val, ptr)
		case "api_version", "kind", "id", "metadata", "status":
			c.readOnly(ptr)
		default:
			c.unknown(ptr)
		}
	}
	if !hasSpec {
		c.required("/spec")
	}
	return c.result()
}

// peeringSpec checks networking.v1.PeeringSpec as it may appear in an update.
func (c *checker) peeringSpec(v *value, ptr string) {
	if !c.isType(v, kindObject, ptr) {
		return
	}
	hasEnv := false
	for _, m := range v.members {
		mptr := child(ptr, m.key)
		switch m.key {
		case "display_name":
			c.isType(m.val, kindString, mptr)
		case "environment":
			hasEnv = true
			c.environmentRef(m.val, mptr)
		case "cloud", "network":
			c.immutable(mptr)
		default:
			c.unknown(mptr)
		}
	}
	if !hasEnv {
		c.required(child(ptr, "environment"))
	}
}

// environmentRef checks an ObjectReference sent by a client: id required,
// environment optional, the server-set fields read-only.
func (c *checker) environmentRef(v *value, ptr string) {
	if !c.isType(v, kindObject, ptr) {
		return
	}
	hasID := false
	for _, m := range v.members {
		mptr := child(ptr, m.key)
		switch m.key {
		case "id":
			hasID = true
			c.stringLen(m.val, mptr, refMinLen, refMaxLen)
		case "environment":
			c.stringLen(m.val, mptr, refMinLen, refMaxLen)
		case "related", "resource_name", "api_version", "kind":
			c.readOnly(mptr)
		default:
			c.unknown(mptr)
		}
	}
	if !hasID {
		c.required(child(ptr, "id"))
	}
}
