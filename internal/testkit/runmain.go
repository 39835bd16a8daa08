package testkit

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// RunMainEnv is set to "1" in the child process started by RunMain; a
// command's TestMain calls main() when it sees it.
const RunMainEnv = "PATCHBAY_TEST_RUN_MAIN"

// RunMain runs the current test binary as the command under test (its
// TestMain must call main() when RunMainEnv is "1") with exactly env (plus
// PATH), asserts that it exits non-zero within a second, and returns its
// stderr.
func RunMain(t testing.TB, env map[string]string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), RunMainEnv + "=1"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("still running after 1s (stderr: %s)", stderr.String())
	}
	if err == nil {
		t.Fatalf("exited 0, want non-zero (stderr: %s)", stderr.String())
	}
	return stderr.String()
}

// ExpectConfigError runs the command (as RunMain) with env and fails the
// test unless it printed exactly one line naming variable.
func ExpectConfigError(t testing.TB, env map[string]string, variable string) {
	t.Helper()
	stderr := RunMain(t, env)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], variable) {
		t.Fatalf("want one line naming %s, got:\n%s", variable, stderr)
	}
}
