package webhooksig_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/webhooksig"
)

var (
	secret = []byte("hook-secret-0123456789")
	body   = []byte(`{"spec":{"environment":{"id":"env-1"}}}`)
)

func TestSignKnownVector(t *testing.T) {
	t.Parallel()
	// GitHub's documented example: secret "It's a Secret to Everybody",
	// payload "Hello, World!".
	got := webhooksig.Sign([]byte("It's a Secret to Everybody"), []byte("Hello, World!"))
	const want = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	if got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	good := webhooksig.Sign(secret, body)
	tests := []struct {
		name    string
		secret  []byte
		header  string
		content []byte
		want    error
	}{
		{name: "valid", secret: secret, header: good, content: body},
		{name: "upper-case hex", secret: secret, header: "sha256=" + strings.ToUpper(good[7:]), content: body},
		{name: "other secret", secret: []byte("another-secret-0123456"), header: good, content: body, want: webhooksig.ErrMismatch},
		{name: "body changed", secret: secret, header: good, content: append([]byte(" "), body...), want: webhooksig.ErrMismatch},
		{name: "empty secret", secret: nil, header: webhooksig.Sign(nil, body), content: body, want: webhooksig.ErrMismatch},
		{name: "empty header", secret: secret, header: "", content: body, want: webhooksig.ErrMalformed},
		{name: "sha1 prefix", secret: secret, header: "sha1=" + good[7:47], content: body, want: webhooksig.ErrMalformed},
		{name: "upper-case prefix", secret: secret, header: "SHA256=" + good[7:], content: body, want: webhooksig.ErrMalformed},
		{name: "short hex", secret: secret, header: good[:len(good)-2], content: body, want: webhooksig.ErrMalformed},
		{name: "long hex", secret: secret, header: good + "00", content: body, want: webhooksig.ErrMalformed},
		{name: "not hex", secret: secret, header: "sha256=" + strings.Repeat("zz", 32), content: body, want: webhooksig.ErrMalformed},
		{name: "leading space", secret: secret, header: " " + good, content: body, want: webhooksig.ErrMalformed},
		{name: "no prefix", secret: secret, header: good[7:], content: body, want: webhooksig.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := webhooksig.Verify(tt.secret, tt.header, tt.content); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	secrets := [][]byte{[]byte("first-secret-0123456"), secret, []byte("third-secret-0123456")}
	tests := []struct {
		name    string
		header  string
		want    int
		wantErr error
	}{
		{name: "second secret", header: webhooksig.Sign(secret, body), want: 1},
		{name: "first secret", header: webhooksig.Sign(secrets[0], body), want: 0},
		{name: "unknown secret", header: webhooksig.Sign([]byte("nobody-knows-this-one"), body), want: -1, wantErr: webhooksig.ErrMismatch},
		{name: "malformed", header: "sha256=xyz", want: -1, wantErr: webhooksig.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := webhooksig.Match(secrets, tt.header, body)
			if got != tt.want || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Match = %d, %v; want %d, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestContent(t *testing.T) {
	t.Parallel()
	if got := string(webhooksig.Content(body, "")); got != string(body) {
		t.Fatalf("Content without timestamp = %q", got)
	}
	if got := string(webhooksig.Content(body, "1700000000")); got != "1700000000."+string(body) {
		t.Fatalf("Content with timestamp = %q", got)
	}
}

func TestCheckTimestamp(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name string
		ts   string
		want error
	}{
		{name: "now", ts: "1700000000"},
		{name: "4m59s old", ts: "1699999701"},
		{name: "exactly 5m old", ts: "1699999700"},
		{name: "exactly 5m ahead", ts: "1700000300"},
		{name: "5m1s old", ts: "1699999699", want: webhooksig.ErrTimestampSkew},
		{name: "5m1s ahead", ts: "1700000301", want: webhooksig.ErrTimestampSkew},
		{name: "zero", ts: "0", want: webhooksig.ErrTimestampSkew},
		{name: "empty", ts: "", want: webhooksig.ErrTimestampMalformed},
		{name: "negative", ts: "-1700000000", want: webhooksig.ErrTimestampMalformed},
		{name: "plus sign", ts: "+1700000000", want: webhooksig.ErrTimestampMalformed},
		{name: "milliseconds", ts: "1700000000000", want: webhooksig.ErrTimestampMalformed},
		{name: "fraction", ts: "1700000000.5", want: webhooksig.ErrTimestampMalformed},
		{name: "RFC 3339", ts: "2023-11-14T22:13:20Z", want: webhooksig.ErrTimestampMalformed},
		{name: "space", ts: " 1700000000", want: webhooksig.ErrTimestampMalformed},
		{name: "huge", ts: strings.Repeat("9", 40), want: webhooksig.ErrTimestampMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := webhooksig.CheckTimestamp(tt.ts, now, webhooksig.DefaultMaxSkew)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("CheckTimestamp(%q) = %v, want %v", tt.ts, err, tt.want)
			}
		})
	}
}
