package ticketsim

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"
)

// WorkNote is a work note the ServiceNow simulator stored.
type WorkNote struct {
	Table, SysID, Text string
}

// ServiceNow simulates the table API's PATCH /api/now/table/{table}/{sys_id}
// with work_notes, authenticated with HTTP Basic (user, password) or an
// OAuth bearer token.
type ServiceNow struct {
	faults
	journal
	user, password, token string
	now                   func() time.Time

	mu      sync.Mutex
	records map[string]bool
	notes   []WorkNote
}

// NewServiceNow returns a ServiceNow simulator; records are "table:sys_id".
// Set user and password for Basic, token for bearer (or both).
func NewServiceNow(user, password, token string, now func() time.Time, records ...string) *ServiceNow {
	s := &ServiceNow{user: user, password: password, token: token, now: now, records: map[string]bool{}}
	for _, r := range records {
		s.records[r] = true
	}
	return s
}

// AddRecord makes a record exist.
func (s *ServiceNow) AddRecord(table, sysID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[table+":"+sysID] = true
}

// WorkNotes returns the stored work notes.
func (s *ServiceNow) WorkNotes() []WorkNote {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]WorkNote(nil), s.notes...)
}

// RateLimited is ServiceNow's 429 with Retry-After in seconds.
func (s *ServiceNow) RateLimited(retryAfter time.Duration) Fault {
	return Fault{Status: http.StatusTooManyRequests, Header: http.Header{
		"Retry-After": {strconv.Itoa(int(retryAfter / time.Second))}}}
}

var snTablePath = regexp.MustCompile(`^/api/now/table/([a-z0-9_]+)/([0-9a-f]{32})$`)

func (s *ServiceNow) authorized(r *http.Request) bool {
	if u, p, ok := r.BasicAuth(); ok {
		return s.user != "" && u == s.user && p == s.password
	}
	return s.token != "" && r.Header.Get("Authorization") == "Bearer "+s.token
}

// ServeHTTP implements http.Handler.
func (s *ServiceNow) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if inspect(w, r, func() any { return s.WorkNotes() }) {
		return
	}
	s.arrive()
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	rec := &statusRecorder{ResponseWriter: w}
	defer func() {
		s.add(Request{At: s.now(), Method: r.Method, Path: r.URL.EscapedPath(), Header: r.Header.Clone(), Body: body, Status: rec.status})
	}()
	if !s.authorized(r) {
		snError(rec, http.StatusUnauthorized, "User Not Authenticated", "Required to provide Auth information")
		return
	}
	if s.inject(rec, r, func(w http.ResponseWriter, st int) { snError(w, st, http.StatusText(st), "") }) {
		return
	}
	m := snTablePath.FindStringSubmatch(r.URL.EscapedPath())
	if m == nil || (r.Method != http.MethodPatch && r.Method != http.MethodPut) {
		snError(rec, http.StatusBadRequest, "Requested URI does not represent any resource", "")
		return
	}
	var in struct {
		WorkNotes string `json:"work_notes"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.WorkNotes == "" {
		snError(rec, http.StatusBadRequest, "Exception while reading request", "work_notes required")
		return
	}
	s.mu.Lock()
	if !s.records[m[1]+":"+m[2]] {
		s.mu.Unlock()
		snError(rec, http.StatusNotFound, "No Record found", "Record doesn't exist or ACL restricts the record retrieval")
		return
	}
	s.notes = append(s.notes, WorkNote{Table: m[1], SysID: m[2], Text: in.WorkNotes})
	s.mu.Unlock()
	rec.Header().Set("Content-Type", "application/json")
	rec.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(rec).Encode(map[string]any{"result": map[string]string{"sys_id": m[2]}})
}

// snError writes ServiceNow's error body.
func snError(w http.ResponseWriter, status int, msg, detail string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"message": msg, "detail": detail}, "status": "failure"})
}
