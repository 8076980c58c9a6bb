//go:build !(linux || darwin)

package main

var calls []measured
