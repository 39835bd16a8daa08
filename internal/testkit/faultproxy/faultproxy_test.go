package faultproxy_test

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/testkit/faultproxy"
)

// echoServer answers every line with the same line.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

// proxiedEcho starts an echo server behind a proxy and dials it through
// the proxy.
func proxiedEcho(t *testing.T) (*faultproxy.Proxy, net.Conn) {
	t.Helper()
	p, err := faultproxy.New(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return p, c
}

func TestPauseHoldsRepliesUntilResume(t *testing.T) {
	p, c := proxiedEcho(t)
	r := bufio.NewReader(c)
	lines := make(chan string, 4)
	go func() {
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				close(lines)
				return
			}
			lines <- l
		}
	}()
	if _, err := c.Write([]byte("one\n")); err != nil {
		t.Fatal(err)
	}
	if l := <-lines; l != "one\n" {
		t.Fatalf("got %q", l)
	}
	p.Pause()
	if _, err := c.Write([]byte("two\n")); err != nil {
		t.Fatal(err)
	}
	// The reply reaches the proxy and is held there.
	deadline := time.Now().Add(5 * time.Second)
	for p.Blocked() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("reply never held")
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case l := <-lines:
		t.Fatalf("reply %q passed a paused proxy", l)
	default:
	}
	p.Resume()
	if l := <-lines; l != "two\n" {
		t.Fatalf("after resume got %q", l)
	}
}

func TestRefuseClosesConnections(t *testing.T) {
	p, c := proxiedEcho(t)
	p.Refuse(true)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("read on a refused connection succeeded")
	}
	c2, err := net.Dial("tcp", p.Addr())
	if err == nil {
		_ = c2.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c2.Read(make([]byte, 1)); err == nil {
			t.Fatal("a new connection was served while refusing")
		}
		c2.Close()
	}
	p.Refuse(false)
	c3, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	if _, err := c3.Write([]byte("x\n")); err != nil {
		t.Fatal(err)
	}
	_ = c3.SetReadDeadline(time.Now().Add(5 * time.Second))
	if l, err := bufio.NewReader(c3).ReadString('\n'); err != nil || l != "x\n" {
		t.Fatalf("after Refuse(false): %q %v", l, err)
	}
}

func TestPauseOnPausesAfterThePattern(t *testing.T) {
	p, c := proxiedEcho(t)
	r := bufio.NewReader(c)
	p.PauseOn("PUB patchbay.changes.")
	// Before the pattern, replies flow.
	if _, err := c.Write([]byte("PUB other\n")); err != nil {
		t.Fatal(err)
	}
	if l, err := r.ReadString('\n'); err != nil || l != "PUB other\n" {
		t.Fatalf("got %q %v", l, err)
	}
	// The pattern split over two writes still triggers.
	if _, err := c.Write([]byte("PUB patch")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("bay.changes.peering.p-1\n")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for p.Blocked() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("reply never held")
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.Resume()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if l, err := r.ReadString('\n'); err != nil || l != "PUB patchbay.changes.peering.p-1\n" {
		t.Fatalf("after resume got %q %v", l, err)
	}
}
