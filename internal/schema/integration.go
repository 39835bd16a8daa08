package schema

import "fmt"

// Length limits of an integration's human-readable fields.
const (
	displayNameMaxLen = 64
	descriptionMaxLen = 128
)

// Integration target kinds.
const (
	kindSlack     = "Slack"
	kindWebhook   = "Webhook"
	kindMsTeams   = "MsTeams"
	kindRoleEmail = "RoleEmail"
	kindUserEmail = "UserEmail"
	kindInApp     = "InApp"
)

// ValidateIntegrationUpdate validates a body for PATCH
// /notifications/v1/integrations/{id}; it returns nil or an *Error (400 or
// 422) listing every problem. Every field is optional: {} is valid.
func ValidateIntegrationUpdate(body []byte) error {
	root, perr := parse(body)
	if perr != nil {
		return perr
	}
	var c checker
	for _, m := range root.members {
		ptr := child("", m.key)
		switch m.key {
		case "display_name":
			c.stringLen(m.val, ptr, 0, displayNameMaxLen)
		case "description":
			c.stringLen(m.val, ptr, 0, descriptionMaxLen)
		case "target":
			c.target(m.val, ptr)
		case "api_version", "kind", "id", "metadata":
			c.readOnly(ptr)
		default:
			c.unknown(ptr)
		}
	}
	return c.result()
}

// target checks notifications.v1.Target. The allowed keys depend on the kind,
// so when the kind is missing or unusable only that problem is reported.
func (c *checker) target(v *value, ptr string) {
	if !c.isType(v, kindObject, ptr) {
		return
	}
	kptr := child(ptr, "kind")
	kv, ok := v.get("kind")
	if !ok {
		c.required(kptr)
		return
	}
	if !c.isType(kv, kindString, kptr) {
		return
	}
	var urlKey string
	switch kv.str {
	case kindSlack, kindMsTeams:
		urlKey = "webhook_url"
	case kindWebhook:
		urlKey = "url"
	case kindRoleEmail, kindUserEmail, kindInApp:
		c.add(CodeNotUpdatable, kptr, fmt.Sprintf(
			"Integrations of kind %s cannot be updated; only Webhook, Slack and MsTeams integrations can be updated.", kv.str))
		return
	default:
		c.add(CodeInvalidEnum, kptr, fmt.Sprintf("The property '%s' must be one of Slack, Webhook, MsTeams.", kptr))
		return
	}
	hasURL := false
	for _, m := range v.members {
		mptr := child(ptr, m.key)
		switch m.key {
		case "kind":
		case urlKey:
			hasURL = true
			c.httpURL(m.val, mptr)
		default:
			c.add(CodeUnknownField, mptr, fmt.Sprintf(
				"The property '%s' is not allowed in a %s target, which takes only kind and %s.", mptr, kv.str, urlKey))
		}
	}
	if !hasURL {
		c.required(child(ptr, urlKey))
	}
}
