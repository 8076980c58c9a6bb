//go:build !linux

// Command udpbench is Linux only: it pins with taskset and reads /proc.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "udpbench: Linux only")
	os.Exit(1)
}
