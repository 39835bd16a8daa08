//go:build unix

package main

import "syscall"

// freeze stops a process (SIGSTOP), as a long GC pause, a frozen VM or CPU
// throttling would; thaw resumes it (SIGCONT).
func freeze(pid int) error { return syscall.Kill(pid, syscall.SIGSTOP) }

func thaw(pid int) error { return syscall.Kill(pid, syscall.SIGCONT) }
