package ccloudsim

import (
	"encoding/json"
	"time"
)

// objectMeta is the metadata of a resource in a response.
type objectMeta struct {
	Self         string `json:"self"`
	ResourceName string `json:"resource_name"`
	CreatedAt    string `json:"created_at"`
	UpdatedAt    string `json:"updated_at"`
}

// objectRef is an ObjectReference in a response.
type objectRef struct {
	ID           string `json:"id"`
	Related      string `json:"related"`
	ResourceName string `json:"resource_name"`
}

// peeringDoc is the 200 body of Update a Peering.
type peeringDoc struct {
	APIVersion string     `json:"api_version"`
	Kind       string     `json:"kind"`
	ID         string     `json:"id"`
	Metadata   objectMeta `json:"metadata"`
	Spec       struct {
		DisplayName string         `json:"display_name"`
		Cloud       map[string]any `json:"cloud"`
		Environment objectRef      `json:"environment"`
		Network     objectRef      `json:"network"`
	} `json:"spec"`
	Status struct {
		Phase string `json:"phase"`
	} `json:"status"`
}

// integrationDoc is the 200 body of Update an Integration.
type integrationDoc struct {
	APIVersion  string         `json:"api_version"`
	Kind        string         `json:"kind"`
	ID          string         `json:"id"`
	Metadata    objectMeta     `json:"metadata"`
	DisplayName string         `json:"display_name"`
	Description string         `json:"description"`
	Target      map[string]any `json:"target"`
}

// timestamp formats t as RFC 3339 in UTC.
func timestamp(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}

// renderPeering renders p as the upstream does.
func (s *Server) renderPeering(p Peering) ([]byte, error) {
	envCRN := "crn://confluent.cloud/organization=" + s.opts.Organization + "/environment=" + p.EnvironmentID
	netCRN := envCRN + "/network=" + p.NetworkID
	var d peeringDoc
	d.APIVersion, d.Kind, d.ID = "networking/v1", "Peering", p.ID
	d.Metadata = objectMeta{
		Self:         s.opts.BaseURL + peeringsPrefix + p.ID,
		ResourceName: netCRN + "/peering=" + p.ID,
		CreatedAt:    timestamp(p.CreatedAt),
		UpdatedAt:    timestamp(p.UpdatedAt),
	}
	d.Spec.DisplayName = p.DisplayName
	d.Spec.Cloud = p.Cloud
	if d.Spec.Cloud == nil {
		d.Spec.Cloud = map[string]any{}
	}
	d.Spec.Environment = objectRef{ID: p.EnvironmentID, Related: s.opts.BaseURL + "/v2/environments/" + p.EnvironmentID, ResourceName: envCRN}
	d.Spec.Network = objectRef{ID: p.NetworkID, Related: s.opts.BaseURL + "/networking/v1/networks/" + p.NetworkID, ResourceName: netCRN}
	d.Status.Phase = p.Phase
	return json.Marshal(d)
}

// renderIntegration renders i as the upstream does.
func (s *Server) renderIntegration(i Integration) ([]byte, error) {
	d := integrationDoc{
		APIVersion: "notifications/v1", Kind: "Integration", ID: i.ID,
		Metadata: objectMeta{
			Self:         s.opts.BaseURL + integrationsPrefix + i.ID,
			ResourceName: "crn://confluent.cloud/organization=" + s.opts.Organization + "/integration=" + i.ID,
			CreatedAt:    timestamp(i.CreatedAt),
			UpdatedAt:    timestamp(i.UpdatedAt),
		},
		DisplayName: i.DisplayName,
		Description: i.Description,
		Target:      i.Target,
	}
	if d.Target == nil {
		d.Target = map[string]any{}
	}
	return json.Marshal(d)
}
