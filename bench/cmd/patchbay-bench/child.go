package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is a process the driver started; only the driver stops it.
type child struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the process exited
	mu      sync.Mutex
	err     error // Wait's result
	stopped bool  // stop was called: an exit is expected
}

// startChild starts path with args and env (added to the driver's own),
// output to dir/name.log. onExit runs if it exits before stop is called.
func startChild(name, path string, args, env []string, dir string, onExit func(error)) (*child, error) {
	logPath := dir + "/" + name + ".log"
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Dir = dir
	cmd.SysProcAttr = childSysProcAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, path, err)
	}
	c := &child{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		logFile.Close()
		c.mu.Lock()
		c.err = err
		expected := c.stopped
		c.mu.Unlock()
		close(c.done)
		if !expected && onExit != nil {
			onExit(fmt.Errorf("%s exited unexpectedly (%v); last log lines:\n%s", name, err, c.tail(15)))
		}
	}()
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// stop sends SIGTERM, waits up to grace, then SIGKILL. It returns the
// process's exit error, if any, after a SIGTERM (a clean stop is nil).
func (c *child) stop(grace time.Duration) error {
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
	select {
	case <-c.done:
	default:
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.done:
		case <-time.After(grace):
			_ = c.cmd.Process.Kill()
			<-c.done
			return fmt.Errorf("%s did not stop within %s after SIGTERM; killed", c.name, grace)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var ee *exec.ExitError
	if errors.As(c.err, &ee) {
		return fmt.Errorf("%s: %v; last log lines:\n%s", c.name, c.err, c.tail(15))
	}
	return c.err
}

// tail returns the last n lines of the child's log.
func (c *child) tail(n int) string {
	f, err := os.Open(c.logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return "  " + strings.Join(lines, "\n  ")
}
