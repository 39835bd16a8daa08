// Package faultproxy is a fault-injecting TCP proxy for tests: put it
// between a client and a server (NATS) and hold back the server's bytes to
// the client on command, so that replies (JetStream publish
// acknowledgements) arrive late or, after Cut, never.
package faultproxy

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"sync"
)

// Proxy forwards TCP connections from its own address to a target.
type Proxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	cond    *sync.Cond
	paused  bool
	trigger []byte // PauseOn's or CutOn's pattern, nil when disarmed
	cutOn   bool   // the trigger cuts rather than pauses
	refuse  bool
	closed  bool
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup
	waiting int // server->client copies blocked by a pause
}

// New listens on 127.0.0.1:0 and forwards every connection to target
// (host:port). Close stops it.
func New(target string) (*Proxy, error) {
	if target == "" {
		return nil, errors.New("faultproxy: New: empty target")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.cond = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// URL is the proxy's address as a nats:// URL.
func (p *Proxy) URL() string { return "nats://" + p.Addr() }

// Pause holds every byte the server sends to clients (already read from the
// server or not) until Resume; client->server bytes still flow.
func (p *Proxy) Pause() {
	p.mu.Lock()
	p.paused = true
	p.mu.Unlock()
}

// PauseOn arms a one-shot trigger: as soon as a client sends bytes holding
// pattern (for NATS, "PUB <subject>" of the publish whose acknowledgement
// should be late), the proxy pauses before forwarding them, so that the
// server receives the publish and its reply is held until Resume.
func (p *Proxy) PauseOn(pattern string) {
	p.mu.Lock()
	p.trigger, p.cutOn = []byte(pattern), false
	p.mu.Unlock()
}

// CutOn arms a one-shot trigger: as soon as a client sends bytes holding
// pattern, the proxy drops them and closes every connection, so that the
// server never receives them and the client loses its link while waiting
// for the reply. New connections are accepted afterwards.
func (p *Proxy) CutOn(pattern string) {
	p.mu.Lock()
	p.trigger, p.cutOn = []byte(pattern), true
	p.mu.Unlock()
}

// Resume releases the held bytes and lets them flow again.
func (p *Proxy) Resume() {
	p.mu.Lock()
	p.paused = false
	p.cond.Broadcast()
	p.mu.Unlock()
}

// Blocked reports how many server->client copies hold bytes because of a
// pause: a test waits for it to know a reply is being held.
func (p *Proxy) Blocked() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waiting
}

// Refuse makes the proxy close every connection at once (refuse true) and
// new ones as soon as they are accepted, as a server that is down would;
// Refuse(false) lets clients connect again.
func (p *Proxy) Refuse(refuse bool) {
	p.mu.Lock()
	p.refuse = refuse
	p.mu.Unlock()
	if refuse {
		p.Cut()
	}
}

// Cut closes every proxied connection at once, dropping held bytes; new
// connections are still accepted.
func (p *Proxy) Cut() {
	p.mu.Lock()
	for c := range p.conns {
		_ = c.Close()
	}
	p.paused = false
	p.cond.Broadcast()
	p.mu.Unlock()
}

// Close stops accepting, closes every connection and waits for the copies.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.Cut()
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refuse := p.refuse
		p.mu.Unlock()
		if refuse {
			_ = client.Close()
			continue
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		p.mu.Lock()
		if p.closed || p.refuse {
			closed := p.closed
			p.mu.Unlock()
			_ = client.Close()
			_ = server.Close()
			if closed {
				return
			}
			continue
		}
		p.conns[client] = struct{}{}
		p.conns[server] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.copy(server, client, false)
		go p.copy(client, server, true)
	}
}

// copy moves bytes from src to dst; a gated copy (server->client) waits
// while the proxy is paused before writing what it read.
func (p *Proxy) copy(dst, src net.Conn, gated bool) {
	defer p.wg.Done()
	defer func() {
		_ = dst.Close()
		_ = src.Close()
		p.mu.Lock()
		delete(p.conns, dst)
		delete(p.conns, src)
		p.mu.Unlock()
	}()
	buf := make([]byte, 32*1024)
	var tail []byte // the end of the previous chunk, for a pattern split across reads
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !gated {
				var cut bool
				if tail, cut = p.checkTrigger(tail, buf[:n]); cut {
					p.Cut()
					return
				}
			}
			if gated && !p.waitOpen(dst) {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil { // io.EOF or a closed connection
			return
		}
	}
}

// checkTrigger fires the armed trigger when its pattern is in tail+chunk:
// a pause takes effect at once, a cut is reported for the caller to do.
// It returns the new tail.
func (p *Proxy) checkTrigger(tail, chunk []byte) ([]byte, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.trigger == nil {
		return nil, false
	}
	window := append(tail, chunk...)
	if bytes.Contains(window, p.trigger) {
		p.trigger = nil
		if p.cutOn {
			return nil, true
		}
		p.paused = true
		return nil, false
	}
	keep := min(len(window), len(p.trigger)-1)
	return append([]byte(nil), window[len(window)-keep:]...), false
}

// waitOpen blocks while the proxy is paused; false if dst was cut meanwhile.
func (p *Proxy) waitOpen(dst net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.paused {
		p.waiting++
		for p.paused {
			p.cond.Wait()
		}
		p.waiting--
	}
	_, alive := p.conns[dst]
	return alive
}
