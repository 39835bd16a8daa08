package ccloudsim

import (
	"encoding/json"
	"net/http"
)

// peeringUpdate is the part of a validated peering body the update uses.
type peeringUpdate struct {
	Spec struct {
		DisplayName *string `json:"display_name"`
		Environment struct {
			ID string `json:"id"`
		} `json:"environment"`
	} `json:"spec"`
}

// integrationUpdate is a validated integration body.
type integrationUpdate struct {
	DisplayName *string        `json:"display_name"`
	Description *string        `json:"description"`
	Target      map[string]any `json:"target"`
}

// updatePeering applies a validated body to a stored peering.
func (s *Server) updatePeering(rid string, body []byte, id string) response {
	var u peeringUpdate
	if err := json.Unmarshal(body, &u); err != nil { // schema already accepted it
		return errorResponse(id, http.StatusBadRequest, "malformed_json", "Malformed JSON", "The request body is not valid JSON.", "")
	}
	s.mu.Lock()
	p, ok := s.peerings[rid]
	// The API scopes peerings by environment: another environment's peering does not exist.
	if !ok || p.EnvironmentID != u.Spec.Environment.ID {
		s.mu.Unlock()
		return notFound(id, "The peering '"+rid+"' was not found in environment '"+u.Spec.Environment.ID+"'.")
	}
	if u.Spec.DisplayName != nil {
		p.DisplayName = *u.Spec.DisplayName
	}
	p.UpdatedAt = s.opts.Now()
	s.peerings[rid] = p
	out, err := s.renderPeering(p)
	s.mu.Unlock()
	if err != nil {
		return internalError(id)
	}
	return jsonResponse(http.StatusOK, out)
}

// updateIntegration applies a validated body to a stored integration.
func (s *Server) updateIntegration(rid string, body []byte, id string) response {
	var u integrationUpdate
	if err := json.Unmarshal(body, &u); err != nil { // schema already accepted it
		return errorResponse(id, http.StatusBadRequest, "malformed_json", "Malformed JSON", "The request body is not valid JSON.", "")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.integrations[rid]
	if !ok {
		return notFound(id, "The integration '"+rid+"' was not found.")
	}
	if !updatableKind(in.kind()) {
		return errorResponse(id, http.StatusUnprocessableEntity, "not_updatable", "Not Updatable",
			"Integrations of kind "+in.kind()+" cannot be updated; only Webhook, Slack and MsTeams integrations can be updated.", "")
	}
	if u.DisplayName != nil {
		in.DisplayName = *u.DisplayName
	}
	if u.Description != nil {
		in.Description = *u.Description
	}
	if u.Target != nil {
		in.Target = u.Target
	}
	in.UpdatedAt = s.opts.Now()
	s.integrations[rid] = in
	out, err := s.renderIntegration(in)
	if err != nil {
		return internalError(id)
	}
	return jsonResponse(http.StatusOK, out)
}

// updatableKind reports whether an integration of this target kind may be updated.
func updatableKind(kind string) bool {
	switch kind {
	case "Slack", "Webhook", "MsTeams":
		return true
	default:
		return false
	}
}

// internalError is a 500 for a failure inside the simulator.
func internalError(id string) response {
	return errorResponse(id, http.StatusInternalServerError, "internal_server_error", "Oops, something went wrong!",
		"An internal error occurred.", "")
}
