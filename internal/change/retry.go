package change

import (
	"strconv"
	"time"
)

// Retry is one operator retry (POST /v1/changes/{id}/retry), kept on the
// record for the audit trail and carried by the message of the generation
// it queued.
type Retry struct {
	// By is the caller that asked for the retry.
	By string `json:"by"`
	// At is when the retry was asked for (the api's clock).
	At time.Time `json:"at"`
	// Forced is set when the operator overrode a stale_change refusal.
	Forced bool `json:"forced"`
	// Generation is the generation the retry queued.
	Generation int `json:"generation"`
}

// MsgID is the JetStream Nats-Msg-Id of generation gen of change id: every
// publish of that generation carries it, so the stream keeps one copy
// within its duplicates window.
func MsgID(id string, gen int) string { return id + ".g" + strconv.Itoa(gen) }

// Requeue moves a failed record to the generation rt queued (an operator
// retry): state queued, the outcome, owner and terminal-event mark of the
// previous generation cleared, rt appended to Retries.
// It reports false, leaving r unchanged, unless r is failed at generation
// rt.Generation-1. Both the api (after publishing the generation's message)
// and a worker (receiving that message before the api could update the
// record) apply it, under compare-and-swap, so it happens once.
func (r *Record) Requeue(rt Retry) bool {
	if r.State != StateFailed || rt.Generation != r.Generation+1 {
		return false
	}
	r.reset(rt.Generation, rt.At.UTC())
	r.Retries = append(append([]Retry(nil), r.Retries...), rt)
	return true
}
