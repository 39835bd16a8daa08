package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/patchbay/patchbay/internal/intake"
	"github.com/patchbay/patchbay/internal/slacksim"
)

// The dev Slack user: a member of the dev caller.
const (
	devTeam = "TDEV"
	devUser = "UDEV"
)

// devSlack is the Slack simulator of the dev command.
type devSlack struct {
	sim    *slacksim.Server
	player *slacksim.Player
	srv    *http.Server
	addr   string
}

// startSlack serves the Slack simulator (response_url and webhook posts,
// GET / lists them) and the player (POST /play text=...).
func startSlack(cfg Config) (*devSlack, error) {
	ln, err := net.Listen("tcp", cfg.SlackAddr)
	if err != nil {
		return nil, fmt.Errorf("PATCHBAY_DEV_SLACK_ADDR: %w", err)
	}
	base := "http://" + ln.Addr().String()
	sim := slacksim.New(base, nil)
	player := &slacksim.Player{Server: sim, Signer: slacksim.Signer{Secret: cfg.SlackSecret},
		Target: "http://" + cfg.HTTPAddr + "/slack/commands", TeamID: devTeam, UserID: devUser}
	mux := http.NewServeMux()
	mux.Handle("/play", player)
	mux.Handle("/", sim)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &devSlack{sim: sim, player: player, srv: srv, addr: ln.Addr().String()}, nil
}

func (d *devSlack) close() { _ = d.srv.Close() }

// writeCallersFile writes the dev callers file: caller "dev" with the dev
// token and the dev Slack user, every operation.
func writeCallersFile(cfg Config) (string, error) {
	sum := sha256.Sum256([]byte(cfg.Token))
	ops := []string{}
	for _, p := range intake.AllPermissions() {
		ops = append(ops, string(p))
	}
	data, err := json.MarshalIndent(map[string]any{"callers": []any{map[string]any{
		"name": "dev", "token_sha256": hex.EncodeToString(sum[:]), "operations": ops,
		"slack_users": []string{devTeam + "/" + devUser}, "slack_response_type": "in_channel",
	}}}, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return "", fmt.Errorf("PATCHBAY_DEV_DATA: %w", err)
	}
	path := filepath.Join(cfg.DataDir, "callers.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return "", fmt.Errorf("PATCHBAY_DEV_DATA: %w", err)
	}
	return path, nil
}

// printSlackBanner prints a signed curl that plays /patchbay.
func printSlackBanner(cfg Config, d *devSlack) {
	cmd := d.player.Command(`peering p-demo2 environment=env-demo display_name="renamed from slack"`)
	curl := d.player.Signer.Curl("http://"+cfg.HTTPAddr+"/slack/commands", cmd.Form(), time.Now())
	fmt.Printf(`Slack: the app is on (signing secret %[1]q, you are Slack user %[2]s/%[3]s of caller "dev").
Play the slash command /patchbay (signed like Slack; the signature is valid for 5 minutes):

  %[4]s

Or let the Slack simulator sign a fresh one for any text:

  curl -sS http://%[5]s/play --data-urlencode 'text=status <change_id>'

Messages posted back to Slack (response_url, fallback webhook): curl -sS http://%[5]s/

`, cfg.SlackSecret, devTeam, devUser, curl, d.addr)
}
