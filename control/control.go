// Package control is a proactor server's admin endpoint and its client:
// HTTP over a unix socket that only the server's user can open (mode 0600),
// to pause and resume accepting, start a graceful shutdown and read the
// server's counters from another program (`proactor ctl`).
//
// The API, all JSON:
//
//	GET  /status            the Status
//	POST /pause             stop accepting (Server.Pause); answers the Status
//	POST /resume            accept again (Server.Resume); answers the Status
//	POST /shutdown          start a graceful shutdown; answers 202 at once
//	GET  /conns             the open connections (Server.Conns), by ID
//	POST /conns/{id}/close  close one gracefully (Conn.Close); answers a ConnAction
//	POST /conns/{id}/abort  reset one (Conn.Abort); answers a ConnAction
//	POST /upgrade           hand the sockets to a new process (an UpgradeRequest;
//	                        answers the UpgradeResult once it is ready); WithUpgrade
//
// An error is answered with its HTTP status and {"error": "..."}: 404 for
// a connection that is not open, 409 for one already closing.
package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/buffer"
	"github.com/seed487d475b/proactor/internal/buildinfo"
	"github.com/seed487d475b/proactor/internal/unixsock"
)

// Status is what the endpoint reports of its server.
type Status struct {
	Server    string         `json:"server,omitempty"` // the name given by WithName
	PID       int            `json:"pid"`              // the serving process's
	Engine    string         `json:"engine"`
	Loops     int            `json:"loops"`
	Paused    bool           `json:"paused"`
	Listeners []string       `json:"listeners"`
	Stats     proactor.Stats `json:"stats"`
	Buffers   buffer.Stats   `json:"buffers"` // the engine's buffer pool

	Version   string        `json:"version"`            // proactor's module version ("(devel)" in its own tree)
	Revision  string        `json:"revision,omitempty"` // the binary's version control revision, when recorded
	GoVersion string        `json:"go_version"`
	Started   time.Time     `json:"started"`   // when the server was made (Server.Started)
	Uptime    time.Duration `json:"uptime_ns"` // since Started, when the status was taken

	Histograms proactor.Histograms `json:"histograms"`
}

// Option configures an endpoint.
type Option func(*config)

type config struct {
	name      string
	shutdown  func()
	upgrade   func(context.Context, UpgradeRequest) (UpgradeResult, error)
	upgrading sync.Mutex // one upgrade at a time
}

// WithName sets the server name that Status reports. Default: none.
func WithName(name string) Option { return func(c *config) { c.name = name } }

// WithShutdown sets what POST /shutdown does. It must not block: the
// request is answered once it returns. Default: Server.Shutdown with no
// deadline, in a goroutine of its own; a program that owns the server's
// lifetime (as `proactor serve` does) passes its own stop instead.
func WithShutdown(fn func()) Option { return func(c *config) { c.shutdown = fn } }

// Handler returns the API as an http.Handler, for a program that serves it
// its own way; Listen serves it on a unix socket. Safe for concurrent use.
func Handler(srv *proactor.Server, opts ...Option) http.Handler {
	cfg := new(config)
	for _, o := range opts {
		o(cfg)
	}
	if cfg.shutdown == nil {
		cfg.shutdown = func() { go srv.Shutdown(context.Background()) }
	}
	mux := http.NewServeMux()
	status := func(w http.ResponseWriter) { reply(w, http.StatusOK, statusOf(srv, cfg.name)) }
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) { status(w) })
	mux.HandleFunc("POST /pause", func(w http.ResponseWriter, _ *http.Request) {
		srv.Pause()
		status(w)
	})
	mux.HandleFunc("POST /resume", func(w http.ResponseWriter, _ *http.Request) {
		srv.Resume()
		status(w)
	})
	mux.HandleFunc("POST /shutdown", func(w http.ResponseWriter, _ *http.Request) {
		cfg.shutdown()
		reply(w, http.StatusAccepted, map[string]bool{"shutting_down": true})
	})
	mux.HandleFunc("POST /upgrade", cfg.handleUpgrade)
	mux.HandleFunc("GET /conns", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, http.StatusOK, srv.Conns())
	})
	for _, action := range []string{"close", "abort"} {
		mux.HandleFunc("POST /conns/{id}/"+action, func(w http.ResponseWriter, r *http.Request) {
			code, v := connAction(srv, r.PathValue("id"), action)
			reply(w, code, v)
		})
	}
	// The mux's own 404 and 405 answers are plain text; the API's are JSON.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r) // which sets the pattern's path values
			return
		}
		rec := &statusOnly{}
		h.ServeHTTP(rec, r)
		if allow := rec.Header().Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		code := max(rec.code, http.StatusNotFound)
		reply(w, code, errorBody{Error: r.Method + " " + r.URL.Path + ": " + http.StatusText(code)})
	})
}

func statusOf(srv *proactor.Server, name string) Status {
	bi := buildinfo.Read()
	st := Status{
		Version:    bi.Version,
		Revision:   bi.Revision,
		GoVersion:  bi.GoVersion,
		Started:    srv.Started(),
		Uptime:     time.Since(srv.Started()),
		Histograms: srv.Histograms(),
		Server:     name,
		PID:        os.Getpid(),
		Engine:     srv.Engine().Name(),
		Loops:      srv.Engine().Loops(),
		Paused:     srv.Paused(),
		Listeners:  []string{},
		Stats:      srv.Stats(),
		Buffers:    srv.Engine().Buffers().Stats(),
	}
	for _, a := range srv.Addrs() {
		st.Listeners = append(st.Listeners, a.String())
	}
	return st
}

type errorBody struct {
	Error string `json:"error"`
}

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// statusOnly records the status and headers the mux would answer with,
// dropping its plain-text body.
type statusOnly struct {
	h    http.Header
	code int
}

func (s *statusOnly) Header() http.Header {
	if s.h == nil {
		s.h = http.Header{}
	}
	return s.h
}
func (s *statusOnly) Write(p []byte) (int, error) { return len(p), nil }
func (s *statusOnly) WriteHeader(code int)        { s.code = code }

// ErrInUse is returned by Listen when a live endpoint already answers on
// the path.
var ErrInUse = unixsock.ErrInUse

// Endpoint serves the API on a unix socket.
type Endpoint struct {
	path string
	ln   *unixsock.Listener
	hs   *http.Server
	done chan struct{}
}

// Path returns the socket's path.
func (e *Endpoint) Path() string { return e.path }

// Close stops the endpoint, lets requests in progress finish for up to a
// second, and removes the socket file.
func (e *Endpoint) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := e.hs.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = e.hs.Close()
	}
	<-e.done
	// The listener removes its socket file, only if it is still the one
	// Listen made (Shutdown has closed it; this reports how that went).
	if rerr := e.ln.Close(); err == nil && rerr != nil {
		err = fmt.Errorf("control: %w", rerr)
	}
	return err
}
