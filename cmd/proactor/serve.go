package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/activation"
	"github.com/seed487d475b/proactor/control"
	"github.com/seed487d475b/proactor/examples/echo"
	"github.com/seed487d475b/proactor/examples/files"
	"github.com/seed487d475b/proactor/examples/kv"
	"github.com/seed487d475b/proactor/examples/line"
	"github.com/seed487d475b/proactor/examples/packet"
	"github.com/seed487d475b/proactor/examples/pop3d"
	"github.com/seed487d475b/proactor/examples/udpecho"
	"github.com/seed487d475b/proactor/examples/web"
	"github.com/seed487d475b/proactor/metrics"
	"github.com/seed487d475b/proactor/metrics/status"
	"github.com/seed487d475b/proactor/pop3"
	"github.com/seed487d475b/proactor/workers"
)

// listenSpec is one default listener of a server: where, and with which
// per-listener options.
type listenSpec struct {
	addr string
	opts []proactor.Option
}

// servers maps each name `proactor serve` accepts to a constructor returning
// a fresh handler and its default listeners. Usage calls the constructors to
// show the addresses, so they must be cheap and free of side effects.
var servers = map[string]func() (proactor.Handler, []listenSpec){
	"echo": func() (proactor.Handler, []listenSpec) {
		return echo.Handler{}, []listenSpec{{addr: echo.DefaultAddr}}
	},
	// packet and line frame their input, so their framer is a listener
	// option: --listen keeps a default listener's options.
	"packet": func() (proactor.Handler, []listenSpec) {
		return packet.Handler{}, []listenSpec{{addr: packet.DefaultAddr, opts: packet.Options()}}
	},
	"line": func() (proactor.Handler, []listenSpec) {
		return line.Handler{}, []listenSpec{{addr: line.DefaultAddr, opts: line.Options()}}
	},
	// resp is a key-value store for redis-cli and redis-benchmark. Its
	// expiry sweep starts with the first connection, so making one here is
	// free of side effects; serve closes it after the server stops.
	"resp": func() (proactor.Handler, []listenSpec) {
		return kv.NewHandler(), []listenSpec{{addr: kv.DefaultAddr, opts: kv.Options()}}
	},
	// http is HTTP/1.1 for curl, wrk and browsers: /plaintext, /json,
	// /echo, and the files under --root if given. The handler opens the
	// root, so runServe makes it (newWebHandler) and this entry gives the
	// listener alone.
	"http": func() (proactor.Handler, []listenSpec) {
		return nil, []listenSpec{{addr: web.DefaultAddr, opts: web.Options()}}
	},
	// pop3 serves the Maildirs under --maildrop. The handler opens the
	// directory, so runServe makes it (pop3Flags.newHandler) and this
	// entry gives the listener alone.
	"pop3": func() (proactor.Handler, []listenSpec) {
		return nil, []listenSpec{{addr: pop3d.DefaultAddr, opts: pop3.Options()}}
	},
	// files serves the directory given by --root. The handler opens it, a
	// side effect, so runServe makes it (filesFlags.newHandler) and this
	// entry gives the listener alone.
	"files": func() (proactor.Handler, []listenSpec) {
		return nil, []listenSpec{{addr: files.DefaultAddr}}
	},
	// dual is the seed articles' two-listener server on one engine: the
	// first listener hands a connection over only once data has arrived
	// (deferred accept, with a first-data timeout as the backstop), the
	// second at once.
	// udp-echo is the datagram echo (udp.go): no Handler, and its
	// address is UDP's.
	udpEchoName: func() (proactor.Handler, []listenSpec) {
		return nil, []listenSpec{{addr: udpecho.DefaultAddr + "/udp"}}
	},
	"dual": func() (proactor.Handler, []listenSpec) {
		return echo.Handler{}, []listenSpec{
			{addr: "127.0.0.1:5004", opts: []proactor.Option{
				proactor.WithDeferAccept(true), proactor.WithFirstDataTimeout(10 * time.Second)}},
			{addr: "127.0.0.1:5005"},
		}
	},
}

// addrList is the value of --listen, which may be repeated to serve the same
// handler on several addresses.
type addrList []string

func (a *addrList) String() string { return strings.Join(*a, ",") }

func (a *addrList) Set(s string) error {
	if s == "" {
		// net.Listen would take "" as every interface on a random port,
		// which is never what an empty flag value meant.
		return errors.New("empty address")
	}
	*a = append(*a, s)
	return nil
}

// serveConfig is the parsed command line of `proactor serve`.
type serveConfig struct {
	name            string
	handler         proactor.Handler
	listeners       []listenSpec
	engine          string
	loops           int
	shutdownTimeout time.Duration
	opts            []proactor.Option // for every listener: from the protection, transport and TLS flags
	serverOpts      []proactor.Option // for NewServer only: --max-conns, --max-conns-per-ip, --busy-poll
	control         string            // the control socket's path, "" for the default, "off" for none
	metrics         string            // where to serve /metrics over HTTP; "" for nowhere
	logLevel        slog.Level
	upgradeDrain    time.Duration // after an upgrade, how long connections may take to end on their own
}

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("proactor serve", flag.ContinueOnError)
	var listen addrList
	fs.Var(&listen, "listen", "listen on `ADDR`, host:port or unix:PATH (a unix socket); repeat for several addresses (default: the server's own)")
	engine := fs.String("engine", "auto", "I/O `engine`: auto, or one of: "+strings.Join(proactor.Engines(), ", "))
	loops := fs.Int("loops", 0, "number of event loops; 0 means GOMAXPROCS")
	timeout := fs.Duration("shutdown-timeout", 10*time.Second, "how long a graceful shutdown waits for connections before aborting them")
	upgradeDrain := fs.Duration("upgrade-drain", 30*time.Second, "after `proactor ctl upgrade`, how long the old process waits for its connections to end on their own before shutting down")
	reusePort := fs.Bool("reuse-port", false, "one listening socket per loop (SO_REUSEPORT): the kernel spreads connections over the loops")
	busyPoll := fs.Duration("busy-poll", 0, "after traffic, each loop polls without blocking for up to `DURATION` before it sleeps: less latency to wake for more CPU, never while idle (e.g. 50us; default: off)")
	leastConns := fs.Bool("least-conns", false, "give each accepted connection to the loop with the fewest (default: round-robin)")
	var logLevel slog.Level
	fs.TextVar(&logLevel, "log-level", slog.LevelInfo, "log at `LEVEL` and above: debug (every connection closed with an error, and why), info, warn, error")
	metricsAddr := fs.String("metrics", "", "serve Prometheus metrics at http://`ADDR`/metrics and a live status page at http://ADDR/ (127.0.0.1:0 picks a free port; default: none)")
	ctl := fs.String("control", "", "serve the control endpoint (for proactor ctl) on the unix socket `PATH`; off for none (default: $XDG_RUNTIME_DIR/proactor/NAME.sock, or proactor-UID/NAME.sock in the temporary directory)")
	var protect protectFlags
	protect.register(fs)
	var tlsOpts tlsFlags
	tlsOpts.register(fs)
	var filesOpts filesFlags
	filesOpts.register(fs)
	var pop3Opts pop3Flags
	pop3Opts.register(fs)
	var transport transportFlags
	transport.register(fs)
	var udpOpts udpFlags
	udpOpts.register(fs)
	// The flag package would print its errors unprefixed and the usage
	// without the server list; silence it and report both below.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}

	name, err := parseNamed(fs, args, "server name (one of: "+strings.Join(serverNames(), ", ")+")")
	if errors.Is(err, flag.ErrHelp) {
		serveUsage(stdout, fs)
		return exitOK
	}
	if err == nil {
		err = checkServeFlags(name, *loops, *timeout)
	}
	if err == nil {
		err = protect.check()
	}
	if err == nil {
		err = tlsOpts.check()
	}
	if err == nil {
		err = filesOpts.check(name, fs)
	}
	if err == nil {
		err = pop3Opts.check(name, fs)
	}
	if err == nil {
		err = transport.check()
	}
	if err == nil {
		err = udpOpts.check(name, fs)
	}
	if err == nil && *reusePort && *leastConns {
		err = errors.New("--least-conns has no effect with --reuse-port, where each loop keeps what its socket accepts")
	}
	if err != nil {
		return usageError(stderr, "serve", fs, err)
	}

	if name == udpEchoName {
		return serveUDP(listen, *engine, *loops, logLevel, udpOpts, stdout, stderr)
	}
	h, specs := servers[name]()
	switch name {
	case "files":
		h, err = filesOpts.newHandler()
	case "http":
		h, err = newWebHandler(filesOpts.root)
	case "pop3":
		h, err = pop3Opts.newHandler()
	}
	if err != nil {
		errorf(stderr, "serve: %v", err)
		return exitError
	}
	opts := slices.Concat(protect.options(), balanceOptions(*reusePort, *leastConns), transport.options())
	serverOpts := protect.serverOptions()
	if *busyPoll > 0 {
		serverOpts = append(serverOpts, proactor.WithBusyPoll(*busyPoll)) // the engine's
	}
	tlsCfg, err := tlsOpts.config(stdout)
	if err != nil {
		errorf(stderr, "serve: %v", err)
		return exitError
	}
	if tlsCfg != nil {
		opts = append(opts, proactor.WithTLS(tlsCfg))
	}
	return serve(serveConfig{
		name:            name,
		handler:         h,
		listeners:       overrideAddrs(specs, listen),
		engine:          *engine,
		loops:           *loops,
		shutdownTimeout: *timeout,
		opts:            opts,
		serverOpts:      serverOpts,
		control:         *ctl,
		metrics:         *metricsAddr,
		logLevel:        logLevel,
		upgradeDrain:    *upgradeDrain,
	}, stdout, stderr)
}

// newWebHandler makes the http server's handler, with the files of root
// when it is not "".
func newWebHandler(root string) (proactor.Handler, error) {
	h, err := web.New(root)
	if err != nil {
		return nil, fmt.Errorf("http: %w", err)
	}
	return h, nil
}

// overrideAddrs applies --listen: the i-th address replaces the i-th default
// listener's, keeping its options; addresses beyond the defaults take the
// last default's options.
func overrideAddrs(specs []listenSpec, listen addrList) []listenSpec {
	if len(listen) == 0 {
		return specs
	}
	out := make([]listenSpec, len(listen))
	for i, addr := range listen {
		out[i] = listenSpec{addr: addr, opts: specs[min(i, len(specs)-1)].opts}
	}
	return out
}

// parseNamed returns the one argument that is not a flag (the server's name
// for serve, what, as the error calls it; "" when it may be left out). It accepts flags on either side
// of it, since both `serve echo --loops 1` and `serve --loops 1 echo` read
// naturally and the flag package stops at the first non-flag argument.
func parseNamed(fs *flag.FlagSet, args []string, what string) (string, error) {
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	if fs.NArg() == 0 {
		if what == "" {
			return "", nil // optional
		}
		return "", errors.New("missing " + what)
	}
	name := fs.Arg(0)
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		return "", err
	}
	if fs.NArg() > 0 {
		return "", fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return name, nil
}

func checkServeFlags(name string, loops int, timeout time.Duration) error {
	if _, ok := servers[name]; !ok {
		return fmt.Errorf("unknown server %q; servers: %s", name, strings.Join(serverNames(), ", "))
	}
	if loops < 0 {
		// proactor.WithLoops reads a negative count as the default, which
		// would hide the typo.
		return fmt.Errorf("--loops %d: must be 0 or more", loops)
	}
	if timeout <= 0 {
		return fmt.Errorf("--shutdown-timeout %v: must be positive", timeout)
	}
	return nil
}

// serverNames returns the names serve accepts, sorted.
func serverNames() []string {
	names := make([]string, 0, len(servers))
	for name := range servers {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func serveUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: proactor serve NAME [flags]\n\nServers:\n")
	for _, name := range serverNames() {
		_, specs := servers[name]()
		addrs := make([]string, len(specs))
		for i, s := range specs {
			addrs[i] = s.addr
		}
		fmt.Fprintf(w, "  %-8s (default %s)\n", name, strings.Join(addrs, " and "))
	}
	fmt.Fprintf(w, "\nFlags:\n")
	printFlags(w, fs)
}

// serve runs the server until SIGINT or SIGTERM and returns the exit status.
func serve(cfg serveConfig, stdout, stderr io.Writer) int {
	// Subscribe before listening: a supervisor (or a test) may signal as
	// soon as it reads the "listening" line, and that signal must start a
	// graceful shutdown rather than kill the process.
	sigc := make(chan os.Signal, 2)
	signal.Notify(sigc, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigc)
	// A handler that holds resources (files: its root and disk workers)
	// releases them once the server has stopped.
	if c, ok := cfg.handler.(io.Closer); ok {
		defer c.Close()
	}

	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.logLevel})).With("server", cfg.name)
	opts := append([]proactor.Option{
		proactor.WithEngineName(cfg.engine),
		proactor.WithLoops(cfg.loops),
		proactor.WithLogger(logger),
	}, slices.Concat(cfg.serverOpts, cfg.opts)...)
	// A handler with a workers pool (files) has its jobs counted in Stats.
	if w, ok := cfg.handler.(interface{ Workers() *workers.Pool }); ok {
		opts = append(opts, proactor.WithWorkerPool(w.Workers()))
	}
	srv, err := proactor.NewServer(cfg.handler, opts...)
	if errors.Is(err, proactor.ErrUnknownEngine) {
		errorf(stderr, "unknown engine %q; available: auto, %s", cfg.engine, strings.Join(proactor.Engines(), ", "))
		return exitUsage
	}
	if err != nil {
		errorf(stderr, "%v", err)
		return exitError
	}

	// Sockets from systemd or from the process an upgrade replaces take
	// the place of the addresses.
	inh, err := takeInherited()
	if err == nil && len(inh.listeners) > 0 {
		err = listenInherited(srv, cfg, inh.listeners, stdout)
		cfg.listeners = nil
	}
	if err != nil {
		errorf(stderr, "%s: inherited sockets: %v", cfg.name, err)
		srv.Close()
		return exitError
	}
	eng := srv.Engine()
	for _, l := range cfg.listeners {
		// The command line's options go last: they override a listener's
		// own defaults.
		bound, err := srv.Listen(l.addr, slices.Concat(l.opts, cfg.opts)...)
		if err != nil {
			errorf(stderr, "%s: %v", cfg.name, err)
			// The listeners already started would otherwise outlive the
			// failure with nobody to stop them.
			srv.Close()
			return exitError
		}
		fmt.Fprintf(stdout, "proactor: %s listening on %s (engine %s, %s)\n",
			cfg.name, bound, eng.Name(), plural(eng.Loops(), "loop"))
	}

	stop := make(chan struct{})
	up := newUpgrader(srv)
	if ep, err := startControl(cfg, srv, stop, inh.control, up, stdout, stderr); err != nil {
		errorf(stderr, "%v", err)
		srv.Close()
		return exitError
	} else if ep != nil {
		up.setControl(ep)
		defer ep.Close()
	}

	if cfg.metrics != "" {
		ms, err := serveMetrics(cfg, srv, inh.metrics, up, stdout)
		if err != nil {
			errorf(stderr, "metrics: %v", err)
			srv.Close()
			return exitError
		}
		defer ms.Close()
	} else if inh.metrics != nil {
		inh.metrics.Close()
	}
	if _, err := activation.Notify("READY=1"); err != nil {
		errorf(stderr, "telling the supervisor we are ready: %v", err)
	}

	select {
	case <-sigc:
	case <-stop:
	case res := <-up.done:
		up.drain(res, cfg.upgradeDrain, sigc, stdout)
	}
	if !srv.AcceptStopped() {
		activation.NotifySupervisor("STOPPING=1")
	}
	fmt.Fprintln(stdout, "proactor: shutting down")
	ctx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	select {
	case err := <-done:
		var se *proactor.ShutdownError
		switch {
		case errors.As(err, &se) && se.Owing == 0:
			// Only connections with nothing owed were left (a peer that
			// never sends its FIN): aborting them lost nothing.
			fmt.Fprintf(stdout, "proactor: shutdown: %d idle connections aborted at the deadline; nothing lost\n", se.Aborted)
		case err != nil:
			errorf(stderr, "shutdown: %v", err)
			return exitError
		}
		return exitOK
	case <-sigc:
		// Restore the default action so that a third signal still kills
		// the process if Close is stuck behind a blocked callback.
		signal.Stop(sigc)
		errorf(stderr, "second signal: closing connections without waiting")
		srv.Close()
		return exitError
	}
}

// balanceOptions turns --reuse-port and --least-conns into options.
func balanceOptions(reusePort, leastConns bool) []proactor.Option {
	var opts []proactor.Option
	if reusePort {
		opts = append(opts, proactor.WithReusePort(true))
	}
	if leastConns {
		opts = append(opts, proactor.WithLoadBalance(proactor.LeastConnections))
	}
	return opts
}

// startControl serves the control endpoint for srv unless cfg turns it off;
// `proactor ctl shutdown` closes stop. A default socket that another server
// of the same name holds is not an error: that server keeps it, and this
// one runs without (a warning says so). A path given on the command line
// must work.
//
// An inherited control socket (inh, from the process an upgrade replaced)
// is served instead of making one; up carries out `proactor ctl upgrade`.
func startControl(cfg serveConfig, srv *proactor.Server, stop chan struct{}, inh *net.UnixListener, up *upgrader, stdout, stderr io.Writer) (*control.Endpoint, error) {
	if cfg.control == "off" {
		if inh != nil {
			inh.Close()
		}
		return nil, nil
	}
	without := func(err error) (*control.Endpoint, error) {
		errorf(stderr, "%v; running without a control endpoint (give --control PATH, or --control off)", err)
		return nil, nil
	}
	path := cfg.control
	if path == "" {
		var err error
		if path, err = control.DefaultPath(cfg.name); err != nil {
			return without(err)
		}
	}
	var once sync.Once
	opts := []control.Option{control.WithName(cfg.name),
		control.WithShutdown(func() { once.Do(func() { close(stop) }) }), control.WithUpgrade(up.upgrade)}
	var ep *control.Endpoint
	var err error
	if inh != nil {
		ep, err = control.Serve(path, inh, srv, opts...)
	} else {
		ep, err = control.Listen(path, srv, opts...)
	}
	if err != nil && cfg.control == "" && errors.Is(err, control.ErrInUse) {
		return without(err)
	}
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "proactor: control on %s\n", ep.Path())
	return ep, nil
}

// serveMetrics serves srv's counters, with the Go runtime's and the
// process's, at /metrics on cfg.metrics, and the live status page at /, until the
// returned server is closed.
// An inherited socket (ln, from the process an upgrade replaced) is
// served instead of listening; up hands it on at the next upgrade.
func serveMetrics(cfg serveConfig, srv *proactor.Server, ln net.Listener, up *upgrader, stdout io.Writer) (*http.Server, error) {
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", cfg.metrics); err != nil {
			return nil, err
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		metrics.NewCollector(srv, metrics.WithConstLabels(prometheus.Labels{"server": cfg.name})),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("GET /", status.Handler(srv, status.WithName(cfg.name), status.WithGatherer(reg)))
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	up.setMetrics(ln, hs)
	go hs.Serve(ln) // ends with ErrServerClosed when hs is closed
	fmt.Fprintf(stdout, "proactor: metrics on http://%s/metrics\n", ln.Addr())
	fmt.Fprintf(stdout, "proactor: status page on http://%s/\n", ln.Addr())
	return hs, nil
}

func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
