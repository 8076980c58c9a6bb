package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"

	"github.com/seed487d475b/proactor"
)

// ErrNoServer is returned by a Client when no server answers on its
// socket: none was started with a control endpoint there, or it has exited.
var ErrNoServer = errors.New("control: no server is listening")

// Client talks to an endpoint. Safe for concurrent use; Close releases its
// idle connection.
type Client struct {
	path string
	hc   *http.Client
}

// NewClient returns a client of the endpoint on the unix socket at path.
func NewClient(path string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
		MaxIdleConns: 1,
	}
	return &Client{path: path, hc: &http.Client{Transport: tr}}
}

// Close closes the client's idle connection.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// Status returns the server's status and counters.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	err := c.do(ctx, http.MethodGet, "/status", &st)
	return st, err
}

// Pause stops the server accepting and returns its status after.
func (c *Client) Pause(ctx context.Context) (Status, error) {
	var st Status
	err := c.do(ctx, http.MethodPost, "/pause", &st)
	return st, err
}

// Resume makes the server accept again and returns its status after.
func (c *Client) Resume(ctx context.Context) (Status, error) {
	var st Status
	err := c.do(ctx, http.MethodPost, "/resume", &st)
	return st, err
}

// Shutdown starts the server's graceful shutdown; it returns once the
// server has taken the request, not when it has stopped.
func (c *Client) Shutdown(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/shutdown", nil)
}

// Conns lists the server's open connections, in the order of their IDs.
func (c *Client) Conns(ctx context.Context) ([]proactor.ConnInfo, error) {
	var cs []proactor.ConnInfo
	err := c.do(ctx, http.MethodGet, "/conns", &cs)
	return cs, err
}

// CloseConn closes the connection with the given ID gracefully (its queue
// drains, then a FIN). The error matches ErrNoConn when no such connection
// is open, ErrClosing when it is closing already.
func (c *Client) CloseConn(ctx context.Context, id uint64) error {
	return c.connAction(ctx, id, "close")
}

// AbortConn resets the connection with the given ID: its queue is
// dropped. The errors are CloseConn's.
func (c *Client) AbortConn(ctx context.Context, id uint64) error {
	return c.connAction(ctx, id, "abort")
}

func (c *Client) connAction(ctx context.Context, id uint64, action string) error {
	err := c.do(ctx, http.MethodPost, fmt.Sprintf("/conns/%d/%s", id, action), nil)
	var ae *apiError
	if errors.As(err, &ae) {
		switch ae.code {
		case http.StatusNotFound:
			return fmt.Errorf("%w: %d", ErrNoConn, id)
		case http.StatusConflict:
			return fmt.Errorf("%w: %d", ErrClosing, id)
		}
	}
	return err
}

// apiError is an error the endpoint answered.
type apiError struct {
	code int
	msg  string
}

func (e *apiError) Error() string { return "control: " + e.msg }

func (c *Client) do(ctx context.Context, method, path string, out any) error {
	return c.doBody(ctx, method, path, nil, out)
}

// doBody sends in, if not nil, as the request's JSON body.
func (c *Client) doBody(ctx context.Context, method, path string, in, out any) error {
	var reqBody io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		reqBody = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://proactor"+path, reqBody)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return fmt.Errorf("%w on %s", ErrNoServer, c.path)
		}
		return fmt.Errorf("control: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("control: %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e errorBody
		if json.Unmarshal(body, &e) != nil || e.Error == "" {
			e.Error = resp.Status
		}
		return &apiError{code: resp.StatusCode, msg: e.Error}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("control: %s %s: bad answer: %w", method, path, err)
	}
	return nil
}
