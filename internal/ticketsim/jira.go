package ticketsim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Comment is a comment the Jira simulator stored.
type Comment struct {
	ID    string
	Issue string
	// Body is the ADF document as received.
	Body json.RawMessage
	// Text is the concatenated text of the ADF nodes.
	Text string
	// EventID is the "patchbay" comment property's event_id.
	EventID string
	// At is when it was received.
	At time.Time
}

// Jira simulates Jira Cloud's issue comment API
// (POST /rest/api/3/issue/{issueIdOrKey}/comment) with HTTP Basic auth of
// an account e-mail and API token.
type Jira struct {
	faults
	journal
	email, token string
	now          func() time.Time

	mu       sync.Mutex
	issues   map[string]bool
	comments []Comment
}

// NewJira returns a Jira simulator that knows issues (keys or ids).
func NewJira(email, token string, now func() time.Time, issues ...string) *Jira {
	j := &Jira{email: email, token: token, now: now, issues: map[string]bool{}}
	for _, i := range issues {
		j.issues[i] = true
	}
	return j
}

// AddIssue makes an issue exist.
func (j *Jira) AddIssue(key string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.issues[key] = true
}

// Comments returns the stored comments.
func (j *Jira) Comments() []Comment {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]Comment(nil), j.comments...)
}

// RateLimited is a Jira 429: Retry-After in seconds.
func (j *Jira) RateLimited(retryAfter time.Duration) Fault {
	return Fault{Status: http.StatusTooManyRequests, Header: http.Header{
		"Retry-After": {strconv.Itoa(int(retryAfter / time.Second))}}}
}

// RateLimitedUntil is a Jira 429 that names only X-RateLimit-Reset, an
// ISO-8601 timestamp (as Jira Cloud's points-based limits do).
func (j *Jira) RateLimitedUntil(reset time.Time) Fault {
	return Fault{Status: http.StatusTooManyRequests, Header: http.Header{
		"X-Ratelimit-Reset": {reset.UTC().Format("2006-01-02T15:04:05Z")}, "X-Ratelimit-Remaining": {"0"}}}
}

var jiraCommentPath = regexp.MustCompile(`^/rest/api/3/issue/([^/]+)/comment$`)

// ServeHTTP implements http.Handler.
func (j *Jira) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if inspect(w, r, func() any { return j.Comments() }) {
		return
	}
	j.arrive()
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	rec := &statusRecorder{ResponseWriter: w}
	defer func() {
		j.add(Request{At: j.now(), Method: r.Method, Path: r.URL.EscapedPath(), Header: r.Header.Clone(), Body: body, Status: rec.status})
	}()
	if email, token, ok := r.BasicAuth(); !ok || email != j.email || token != j.token {
		jiraError(rec, http.StatusUnauthorized, "Client must be authenticated to access this resource.")
		return
	}
	if j.inject(rec, r, func(w http.ResponseWriter, s int) { jiraError(w, s, http.StatusText(s)) }) {
		return
	}
	m := jiraCommentPath.FindStringSubmatch(r.URL.EscapedPath())
	if m == nil || r.Method != http.MethodPost {
		jiraError(rec, http.StatusNotFound, "Not found")
		return
	}
	var in struct {
		Body       json.RawMessage `json:"body"`
		Properties []struct {
			Key   string `json:"key"`
			Value struct {
				EventID string `json:"event_id"`
			} `json:"value"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(body, &in); err != nil || !isADF(in.Body) {
		jiraError(rec, http.StatusBadRequest, "Comment body is not valid")
		return
	}
	j.mu.Lock()
	if !j.issues[m[1]] {
		j.mu.Unlock()
		jiraError(rec, http.StatusNotFound, "Issue does not exist or you do not have permission to see it.")
		return
	}
	c := Comment{ID: strconv.Itoa(10000 + len(j.comments)), Issue: m[1], Body: in.Body, Text: adfText(in.Body), At: j.now()}
	for _, p := range in.Properties {
		if p.Key == "patchbay" {
			c.EventID = p.Value.EventID
		}
	}
	j.comments = append(j.comments, c)
	j.mu.Unlock()
	rec.Header().Set("Content-Type", "application/json")
	rec.WriteHeader(http.StatusCreated)
	_, _ = fmt.Fprintf(rec, `{"id":%q,"self":"/rest/api/3/issue/%s/comment/%s"}`, c.ID, m[1], c.ID)
}

// jiraError writes Jira's error body.
func jiraError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errorMessages": []string{msg}, "errors": map[string]string{}})
}

// isADF checks the top of an Atlassian Document Format document.
func isADF(raw json.RawMessage) bool {
	var d struct {
		Type    string            `json:"type"`
		Version int               `json:"version"`
		Content []json.RawMessage `json:"content"`
	}
	return json.Unmarshal(raw, &d) == nil && d.Type == "doc" && d.Version == 1 && len(d.Content) > 0
}

// adfText concatenates the text nodes of an ADF document.
func adfText(raw json.RawMessage) string {
	var node struct {
		Text    string            `json:"text"`
		Content []json.RawMessage `json:"content"`
	}
	if json.Unmarshal(raw, &node) != nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(node.Text)
	for i, c := range node.Content {
		b.WriteString(adfText(c))
		if node.Text == "" && i < len(node.Content)-1 {
			b.WriteString(" ")
		}
	}
	return b.String()
}

// statusRecorder remembers the status written.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
