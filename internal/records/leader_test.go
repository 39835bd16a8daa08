package records

import (
	"context"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/testkit"
)

func TestLeaderGet(t *testing.T) {
	t.Parallel()
	_, _, js := testkit.StartNATS(t)
	testkit.EnsureTopology(t, js)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := NewRecords(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	rec := change.NewRecord(change.Message{ID: change.NewID(), Operation: "networking.v1.peerings.update", AcceptedAt: time.Now().UTC()})
	rev, err := r.Create(ctx, rec)
	if err != nil {
		t.Fatal(err)
	}
	deleted := change.NewRecord(change.Message{ID: change.NewID()})
	if _, err := r.Create(ctx, deleted); err != nil {
		t.Fatal(err)
	}
	if err := r.kv.Delete(ctx, deleted.ID); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		id      string
		found   bool
		wantRev uint64
	}{
		{name: "stored", id: rec.ID, found: true, wantRev: rev},
		{name: "never stored", id: change.NewID()},
		{name: "deleted", id: deleted.ID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, gotRev, found, err := r.leaderGet(ctx, tt.id)
			if err != nil || found != tt.found || gotRev != tt.wantRev {
				t.Fatalf("leaderGet = rev %d found %v, %v; want rev %d found %v", gotRev, found, err, tt.wantRev, tt.found)
			}
			if !found {
				return
			}
			got, err := decodeRecord(data)
			if err != nil || got.ID != tt.id {
				t.Fatalf("leader's record %+v, %v", got, err)
			}
		})
	}
}
