package intake

// longPolls caps the concurrent ?wait= long-polls of GET /v1/changes/{id}.
// Beyond the cap a request is answered at once with the current record
// (and Retry-After: 1), as if its wait had run out, instead of holding a
// connection and a KV watch.
type longPolls struct {
	slots chan struct{}
}

func newLongPolls(n int) *longPolls { return &longPolls{slots: make(chan struct{}, n)} }

// acquire takes a slot without waiting; release must be called when ok.
func (l *longPolls) acquire() (release func(), ok bool) {
	select {
	case l.slots <- struct{}{}:
		return func() { <-l.slots }, true
	default:
		return nil, false
	}
}

// inFlight is the number of long-polls holding a slot.
func (l *longPolls) inFlight() int { return len(l.slots) }

// HeaderLongPoll is set to "skipped" on a GET /v1/changes/{id}?wait= answered
// at once because MAX_LONG_POLLS long-polls were already waiting.
const HeaderLongPoll = "X-Patchbay-Long-Poll"
