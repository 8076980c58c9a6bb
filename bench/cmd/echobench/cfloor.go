package main

import (
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// cfloorSource is the floor in C (csrc/cfloor.c): the same loop as floor's, with
// no Go runtime under it. echobench builds it with the system's compiler
// when a run asks for it.
//
//go:embed csrc/cfloor.c
var cfloorSource []byte

// cCompiler returns the system's C compiler, or "" if it has none.
func cCompiler() string {
	for _, cc := range []string{"cc", "gcc", "clang"} {
		if p, err := exec.LookPath(cc); err == nil {
			return p
		}
	}
	return ""
}

// buildCFloor compiles cfloor.c with -O2 into dir and returns the binary's
// path.
func buildCFloor(dir string) (string, error) {
	cc := cCompiler()
	if cc == "" {
		return "", fmt.Errorf("cfloor: no C compiler (cc, gcc or clang) on PATH")
	}
	src := filepath.Join(dir, "cfloor.c")
	if err := os.WriteFile(src, cfloorSource, 0o644); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "cfloor")
	if out, err := exec.Command(cc, "-O2", "-o", bin, src).CombinedOutput(); err != nil {
		return "", fmt.Errorf("cfloor: %s: %w\n%s", cc, err, out)
	}
	return bin, nil
}
