package netstall_test

import (
	"bufio"
	"net"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/netstall"
)

func TestPauseHoldsBothDirectionsUntilResume(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // echo server
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			_, _ = c.Write([]byte(line))
		}
	}()
	p, err := netstall.New(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	echo := func(timeout time.Duration) (string, error) {
		_ = c.SetReadDeadline(time.Now().Add(timeout))
		return r.ReadString('\n')
	}
	_, _ = c.Write([]byte("a\n"))
	if s, err := echo(2 * time.Second); err != nil || s != "a\n" {
		t.Fatalf("before pause: %q %v", s, err)
	}
	p.Pause()
	_, _ = c.Write([]byte("b\n"))
	if s, err := echo(300 * time.Millisecond); err == nil {
		t.Fatalf("got %q through a paused proxy", s)
	}
	p.Resume()
	if s, err := echo(2 * time.Second); err != nil || s != "b\n" {
		t.Fatalf("after resume: %q %v", s, err)
	}
}
