package ccloud

import (
	"context"
	"encoding/json"
	"fmt"
)

// UpdatePeering sends Update a Peering and decodes the returned Peering.
// Errors are as for Do; a 2xx body that does not decode is a *PermanentError.
func (c *Client) UpdatePeering(ctx context.Context, id string, req PeeringUpdate) (*Peering, *Response, error) {
	var out Peering
	resp, err := c.doTyped(ctx, UpdatePeering, id, req, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// UpdateIntegration sends Update an Integration and decodes the returned
// Integration. Errors are as for Do; a 2xx body that does not decode is a
// *PermanentError.
func (c *Client) UpdateIntegration(ctx context.Context, id string, req IntegrationUpdate) (*Integration, *Response, error) {
	var out Integration
	resp, err := c.doTyped(ctx, UpdateIntegration, id, req, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// doTyped marshals req, calls Do and decodes a 2xx body into out.
func (c *Client) doTyped(ctx context.Context, op Operation, id string, req, out any) (*Response, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, &PermanentError{Err: fmt.Errorf("client: encode %s request: %w", op.Kind(), err)}
	}
	resp, err := c.Do(ctx, op, id, body)
	if err != nil {
		return resp, err
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		// json errors name types and offsets, never the body's content.
		return resp, &PermanentError{Status: resp.Status, Response: resp,
			Err: fmt.Errorf("upstream returned a malformed %s: %w", op.Kind(), err)}
	}
	return resp, nil
}
