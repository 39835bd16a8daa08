package intake_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/intake"
	"github.com/patchbay/patchbay/internal/notifyqueue"
)

func TestNotificationsOnTheRecordAndRedelivery(t *testing.T) {
	t.Parallel()
	b := newBundle(t, intake.Config{})
	ctx := context.Background()
	store, err := notifyqueue.New(ctx, b.js, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	b.deps.Notifications = store
	srv, err := intake.New(intake.Config{}, b.deps)
	if err != nil {
		t.Fatal(err)
	}
	b.srv = srv

	rec := b.do(t, patchRequest(strings.NewReader(peeringBody), "application/json", jiraToken))
	if rec.Code != http.StatusAccepted {
		t.Fatalf("PATCH = %d: %s", rec.Code, rec.Body)
	}
	var accepted change.Record
	if err := json.Unmarshal(rec.Body.Bytes(), &accepted); err != nil {
		t.Fatal(err)
	}
	get := func() (map[string]json.RawMessage, []notifyqueue.Delivery) {
		req := httptest.NewRequest(http.MethodGet, "/v1/changes/"+accepted.ID, nil)
		req.Header.Set("Authorization", "Bearer "+jiraToken)
		rec := b.do(t, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET = %d: %s", rec.Code, rec.Body)
		}
		var fields map[string]json.RawMessage
		var view struct {
			Notifications []notifyqueue.Delivery `json:"notifications"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &fields)
		_ = json.Unmarshal(rec.Body.Bytes(), &view)
		return fields, view.Notifications
	}
	redeliver := func(token string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/v1/changes/"+accepted.ID+"/notify", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		return b.do(t, req)
	}
	// No deliveries yet: the record as before, without the field.
	if fields, _ := get(); fields["notifications"] != nil || string(fields["state"]) != `"queued"` {
		t.Fatalf("record before any delivery: %v", fields)
	}
	if rec := redeliver(jiraToken); rec.Code != http.StatusConflict || envelope(t, rec).Code != "nothing_to_redeliver" {
		t.Fatalf("redeliver with nothing given up = %d %s", rec.Code, rec.Body)
	}

	// A given-up Jira delivery and a delivered webhook.
	evID := accepted.ID + ".g0.terminal"
	item := notifyqueue.Item{Destination: "jira", ChangeID: accepted.ID, EventID: evID, EnqueuedAt: time.Now(), Event: json.RawMessage(`{"id":"` + evID + `"}`)}
	if _, err := store.Record(ctx, accepted.ID, notifyqueue.Delivery{Destination: "jira", EventID: evID, State: notifyqueue.GivenUp,
		LastStatusCode: 503, LastErrorCode: "http_503", UpdatedAt: time.Now()}, &item); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Record(ctx, accepted.ID, notifyqueue.Delivery{Destination: "webhook", EventID: evID, State: notifyqueue.Delivered, UpdatedAt: time.Now()}, nil); err != nil {
		t.Fatal(err)
	}
	fields, ds := get()
	if len(ds) != 2 || ds[0].State != notifyqueue.GivenUp || ds[0].LastStatusCode != 503 || ds[1].State != notifyqueue.Delivered {
		t.Fatalf("notifications = %+v", ds)
	}
	if string(fields["state"]) != `"queued"` || strings.Contains(string(fields["notifications"]), "parked") {
		t.Fatalf("record state changed or parked items shown: %v", fields)
	}

	rec = redeliver(jiraToken)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("redeliver = %d: %s", rec.Code, rec.Body)
	}
	_, ds = get()
	if ds[0].State != notifyqueue.Retrying || ds[0].Redeliveries != 1 {
		t.Fatalf("after redelivery: %+v", ds[0])
	}
	st, err := b.js.Stream(ctx, notifyqueue.Stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Fatalf("work items queued = %d, want 1 (the Jira delivery)", info.State.Msgs)
	}
	msg, err := st.GetLastMsgForSubject(ctx, notifyqueue.Subject("jira"))
	if err != nil || !strings.Contains(string(msg.Data), evID) {
		t.Fatalf("queued item %v %s", err, msg.Data)
	}
	if rec := redeliver(jiraToken); rec.Code != http.StatusConflict {
		t.Fatalf("second redeliver = %d, want 409", rec.Code)
	}
	req := httptest.NewRequest(http.MethodPost, "/v1/changes/chg_aaaaaaaaaaaaaaaaaaaaaaaaaa/notify", nil)
	req.Header.Set("Authorization", "Bearer "+jiraToken)
	if rec := b.do(t, req); rec.Code != http.StatusNotFound {
		t.Fatalf("unknown change = %d", rec.Code)
	}
}

func TestRedeliveryNeedsTheRetryScope(t *testing.T) {
	t.Parallel()
	callers, err := intake.ParseCallersFile([]byte(`{"callers":[
	  {"name":"reader","token_sha256":"`+tokenHash(jiraToken)+`","operations":["networking.v1.peerings.update","changes.read"],
	   "notify":{"jira":{}}}]}`), ".", envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	b := newBundleWith(t, intake.Config{}, callers, nil)
	rec := b.do(t, patchRequest(strings.NewReader(peeringBody), "application/json", jiraToken))
	if rec.Code != http.StatusAccepted {
		t.Fatalf("PATCH = %d: %s", rec.Code, rec.Body)
	}
	var accepted change.Record
	_ = json.Unmarshal(rec.Body.Bytes(), &accepted)
	req := httptest.NewRequest(http.MethodPost, "/v1/changes/"+accepted.ID+"/notify", nil)
	req.Header.Set("Authorization", "Bearer "+jiraToken)
	if rec := b.do(t, req); rec.Code != http.StatusForbidden {
		t.Fatalf("redeliver without changes.retry = %d, want 403", rec.Code)
	}
}
