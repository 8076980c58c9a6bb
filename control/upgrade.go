package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/internal/unixsock"
)

// UpgradeRequest asks a server to hand its sockets to a new process
// (POST /upgrade).
type UpgradeRequest struct {
	// Binary is the program to start; "" means the running one's path.
	Binary string `json:"binary,omitempty"`
	// ReadyTimeout bounds the wait for the new process's readiness; zero
	// means the server's default.
	ReadyTimeout time.Duration `json:"ready_timeout,omitempty"`
}

// UpgradeResult is what a server answers to an upgrade that worked: the
// new process is ready and accepting, and the old one drains and exits.
type UpgradeResult struct {
	Binary string `json:"binary"`
	PID    int    `json:"pid"`     // the new process's
	OldPID int    `json:"old_pid"` // the process that answered
}

// ErrNoUpgrade is answered (501) by an endpoint given no WithUpgrade.
var ErrNoUpgrade = errors.New("control: this server cannot upgrade")

// WithUpgrade sets what POST /upgrade does: start the new process and
// return once it is ready, or fail and leave the server as it was. It is
// called on the request's goroutine, one upgrade at a time. Default: none
// (the endpoint answers 501).
func WithUpgrade(fn func(context.Context, UpgradeRequest) (UpgradeResult, error)) Option {
	return func(c *config) { c.upgrade = fn }
}

// handleUpgrade serves POST /upgrade.
func (cfg *config) handleUpgrade(w http.ResponseWriter, r *http.Request) {
	if cfg.upgrade == nil {
		reply(w, http.StatusNotImplemented, errorBody{Error: ErrNoUpgrade.Error()})
		return
	}
	var req UpgradeRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		reply(w, http.StatusBadRequest, errorBody{Error: "upgrade: bad request: " + err.Error()})
		return
	}
	if !cfg.upgrading.TryLock() {
		reply(w, http.StatusConflict, errorBody{Error: "upgrade: another upgrade is under way"})
		return
	}
	defer cfg.upgrading.Unlock()
	res, err := cfg.upgrade(r.Context(), req)
	if err != nil {
		reply(w, http.StatusInternalServerError, errorBody{Error: "upgrade: " + err.Error()})
		return
	}
	reply(w, http.StatusOK, res)
}

// Upgrade asks the server to hand its sockets to a new process, and
// returns once the new process is ready (or the upgrade failed and the
// server goes on as before). ctx must outlast the server's wait for the
// new process.
func (c *Client) Upgrade(ctx context.Context, req UpgradeRequest) (UpgradeResult, error) {
	var res UpgradeResult
	err := c.doBody(ctx, http.MethodPost, "/upgrade", req, &res)
	return res, err
}

// Serve serves the API for srv on ln, a unix listener opened elsewhere
// whose socket file is at path: the control socket handed over by the
// process an upgrade replaced. The endpoint owns ln; its Close removes the
// socket file, which it takes as its own, as Listen's does.
func Serve(path string, ln *net.UnixListener, srv *proactor.Server, opts ...Option) (*Endpoint, error) {
	uln, err := unixsock.Adopt(path, ln)
	if err != nil {
		return nil, fmt.Errorf("control: inherited socket: %w", err)
	}
	return serve(path, uln, srv, opts), nil
}

// File returns a duplicate of the endpoint's listening socket, for a new
// process to inherit (see Handover).
func (e *Endpoint) File() (*os.File, error) {
	return e.ln.UnixListener.File()
}

// Handover stops the endpoint as Close does but leaves the socket file in
// place: a new process that inherited the socket (File) serves it now.
func (e *Endpoint) Handover() error {
	e.ln.Keep()
	return e.Close()
}
