//go:build !linux

package main

import (
	"errors"
	"runtime"
)

var errLinuxOnly = errors.New("echobench: Linux only (/proc, sched_setaffinity, perf)")

func raiseNofile() error       { return errLinuxOnly }
func nofile() uint64           { return 0 }
func pinProcess(cpu int) error { return errLinuxOnly }
func kernelRelease() string    { return runtime.GOOS }

func startFloor() (string, func(), error) { return "", nil, errLinuxOnly }
