package benchrun

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Submitter queues an Update a Peering and returns the change id.
type Submitter interface {
	PatchPeering(ctx context.Context, id string, body []byte) (string, error)
}

// FastIntake is a minimal HTTP/1.1 keep-alive client for PATCH requests,
// the way wrk-style load generators work: pre-rendered request headers, one
// connection per concurrent caller, only the status line, Content-Length and
// Location parsed. On a small shared machine it leaves several times more CPU
// to the server under test than net/http's client does.
type FastIntake struct {
	addr, host, token string
	idle              chan *fastConn
}

type fastConn struct {
	c net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

// NewFastIntake returns a client of the intake at baseURL (http only) that
// keeps up to conns idle connections.
func NewFastIntake(baseURL, token string, conns int) (*FastIntake, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("fast intake client: %q is not an http://host:port URL", baseURL)
	}
	return &FastIntake{addr: u.Host, host: u.Host, token: token, idle: make(chan *fastConn, max(conns, 1))}, nil
}

// Close closes the idle connections.
func (f *FastIntake) Close() {
	for {
		select {
		case c := <-f.idle:
			c.c.Close()
		default:
			return
		}
	}
}

func (f *FastIntake) get(ctx context.Context) (*fastConn, error) {
	select {
	case c := <-f.idle:
		return c, nil
	default:
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", f.addr)
	if err != nil {
		return nil, err
	}
	return &fastConn{c: c, r: bufio.NewReaderSize(c, 8<<10), w: bufio.NewWriterSize(c, 4<<10)}, nil
}

func (f *FastIntake) put(c *fastConn) {
	select {
	case f.idle <- c:
	default:
		c.c.Close()
	}
}

// PatchPeering implements Submitter.
func (f *FastIntake) PatchPeering(ctx context.Context, id string, body []byte) (string, error) {
	c, err := f.get(ctx)
	if err != nil {
		return "", err
	}
	status, loc, reuse, respBody, err := c.patch(ctx, f.host, f.token, "/networking/v1/peerings/"+id, body)
	if err != nil {
		c.c.Close()
		return "", fmt.Errorf("PATCH peering %s: %w", id, err)
	}
	if reuse {
		f.put(c)
	} else {
		c.c.Close()
	}
	if status != 202 {
		return "", fmt.Errorf("PATCH peering %s: %d %s", id, status, truncate(respBody, 512))
	}
	changeID, ok := strings.CutPrefix(loc, "/v1/changes/")
	if !ok || changeID == "" {
		return "", fmt.Errorf("PATCH peering %s: 202 without a change Location", id)
	}
	return changeID, nil
}

var errMalformed = errors.New("malformed HTTP response")

func (c *fastConn) patch(ctx context.Context, host, token, path string, body []byte) (status int, location string, reuse bool, respBody []byte, err error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(30 * time.Second)
	}
	if err := c.c.SetDeadline(deadline); err != nil {
		return 0, "", false, nil, err
	}
	w := c.w
	w.WriteString("PATCH ")
	w.WriteString(path)
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(host)
	w.WriteString("\r\nAuthorization: Bearer ")
	w.WriteString(token)
	w.WriteString("\r\nContent-Type: application/json\r\nContent-Length: ")
	w.WriteString(strconv.Itoa(len(body)))
	w.WriteString("\r\n\r\n")
	w.Write(body)
	if err := w.Flush(); err != nil {
		return 0, "", false, nil, err
	}

	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, "", false, nil, err
	}
	// "HTTP/1.1 202 Accepted\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, "", false, nil, errMalformed
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, "", false, nil, errMalformed
	}
	length, chunked := -1, false
	reuse = true
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return 0, "", false, nil, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, "", false, nil, errMalformed
		}
		v = bytes.TrimSpace(v)
		switch {
		case asciiEqualFold(k, "Content-Length"):
			if length, err = strconv.Atoi(string(v)); err != nil {
				return 0, "", false, nil, errMalformed
			}
		case asciiEqualFold(k, "Location"):
			location = string(v)
		case asciiEqualFold(k, "Transfer-Encoding"):
			chunked = asciiEqualFold(v, "chunked")
		case asciiEqualFold(k, "Connection"):
			if asciiEqualFold(v, "close") {
				reuse = false
			}
		}
	}
	var buf bytes.Buffer
	switch {
	case chunked:
		if err := readChunked(c.r, &buf); err != nil {
			return 0, "", false, nil, err
		}
	case length >= 0:
		if _, err := io.CopyN(&buf, c.r, int64(length)); err != nil {
			return 0, "", false, nil, err
		}
	default: // body until close
		if _, err := io.Copy(&buf, c.r); err != nil {
			return 0, "", false, nil, err
		}
		reuse = false
	}
	return status, location, reuse, buf.Bytes(), nil
}

func readChunked(r *bufio.Reader, dst *bytes.Buffer) error {
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return err
		}
		sizeHex, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(sizeHex)), 16, 64)
		if err != nil || n < 0 {
			return errMalformed
		}
		if n == 0 {
			for { // trailers, then the blank line
				line, err := r.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					return nil
				}
			}
		}
		if _, err := io.CopyN(dst, r, n); err != nil {
			return err
		}
		if _, err := r.Discard(2); err != nil { // CRLF after the chunk
			return err
		}
	}
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
