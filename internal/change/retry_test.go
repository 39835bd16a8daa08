package change_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/apierror"
	"github.com/patchbay/patchbay/internal/change"
)

func TestRecordRequeue(t *testing.T) {
	t.Parallel()
	accepted := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	done := accepted.Add(time.Minute)
	next := done.Add(time.Minute)
	failed := change.Record{
		ID: "chg_aaaaaaaaaaaaaaaaaaaaaaaaaa", State: change.StateFailed, AcceptedAt: accepted, QueuedAt: accepted,
		UpdatedAt: done, CompletedAt: &done, NextAttemptAt: &next, RetryReason: "status_503",
		Attempts: []change.Attempt{{Number: 1, StartedAt: accepted, Status: 401}},
		Error:    &apierror.Error{Status: "401", Code: "unauthorized"}, Result: json.RawMessage(`{}`),
	}
	at := done.Add(time.Hour)
	tests := []struct {
		name string
		rec  change.Record
		rt   change.Retry
		ok   bool
	}{
		{name: "failed, next generation", rec: failed, rt: change.Retry{By: "ops", At: at, Generation: 1}, ok: true},
		{name: "forced", rec: failed, rt: change.Retry{By: "ops", At: at, Forced: true, Generation: 1}, ok: true},
		{name: "generation skipped", rec: failed, rt: change.Retry{By: "ops", At: at, Generation: 2}},
		{name: "same generation", rec: failed, rt: change.Retry{By: "ops", At: at, Generation: 0}},
		{name: "succeeded", rec: func() change.Record { r := failed; r.State = change.StateSucceeded; return r }(),
			rt: change.Retry{By: "ops", At: at, Generation: 1}},
		{name: "queued", rec: func() change.Record { r := failed; r.State = change.StateQueued; return r }(),
			rt: change.Retry{By: "ops", At: at, Generation: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := tt.rec
			before := tt.rec
			if got := r.Requeue(tt.rt); got != tt.ok {
				t.Fatalf("Requeue = %v, want %v", got, tt.ok)
			}
			if !tt.ok {
				if !reflect.DeepEqual(r, before) {
					t.Fatalf("a refused Requeue changed the record: %+v", r)
				}
				return
			}
			want := before
			want.State, want.Generation = change.StateQueued, tt.rt.Generation
			want.UpdatedAt, want.QueuedAt = at, at
			want.CompletedAt, want.NextAttemptAt, want.RetryReason, want.Error, want.Result = nil, nil, "", nil, nil
			want.Retries = []change.Retry{tt.rt}
			if !reflect.DeepEqual(r, want) {
				t.Fatalf("Requeue =\n %+v\nwant\n %+v", r, want)
			}
			if len(tt.rec.Retries) != 0 {
				t.Fatal("Requeue wrote through to the original's retries")
			}
		})
	}
}

func TestMsgID(t *testing.T) {
	t.Parallel()
	m := change.Message{ID: "chg_aaaaaaaaaaaaaaaaaaaaaaaaaa", Generation: 2}
	if got := m.MsgID(); got != "chg_aaaaaaaaaaaaaaaaaaaaaaaaaa.g2" || got != change.MsgID(m.ID, 2) {
		t.Fatalf("MsgID = %q", got)
	}
}
