package ccloud

import "encoding/json"

// IntegrationUpdate is the body of Update an Integration. Nil fields are
// left unchanged upstream.
type IntegrationUpdate struct {
	// DisplayName is the new name (at most 64 characters).
	DisplayName *string `json:"display_name,omitempty"`
	// Description is the new description (at most 128 characters).
	Description *string `json:"description,omitempty"`
	// Target is the new target; only Slack, Webhook and MsTeams may be updated.
	Target *Target `json:"target,omitempty"`
}

// Integration is the notifications/v1 Integration resource returned by the upstream.
type Integration struct {
	// APIVersion is "notifications/v1".
	APIVersion string `json:"api_version,omitempty"`
	// Kind is "Integration".
	Kind string `json:"kind,omitempty"`
	// ID is the integration id.
	ID string `json:"id,omitempty"`
	// Metadata is the object metadata.
	Metadata ObjectMeta `json:"metadata,omitzero"`
	// DisplayName is the human-readable name.
	DisplayName string `json:"display_name,omitempty"`
	// Description is the human-readable description.
	Description string `json:"description,omitempty"`
	// Target is where notifications go. Slack and Teams URLs are secrets.
	Target Target `json:"target,omitzero"`
}

// Target kinds.
const (
	TargetKindSlack     = "Slack"
	TargetKindWebhook   = "Webhook"
	TargetKindMsTeams   = "MsTeams"
	TargetKindRoleEmail = "RoleEmail"
	TargetKindUserEmail = "UserEmail"
	TargetKindInApp     = "InApp"
)

// Target is the union of integration targets, discriminated by "kind".
// For a known kind exactly one variant pointer is set; for an unknown kind
// only Kind and Raw are set, and Raw is marshalled back unchanged.
type Target struct {
	// Kind is the discriminator.
	Kind string
	// Slack is set when Kind is Slack. Its URL is a secret.
	Slack *SlackTarget
	// Webhook is set when Kind is Webhook.
	Webhook *WebhookTarget
	// MsTeams is set when Kind is MsTeams. Its URL is a secret.
	MsTeams *MsTeamsTarget
	// RoleEmail is set when Kind is RoleEmail.
	RoleEmail *RoleEmailTarget
	// UserEmail is set when Kind is UserEmail.
	UserEmail *UserEmailTarget
	// InApp is set when Kind is InApp.
	InApp *InAppTarget
	// Raw is the original JSON of an unknown kind.
	Raw json.RawMessage
}

// SlackTarget posts to a Slack incoming webhook.
type SlackTarget struct {
	// WebhookURL is the Slack webhook URL (a secret).
	WebhookURL string `json:"webhook_url"`
}

// WebhookTarget posts to a generic webhook.
type WebhookTarget struct {
	// URL is the webhook endpoint.
	URL string `json:"url"`
}

// MsTeamsTarget posts to a Microsoft Teams incoming webhook.
type MsTeamsTarget struct {
	// WebhookURL is the Teams webhook URL (a secret).
	WebhookURL string `json:"webhook_url"`
}

// RoleEmailTarget emails every user with a role.
type RoleEmailTarget struct {
	// RoleName is the role, e.g. OrganizationAdmin.
	RoleName string `json:"role_name"`
}

// UserEmailTarget emails one user.
type UserEmailTarget struct {
	// User references the user.
	User ObjectReference `json:"user"`
}

// InAppTarget notifies one user in the Confluent Cloud console.
type InAppTarget struct {
	// User references the user.
	User ObjectReference `json:"user"`
}

// NewSlackTarget returns a Slack target.
func NewSlackTarget(webhookURL string) Target {
	return Target{Kind: TargetKindSlack, Slack: &SlackTarget{WebhookURL: webhookURL}}
}

// NewWebhookTarget returns a Webhook target.
func NewWebhookTarget(url string) Target {
	return Target{Kind: TargetKindWebhook, Webhook: &WebhookTarget{URL: url}}
}

// NewMsTeamsTarget returns a Microsoft Teams target.
func NewMsTeamsTarget(webhookURL string) Target {
	return Target{Kind: TargetKindMsTeams, MsTeams: &MsTeamsTarget{WebhookURL: webhookURL}}
}

// IsZero reports whether t holds nothing, so omitzero omits it.
func (t Target) IsZero() bool {
	return t.Kind == "" && t.Slack == nil && t.Webhook == nil && t.MsTeams == nil &&
		t.RoleEmail == nil && t.UserEmail == nil && t.InApp == nil && len(t.Raw) == 0
}

// MarshalJSON writes {"kind": ..., <fields>}, or Raw for an unknown kind.
func (t Target) MarshalJSON() ([]byte, error) {
	switch {
	case t.Kind == TargetKindSlack && t.Slack != nil:
		return marshalWithKind(t.Kind, t.Slack)
	case t.Kind == TargetKindWebhook && t.Webhook != nil:
		return marshalWithKind(t.Kind, t.Webhook)
	case t.Kind == TargetKindMsTeams && t.MsTeams != nil:
		return marshalWithKind(t.Kind, t.MsTeams)
	case t.Kind == TargetKindRoleEmail && t.RoleEmail != nil:
		return marshalWithKind(t.Kind, t.RoleEmail)
	case t.Kind == TargetKindUserEmail && t.UserEmail != nil:
		return marshalWithKind(t.Kind, t.UserEmail)
	case t.Kind == TargetKindInApp && t.InApp != nil:
		return marshalWithKind(t.Kind, t.InApp)
	case len(t.Raw) > 0:
		return copyRaw(t.Raw)
	case t.IsZero():
		return []byte("null"), nil
	default:
		return marshalWithKind(t.Kind, struct{}{})
	}
}

// UnmarshalJSON decodes by kind, keeping the raw JSON of an unknown kind.
func (t *Target) UnmarshalJSON(data []byte) error {
	*t = Target{}
	kind, isNull, err := readKind(data)
	if err != nil || isNull {
		return err
	}
	t.Kind = kind
	switch kind {
	case TargetKindSlack:
		t.Slack = new(SlackTarget)
		return decodeVariant(data, t.Slack, kind)
	case TargetKindWebhook:
		t.Webhook = new(WebhookTarget)
		return decodeVariant(data, t.Webhook, kind)
	case TargetKindMsTeams:
		t.MsTeams = new(MsTeamsTarget)
		return decodeVariant(data, t.MsTeams, kind)
	case TargetKindRoleEmail:
		t.RoleEmail = new(RoleEmailTarget)
		return decodeVariant(data, t.RoleEmail, kind)
	case TargetKindUserEmail:
		t.UserEmail = new(UserEmailTarget)
		return decodeVariant(data, t.UserEmail, kind)
	case TargetKindInApp:
		t.InApp = new(InAppTarget)
		return decodeVariant(data, t.InApp, kind)
	default:
		t.Raw = append(json.RawMessage(nil), data...)
		return nil
	}
}
