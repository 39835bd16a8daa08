package slacksim

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// Player plays a Slack client for `make run`: POST /play with a form field
// text sends that /patchbay command, signed, with a fresh response_url of
// Server, to Target (the app's /slack/commands) and returns the app's
// answer.
type Player struct {
	Server *Server
	Signer Signer
	// Target is the URL of the app's /slack/commands.
	Target         string
	TeamID, UserID string
	Client         *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	triggers atomic.Int64
}

// Command returns a command from the player's user with a fresh
// response_url and trigger_id.
func (p *Player) Command(text string) Command {
	return Command{TeamID: p.TeamID, UserID: p.UserID, ChannelID: "CDEV", Text: text,
		ResponseURL: p.Server.NewResponseURL(), TriggerID: "dev-" + strconv.FormatInt(p.triggers.Add(1), 10) + "-" + randomID()}
}

// ServeHTTP implements http.Handler.
func (p *Player) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST text=<command text>", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	req, err := p.Signer.Request(p.Target, p.Command(r.PostForm.Get("text")).Form(), now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	client := p.Client
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	resp, err := client.Do(req.WithContext(r.Context()))
	if err != nil {
		http.Error(w, fmt.Sprintf("the app did not answer: %v", err), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, io.LimitReader(resp.Body, 1<<20))
}
