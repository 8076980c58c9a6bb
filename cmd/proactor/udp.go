package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/examples/udpecho"
)

// udpEchoName is the one datagram server of `proactor serve`. It runs on
// a PacketServer, not a Server, so it has a path of its own (serveUDP),
// and the TCP servers' flags do not apply to it.
const udpEchoName = "udp-echo"

// udpFlags are the flags of the datagram server.
type udpFlags struct{ packetSize int }

func (u *udpFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&u.packetSize, "packet-size", 0, "udp-echo: receive datagrams of up to `N` bytes whole; larger ones are dropped and counted (default 4096)")
}

// udpApplies are the flags that mean something to the datagram server.
var udpApplies = []string{"listen", "engine", "loops", "log-level", "packet-size", "shutdown-timeout"}

// check refuses flags that do not apply to the server named.
func (u *udpFlags) check(name string, fs *flag.FlagSet) error {
	var bad []string
	fs.Visit(func(f *flag.Flag) {
		if name == udpEchoName && !slices.Contains(udpApplies, f.Name) || name != udpEchoName && f.Name == "packet-size" {
			bad = append(bad, "--"+f.Name)
		}
	})
	if len(bad) > 0 {
		return fmt.Errorf("%s: not for the %s server", strings.Join(bad, ", "), name)
	}
	if u.packetSize < 0 || u.packetSize > 65527 {
		return fmt.Errorf("invalid --packet-size %d: must be 1 to 65527 (0: the default)", u.packetSize)
	}
	return nil
}

// serveUDP runs the datagram echo on each address (port 5001 over UDP by
// default; a "/udp" suffix is accepted) until SIGINT or SIGTERM, then
// closes it and prints its counters.
func serveUDP(listen addrList, engine string, loops int, level slog.Level, u udpFlags, stdout, stderr io.Writer) int {
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigc)
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})).With("server", udpEchoName)
	srv, err := proactor.NewPacketServer(udpecho.Handler{Log: logger},
		proactor.WithEngineName(engine), proactor.WithLoops(loops), proactor.WithLogger(logger),
		proactor.WithPacketSize(u.packetSize))
	if errors.Is(err, proactor.ErrUnknownEngine) {
		errorf(stderr, "unknown engine %q; available: auto, %s", engine, strings.Join(proactor.Engines(), ", "))
		return exitUsage
	}
	if err != nil {
		errorf(stderr, "%v", err)
		return exitError
	}
	defer srv.Close()
	addrs := []string(listen)
	if len(addrs) == 0 {
		addrs = []string{udpecho.DefaultAddr}
	}
	eng := srv.Engine()
	for _, a := range addrs {
		pc, err := srv.ListenPacket("udp", strings.TrimSuffix(a, "/udp"))
		if err != nil {
			errorf(stderr, "%s: %v", udpEchoName, err)
			return exitError
		}
		fmt.Fprintf(stdout, "proactor: %s listening on %s/udp (engine %s, %s)\n",
			udpEchoName, pc.LocalAddr(), eng.Name(), plural(eng.Loops(), "loop"))
	}
	<-sigc
	fmt.Fprintln(stdout, "proactor: shutting down")
	srv.Close()
	st := srv.Stats()
	fmt.Fprintf(stdout, "proactor: %s: %d datagrams received, %d sent, %d truncated, %d dropped, %d send errors, %d receive errors\n",
		udpEchoName, st.Received, st.Sent, st.Truncated, st.Dropped, st.SendErrors, st.ReceiveErrors)
	return exitOK
}
