package records

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/patchbay/patchbay/internal/topology"
)

// leaderGet reads a record's latest value through the JetStream API, which
// the bucket's stream leader answers. A KV get is a direct get that any
// replica may answer, one that has not applied the newest write yet among
// them: a record created a moment ago (its change just answered 202) would
// read as missing. Get asks the leader before it says ErrNotFound.
func (r *Records) leaderGet(ctx context.Context, id string) (data []byte, rev uint64, found bool, err error) {
	stream := "KV_" + topology.RecordsBucket
	req, err := json.Marshal(struct {
		LastBySubject string `json:"last_by_subj"`
	}{LastBySubject: "$KV." + topology.RecordsBucket + "." + id})
	if err != nil {
		return nil, 0, false, fmt.Errorf("records: encode message get: %w", err)
	}
	// Always bounded: an answer lost while the connection moves to another
	// server never comes, and a caller's context may have no deadline (a
	// worker's delivery renews its lease for as long as it waits).
	ctx, cancel := context.WithTimeout(ctx, r.apiTimeout)
	defer cancel()
	msg, err := r.nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+stream, req)
	if err != nil {
		return nil, 0, false, fmt.Errorf("records: get record %s from the leader: %w", id, err)
	}
	var resp struct {
		Message *struct {
			Seq  uint64 `json:"seq"`
			Hdrs []byte `json:"hdrs"`
			Data []byte `json:"data"`
		} `json:"message"`
		Error *struct {
			Code        int    `json:"code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return nil, 0, false, fmt.Errorf("records: get record %s from the leader: %w", id, err)
	}
	switch {
	case resp.Error != nil && resp.Error.Code == http.StatusNotFound:
		return nil, 0, false, nil
	case resp.Error != nil:
		return nil, 0, false, fmt.Errorf("records: get record %s from the leader: %s", id, resp.Error.Description)
	case resp.Message == nil:
		return nil, 0, false, fmt.Errorf("records: get record %s from the leader: empty answer", id)
	case bytes.Contains(resp.Message.Hdrs, []byte("KV-Operation")):
		return nil, 0, false, nil // a delete or purge marker
	}
	return resp.Message.Data, resp.Message.Seq, true, nil
}
