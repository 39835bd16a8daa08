package main

import "syscall"

// childSysProcAttr makes the kernel kill a child if the driver dies without
// stopping it.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
