package control_test

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/seed487d475b/proactor/control"
)

func TestUpgradeEndpoint(t *testing.T) {
	srv, _ := echoServer(t)
	var got control.UpgradeRequest
	fail := errors.New("the new binary exited before it was ready")
	_, cl := endpoint(t, srv, control.WithUpgrade(func(_ context.Context, req control.UpgradeRequest) (control.UpgradeResult, error) {
		got = req
		if req.Binary == "/bad" {
			return control.UpgradeResult{}, fail
		}
		return control.UpgradeResult{Binary: req.Binary, PID: 42, OldPID: os.Getpid()}, nil
	}))
	req := control.UpgradeRequest{Binary: "/new/proactor", ReadyTimeout: 3 * time.Second}
	res, err := cl.Upgrade(ctx(t), req)
	if err != nil || res.PID != 42 || res.OldPID != os.Getpid() || res.Binary != req.Binary || got != req {
		t.Fatalf("Upgrade = %+v, %v; the server got %+v", res, err, got)
	}
	if _, err := cl.Upgrade(ctx(t), control.UpgradeRequest{Binary: "/bad"}); err == nil || !strings.Contains(err.Error(), fail.Error()) {
		t.Fatalf("failed upgrade: %v", err)
	}

	_, plain := endpoint(t, srv)
	if _, err := plain.Upgrade(ctx(t), control.UpgradeRequest{}); err == nil || !strings.Contains(err.Error(), "cannot upgrade") {
		t.Fatalf("upgrade without WithUpgrade: %v", err)
	}
}

// TestServeInherited: Handover leaves the socket file for the endpoint
// that serves the inherited socket, whose Close removes it.
func TestServeInherited(t *testing.T) {
	srv, _ := echoServer(t)
	old, _ := endpoint(t, srv, control.WithName("old"))
	f, err := old.File()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.FileListener(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Handover(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(old.Path()); err != nil {
		t.Fatalf("Handover removed the socket file: %v", err)
	}
	ep, err := control.Serve(old.Path(), ln.(*net.UnixListener), srv, control.WithName("new"))
	if err != nil {
		t.Fatal(err)
	}
	cl := control.NewClient(old.Path())
	defer cl.Close()
	if st, err := cl.Status(ctx(t)); err != nil || st.Server != "new" || st.PID != os.Getpid() {
		t.Fatalf("status through the inherited socket: %+v, %v", st, err)
	}
	if err := ep.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(old.Path()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("socket file left after Close: %v", err)
	}
}
