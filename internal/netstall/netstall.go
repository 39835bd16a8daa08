// Package netstall is a TCP proxy whose connections can be stalled in both
// directions and resumed: a frozen link or a stuck middlebox, for tests and
// benchmarks of what a process does when its NATS link hangs without
// breaking.
package netstall

import (
	"fmt"
	"net"
	"sync"
)

// Proxy forwards every connection accepted on a 127.0.0.1 listener to a
// backend address.
type Proxy struct {
	ln      net.Listener
	backend string

	mu     sync.Mutex
	paused bool
	resume chan struct{}
	conns  []net.Conn
}

// New starts a proxy to backend (host:port) on a free 127.0.0.1 port.
func New(backend string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("netstall: listen: %w", err)
	}
	p := &Proxy{ln: ln, backend: backend, resume: make(chan struct{})}
	go p.accept()
	return p, nil
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		b, err := net.Dial("tcp", p.backend)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, b)
		p.mu.Unlock()
		go p.pipe(c, b)
		go p.pipe(b, c)
	}
}

// Addr is the proxy's listen address (host:port).
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Pause stalls every connection in both directions: bytes already read are
// held, nothing more is read.
func (p *Proxy) Pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.paused {
		p.paused = true
		p.resume = make(chan struct{})
	}
}

// Resume lets the held bytes through and forwarding continue.
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.paused {
		p.paused = false
		close(p.resume)
	}
}

// Close stops listening and closes every connection.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.Resume()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	return err
}

func (p *Proxy) wait() {
	p.mu.Lock()
	paused, ch := p.paused, p.resume
	p.mu.Unlock()
	if paused {
		<-ch
	}
}

func (p *Proxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		p.wait()
		n, err := src.Read(buf)
		if n > 0 {
			p.wait() // bytes read just before a pause are held too
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
