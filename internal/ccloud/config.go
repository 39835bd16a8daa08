package ccloud

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultMaxBodyBytes = 1 << 20
	DefaultVersion      = "dev"
)

// Config configures a Client. Secrets are tagged json:"-" and redacted by
// String and GoString, so a logged Config never reveals them.
type Config struct {
	// BaseURL is the upstream, e.g. https://api.confluent.cloud. It must be an
	// absolute http(s) URL without user info, query or fragment; a path
	// prefix is allowed and a trailing slash is ignored.
	BaseURL string
	// APIKey and APISecret are the HTTP Basic credentials (cloud-api-key).
	APIKey    string
	APISecret string `json:"-"`
	// AccessToken, when set, is sent as a Bearer token instead of Basic.
	AccessToken string `json:"-"`
	// Timeout bounds each call, including reading the body. Default 30s.
	Timeout time.Duration
	// MaxBodyBytes limits the response body kept. Default 1 MiB.
	MaxBodyBytes int64
	// Version is sent as User-Agent: patchbay/<Version>. Default "dev".
	Version string
	// HTTPClient sends the requests. Default: a client with transport
	// timeouts. Whatever is given, redirects are never followed.
	HTTPClient *http.Client
	// Now is the clock for HTTP-date Retry-After values. Default time.Now.
	Now func() time.Time
}

// String renders c with its secrets redacted.
func (c Config) String() string {
	return fmt.Sprintf("client.Config{BaseURL:%q APIKey:%q APISecret:%s AccessToken:%s Timeout:%s MaxBodyBytes:%d Version:%q}",
		c.BaseURL, c.APIKey, redacted(c.APISecret), redacted(c.AccessToken), c.Timeout, c.MaxBodyBytes, c.Version)
}

// GoString renders c with its secrets redacted, for %#v.
func (c Config) GoString() string { return c.String() }

// redacted shows whether a secret is set without revealing it.
func redacted(s string) string {
	if s == "" {
		return `""`
	}
	return "REDACTED"
}

// Client calls the Confluent Cloud operations. It is safe for concurrent use.
type Client struct {
	baseURL      string // scheme://host[/prefix], no trailing slash
	authHeader   string // full Authorization header value; never logged
	credentialID string
	userAgent    string
	timeout      time.Duration
	maxBodyBytes int64
	httpClient   *http.Client
	now          func() time.Time
}

// New validates cfg, applies defaults and returns a Client.
// Errors name the offending field but never include a secret.
func New(cfg Config) (*Client, error) {
	base, err := normalizeBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	auth, credID, err := authFor(cfg)
	if err != nil {
		return nil, err
	}
	c := &Client{
		baseURL:      base,
		authHeader:   auth,
		credentialID: credID,
		timeout:      cfg.Timeout,
		maxBodyBytes: cfg.MaxBodyBytes,
		now:          cfg.Now,
	}
	switch {
	case c.timeout < 0:
		return nil, errors.New("client: Timeout must not be negative")
	case c.timeout == 0:
		c.timeout = DefaultTimeout
	}
	switch {
	case c.maxBodyBytes < 0:
		return nil, errors.New("client: MaxBodyBytes must not be negative")
	case c.maxBodyBytes == 0:
		c.maxBodyBytes = DefaultMaxBodyBytes
	}
	version := cfg.Version
	if version == "" {
		version = DefaultVersion
	}
	if !headerSafe(version) || strings.ContainsAny(version, " /") {
		return nil, fmt.Errorf("client: Version %s must be a single token", quoteShort(version))
	}
	c.userAgent = "patchbay/" + version
	if c.now == nil {
		c.now = time.Now
	}
	c.httpClient = noRedirects(cfg.HTTPClient)
	return c, nil
}

// String describes c without its credentials, so logging a Client is safe.
func (c *Client) String() string {
	return fmt.Sprintf("client.Client{BaseURL:%q Credential:%q UserAgent:%q Timeout:%s}",
		c.baseURL, c.credentialID, c.userAgent, c.timeout)
}

// GoString is String, for %#v.
func (c *Client) GoString() string { return c.String() }

// CredentialID identifies the credential for rate limiting without
// revealing it: the API key, or "token:" + the first 8 hex digits of the
// SHA-256 of the access token.
func (c *Client) CredentialID() string { return c.credentialID }

// normalizeBaseURL checks BaseURL and strips a trailing slash.
func normalizeBaseURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("client: BaseURL %s is not a URL", quoteShort(raw))
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("client: BaseURL %s must be an absolute http or https URL", quoteShort(raw))
	case u.Host == "" || u.Opaque != "":
		return "", fmt.Errorf("client: BaseURL %s has no host", quoteShort(raw))
	case u.User != nil:
		// Do not echo it: user info may hold a password.
		return "", errors.New("client: BaseURL must not contain user info; use APIKey and APISecret")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", fmt.Errorf("client: BaseURL %s must not have a query or fragment", quoteShort(raw))
	}
	return u.Scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/"), nil
}

// authFor builds the Authorization header and the credential id.
func authFor(cfg Config) (header, credID string, err error) {
	if cfg.AccessToken != "" {
		if !headerSafe(cfg.AccessToken) || strings.ContainsAny(cfg.AccessToken, " \t") {
			return "", "", errors.New("client: AccessToken contains characters not allowed in a header")
		}
		sum := sha256.Sum256([]byte(cfg.AccessToken))
		return "Bearer " + cfg.AccessToken, "token:" + hex.EncodeToString(sum[:4]), nil
	}
	switch {
	case cfg.APIKey == "" || cfg.APISecret == "":
		return "", "", errors.New("client: APIKey and APISecret (or AccessToken) are required")
	case strings.Contains(cfg.APIKey, ":") || !headerSafe(cfg.APIKey):
		return "", "", errors.New("client: APIKey must not contain ':' or control characters")
	}
	req := http.Request{Header: http.Header{}}
	req.SetBasicAuth(cfg.APIKey, cfg.APISecret)
	return req.Header.Get("Authorization"), cfg.APIKey, nil
}

// headerSafe reports whether s has no control characters.
func headerSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return false
		}
	}
	return true
}

// noRedirects returns a copy of hc (or a default client) that never follows
// redirects: a 3xx is returned to the caller as is.
func noRedirects(hc *http.Client) *http.Client {
	var out http.Client
	if hc != nil {
		out = *hc
	} else {
		out.Transport = defaultTransport()
	}
	out.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &out
}

// defaultTransport is http.DefaultTransport with explicit, conservative timeouts.
func defaultTransport() *http.Transport {
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   10 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    32,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  1 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
}
