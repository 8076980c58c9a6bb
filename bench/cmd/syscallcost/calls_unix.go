//go:build linux || darwin

package main

import "syscall"

var calls = []measured{
	{"RawSyscall(getppid)", func() { syscall.RawSyscall(syscall.SYS_GETPPID, 0, 0, 0) }},
	{"Syscall(getppid)", func() { syscall.Syscall(syscall.SYS_GETPPID, 0, 0, 0) }},
}
