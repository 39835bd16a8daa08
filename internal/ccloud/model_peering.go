package ccloud

import (
	"encoding/json"
	"fmt"
)

// Phase is the lifecycle phase of a peering.
type Phase string

// Peering phases, as documented by the upstream.
const (
	PhaseProvisioning   Phase = "PROVISIONING"
	PhasePendingAccept  Phase = "PENDING_ACCEPT"
	PhaseReady          Phase = "READY"
	PhaseFailed         Phase = "FAILED"
	PhaseDeprovisioning Phase = "DEPROVISIONING"
	PhaseDisconnected   Phase = "DISCONNECTED"
)

// PeeringUpdate is the body of Update a Peering.
type PeeringUpdate struct {
	// Spec is the desired state; only the mutable fields are modelled.
	Spec PeeringSpecUpdate `json:"spec"`
}

// PeeringSpecUpdate is the writable part of a peering spec. spec.cloud and
// spec.network are immutable upstream and deliberately absent.
type PeeringSpecUpdate struct {
	// DisplayName is the new name of the peering.
	DisplayName *string `json:"display_name,omitempty"`
	// Environment is required: the environment the peering belongs to.
	Environment EnvScopedRef `json:"environment"`
}

// Peering is the networking/v1 Peering resource returned by the upstream.
type Peering struct {
	// APIVersion is "networking/v1".
	APIVersion string `json:"api_version,omitempty"`
	// Kind is "Peering".
	Kind string `json:"kind,omitempty"`
	// ID is the peering id, e.g. "p-12345".
	ID string `json:"id,omitempty"`
	// Metadata is the object metadata.
	Metadata ObjectMeta `json:"metadata,omitzero"`
	// Spec is the desired state.
	Spec PeeringSpec `json:"spec,omitzero"`
	// Status is the observed state.
	Status PeeringStatus `json:"status,omitzero"`
}

// PeeringSpec is the desired state of a Peering.
type PeeringSpec struct {
	// DisplayName is the name of the peering.
	DisplayName string `json:"display_name,omitempty"`
	// Cloud holds the cloud-specific peering details (immutable).
	Cloud PeeringCloud `json:"cloud,omitzero"`
	// Environment is the environment the peering belongs to.
	Environment ObjectReference `json:"environment,omitzero"`
	// Network is the network the peering belongs to (immutable).
	Network ObjectReference `json:"network,omitzero"`
}

// PeeringStatus is the observed state of a Peering.
type PeeringStatus struct {
	// Phase is the lifecycle phase.
	Phase Phase `json:"phase,omitempty"`
	// ErrorCode is set when the peering failed.
	ErrorCode string `json:"error_code,omitempty"`
	// ErrorMessage is set when the peering failed.
	ErrorMessage string `json:"error_message,omitempty"`
}

// Cloud kinds of PeeringCloud.
const (
	CloudKindAWS   = "AwsPeering"
	CloudKindGCP   = "GcpPeering"
	CloudKindAzure = "AzurePeering"
)

// PeeringCloud is the union of cloud-specific peering details, discriminated
// by "kind". Exactly one of AWS, GCP and Azure is set for a known kind; for
// an unknown kind only Kind and Raw are set, and Raw is marshalled back
// unchanged.
type PeeringCloud struct {
	// Kind is the discriminator: AwsPeering, GcpPeering or AzurePeering.
	Kind string
	// AWS is set when Kind is AwsPeering.
	AWS *AwsPeering
	// GCP is set when Kind is GcpPeering.
	GCP *GcpPeering
	// Azure is set when Kind is AzurePeering.
	Azure *AzurePeering
	// Raw is the original JSON of an unknown kind.
	Raw json.RawMessage
}

// AwsPeering is an AWS VPC peering.
type AwsPeering struct {
	// Account is the 12-digit AWS account id.
	Account string `json:"account"`
	// Vpc is the VPC id.
	Vpc string `json:"vpc"`
	// Routes are the CIDR blocks of the peered VPC.
	Routes []string `json:"routes"`
	// CustomerRegion is the region of the peered VPC.
	CustomerRegion string `json:"customer_region"`
}

// GcpPeering is a Google Cloud VPC peering.
type GcpPeering struct {
	// Project is the Google Cloud project id.
	Project string `json:"project"`
	// VpcNetwork is the name of the peered VPC network.
	VpcNetwork string `json:"vpc_network"`
	// ImportCustomRoutes enables customer route import (default false);
	// nil means absent.
	ImportCustomRoutes *bool `json:"import_custom_routes,omitempty"`
}

// AzurePeering is an Azure VNet peering.
type AzurePeering struct {
	// Tenant is the Azure tenant id.
	Tenant string `json:"tenant"`
	// Vnet is the resource id of the peered VNet.
	Vnet string `json:"vnet"`
	// CustomerRegion is the region of the peered VNet.
	CustomerRegion string `json:"customer_region"`
}

// IsZero reports whether pc holds nothing, so omitzero omits it.
func (pc PeeringCloud) IsZero() bool {
	return pc.Kind == "" && pc.AWS == nil && pc.GCP == nil && pc.Azure == nil && len(pc.Raw) == 0
}

// MarshalJSON writes {"kind": ..., <fields>}, or Raw for an unknown kind.
func (pc PeeringCloud) MarshalJSON() ([]byte, error) {
	switch {
	case pc.Kind == CloudKindAWS && pc.AWS != nil:
		return marshalWithKind(pc.Kind, pc.AWS)
	case pc.Kind == CloudKindGCP && pc.GCP != nil:
		return marshalWithKind(pc.Kind, pc.GCP)
	case pc.Kind == CloudKindAzure && pc.Azure != nil:
		return marshalWithKind(pc.Kind, pc.Azure)
	case len(pc.Raw) > 0:
		return copyRaw(pc.Raw)
	case pc.IsZero():
		return []byte("null"), nil
	default:
		return marshalWithKind(pc.Kind, struct{}{})
	}
}

// UnmarshalJSON decodes by kind, keeping the raw JSON of an unknown kind.
func (pc *PeeringCloud) UnmarshalJSON(data []byte) error {
	*pc = PeeringCloud{}
	kind, isNull, err := readKind(data)
	if err != nil || isNull {
		return err
	}
	pc.Kind = kind
	switch kind {
	case CloudKindAWS:
		pc.AWS = new(AwsPeering)
		return decodeVariant(data, pc.AWS, kind)
	case CloudKindGCP:
		pc.GCP = new(GcpPeering)
		return decodeVariant(data, pc.GCP, kind)
	case CloudKindAzure:
		pc.Azure = new(AzurePeering)
		return decodeVariant(data, pc.Azure, kind)
	default:
		pc.Raw = append(json.RawMessage(nil), data...)
		return nil
	}
}

// decodeVariant decodes data into v, naming kind on failure.
func decodeVariant(data []byte, v any, kind string) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %s: %w", kind, err)
	}
	return nil
}
