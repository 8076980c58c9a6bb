package activation

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestParse(t *testing.T) {
	const pid = 4242
	tests := []struct {
		name      string
		env       map[string]string
		wantN     int
		wantNames []string
		wantErr   bool
	}{
		{name: "Nothing", env: nil},
		{name: "OtherProcess", env: map[string]string{envPID: "4243", envFDs: "2"}},
		{name: "Unnamed", env: map[string]string{envPID: "4242", envFDs: "2"}, wantN: 2, wantNames: []string{"unknown", "unknown"}},
		{name: "Named", env: map[string]string{envPID: "4242", envFDs: "2", envNames: "web:control"}, wantN: 2, wantNames: []string{"web", "control"}},
		{name: "Zero", env: map[string]string{envPID: "4242", envFDs: "0", envNames: ""}, wantNames: []string{}},
		{name: "BadPID", env: map[string]string{envPID: "x", envFDs: "1"}, wantErr: true},
		{name: "BadCount", env: map[string]string{envPID: "4242", envFDs: "two"}, wantErr: true},
		{name: "NoCount", env: map[string]string{envPID: "4242"}, wantErr: true},
		{name: "NegativeCount", env: map[string]string{envPID: "4242", envFDs: "-1"}, wantErr: true},
		{name: "HugeCount", env: map[string]string{envPID: "4242", envFDs: "100000000"}, wantErr: true},
		{name: "NamesMismatch", env: map[string]string{envPID: "4242", envFDs: "2", envNames: "one"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			get := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
			n, names, err := parse(pid, get)
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ErrBadEnvironment)) {
				t.Fatalf("err = %v, want an error: %v", err, tt.wantErr)
			}
			if n != tt.wantN || (tt.wantNames != nil && !slices.Equal(names, tt.wantNames)) {
				t.Fatalf("parse = %d, %q; want %d, %q", n, names, tt.wantN, tt.wantNames)
			}
		})
	}
}

// TestNotify sends to a path and, on Linux, to an abstract socket.
func TestNotify(t *testing.T) {
	path := filepath.Join(t.TempDir(), "n")
	addrs := []string{path}
	if _, err := os.Stat("/proc/self"); err == nil {
		addrs = append(addrs, "@proactor-activation-test-"+filepath.Base(t.TempDir()))
	}
	for _, addr := range addrs {
		sock, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		defer sock.Close()
		t.Setenv(envNotify, addr)
		t.Setenv(envSupervisor, "")
		if ok, err := Notify("READY=1\nMAINPID=7"); !ok || err != nil {
			t.Fatalf("Notify to %s = %v, %v", addr, ok, err)
		}
		buf := make([]byte, 100)
		n, err := sock.Read(buf)
		if err != nil || string(buf[:n]) != "READY=1\nMAINPID=7" {
			t.Fatalf("%s got %q, %v", addr, buf[:n], err)
		}
		// An empty supervisor variable means none: the upgraded
		// process of a server that nobody supervises.
		if ok, err := NotifySupervisor("STOPPING=1"); ok || err != nil {
			t.Fatalf("NotifySupervisor with none = %v, %v", ok, err)
		}
	}
	t.Setenv(envNotify, "")
	if ok, err := Notify("READY=1"); ok || err != nil {
		t.Fatalf("Notify without a socket = %v, %v", ok, err)
	}
	t.Setenv(envNotify, "vsock:2:1")
	if _, err := Notify("READY=1"); err == nil {
		t.Fatal("Notify to vsock: no error")
	}
}
