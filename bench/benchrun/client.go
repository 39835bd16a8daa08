package benchrun

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/patchbay/patchbay/internal/ccloudsim"
)

// NewHTTPClient returns a client that keeps up to conns connections alive
// per host, so a closed loop of conns clients never re-dials.
func NewHTTPClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 90 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        conns * 2,
			MaxIdleConnsPerHost: conns * 2,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
}

// PeeringIDs returns n simulator peering ids p-bench-0000.. (one ordered
// lane each, spread over the partitions).
func PeeringIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("p-bench-%04d", i)
	}
	return ids
}

// SeedPeerings stores an AWS peering in the demo environment for every id.
func SeedPeerings(sim *ccloudsim.Server, ids []string) {
	for _, id := range ids {
		sim.SeedPeering(ccloudsim.Peering{
			ID: id, DisplayName: "bench", EnvironmentID: ccloudsim.DemoEnvironment, NetworkID: ccloudsim.DemoNetwork,
			Cloud: map[string]any{"kind": "AwsPeering", "account": "000000000000", "vpc": "vpc-00000000000000000",
				"routes": []any{"10.108.16.0/21"}, "customer_region": "us-east-1"},
			Phase: "READY",
		})
	}
}

// PeeringBody is an Update a Peering body that renames the peering in the
// demo environment; n makes the name unique.
func PeeringBody(n int) []byte {
	return []byte(`{"spec":{"display_name":"bench-` + strconv.Itoa(n) + `","environment":{"id":"` + ccloudsim.DemoEnvironment + `"}}}`)
}

// Intake is a minimal client of the Patchbay intake.
type Intake struct {
	BaseURL string
	Token   string
	HTTP    *http.Client
}

// PatchPeering queues an Update a Peering and returns the change id; any
// answer but 202 is an error.
func (c *Intake) PatchPeering(ctx context.Context, id string, body []byte) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, c.BaseURL+"/networking/v1/peerings/"+id, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return "", fmt.Errorf("PATCH peering %s: %d %s", id, resp.StatusCode, bytes.TrimSpace(data))
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	changeID, ok := strings.CutPrefix(resp.Header.Get("Location"), "/v1/changes/")
	if !ok || changeID == "" {
		return "", fmt.Errorf("PATCH peering %s: 202 without a change Location", id)
	}
	return changeID, nil
}

// getChange fetches a change record (GET /v1/changes/{id}); wait > 0
// long-polls until the change is terminal.
func (c *Intake) getChange(ctx context.Context, changeID string, wait time.Duration) ([]byte, error) {
	url := c.BaseURL + "/v1/changes/" + changeID
	if wait > 0 {
		url += "?wait=" + wait.String()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET change %s: %d %s", changeID, resp.StatusCode, truncate(data, 512))
	}
	return data, nil
}

// ChangeState reads a change record's state; wait > 0 long-polls until the
// change is terminal (GET /v1/changes/{id}?wait=).
func (c *Intake) ChangeState(ctx context.Context, changeID string, wait time.Duration) (string, error) {
	data, err := c.getChange(ctx, changeID, wait)
	if err != nil {
		return "", err
	}
	var rec struct {
		State string `json:"state"`
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		return "", fmt.Errorf("GET change %s: %w", changeID, err)
	}
	return rec.State, nil
}

// Record returns the change's error and its last attempt from its record
// (GET /v1/changes/{id}), compact JSON, for reports about failed changes.
func (c *Intake) Record(ctx context.Context, changeID string) (string, error) {
	data, err := c.getChange(ctx, changeID, 0)
	if err != nil {
		return "", err
	}
	var rec struct {
		Error    json.RawMessage   `json:"error"`
		Attempts []json.RawMessage `json:"attempts"`
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		return "", fmt.Errorf("GET change %s: %w", changeID, err)
	}
	out := fmt.Sprintf("error %s, %d attempts", truncate(rec.Error, 300), len(rec.Attempts))
	if n := len(rec.Attempts); n > 0 {
		out += ", last " + string(truncate(rec.Attempts[n-1], 300))
	}
	return out, nil
}

// WaitTerminal long-polls a change until it is succeeded or failed, or ctx ends.
func (c *Intake) WaitTerminal(ctx context.Context, changeID string) (string, error) {
	for {
		state, err := c.ChangeState(ctx, changeID, 30*time.Second)
		if err != nil {
			return "", err
		}
		if state == "succeeded" || state == "failed" {
			return state, nil
		}
		if ctx.Err() != nil {
			return state, ctx.Err()
		}
	}
}

// Ready polls path (e.g. /readyz) until it answers 200 or ctx ends.
func Ready(ctx context.Context, hc *http.Client, url string) error {
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := hc.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w", url, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func truncate(b []byte, n int) []byte {
	b = bytes.TrimSpace(b)
	if len(b) > n {
		return b[:n]
	}
	return b
}
