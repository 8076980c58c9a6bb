package main

import (
	"flag"
	"fmt"
	"io/fs"
	"strconv"
	"time"

	"github.com/seed487d475b/proactor"
)

// transportFlags are the options of `proactor serve` for unix sockets and
// for running behind a load balancer.
type transportFlags struct {
	unixMode      modeFlag
	proxyProtocol bool
	proxyTimeout  time.Duration
}

func (f *transportFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.unixMode, "unix-mode", "permission bits of the socket file of a --listen unix:PATH, in octal (default 0660: the server's user and group may connect)")
	fs.BoolVar(&f.proxyProtocol, "proxy-protocol", false, "expect a PROXY protocol header (v1 or v2) first on every connection and take the client's address from it; only behind a balancer that sends one (HAProxy send-proxy-v2, nginx proxy_protocol on)")
	fs.DurationVar(&f.proxyTimeout, "proxy-header-timeout", 0, "close connections whose PROXY header has not come after `D` (default 5s)")
}

func (f *transportFlags) check() error {
	if f.proxyTimeout < 0 {
		return fmt.Errorf("invalid -proxy-header-timeout %v: must not be negative", f.proxyTimeout)
	}
	if f.proxyTimeout > 0 && !f.proxyProtocol {
		return fmt.Errorf("-proxy-header-timeout needs -proxy-protocol")
	}
	return nil
}

// options turns the flags into listener options; only those set are given.
func (f *transportFlags) options() []proactor.Option {
	var opts []proactor.Option
	if f.unixMode.set {
		opts = append(opts, proactor.WithUnixSocketMode(f.unixMode.mode))
	}
	if f.proxyProtocol {
		opts = append(opts, proactor.WithProxyProtocol(true))
	}
	if f.proxyTimeout > 0 {
		opts = append(opts, proactor.WithProxyHeaderTimeout(f.proxyTimeout))
	}
	return opts
}

// modeFlag is a file mode given in octal, such as 0660 or 660.
type modeFlag struct {
	mode fs.FileMode
	set  bool
}

func (m *modeFlag) String() string {
	if !m.set {
		return ""
	}
	return fmt.Sprintf("%#o", uint32(m.mode))
}

func (m *modeFlag) Set(s string) error {
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n > 0o777 {
		return fmt.Errorf("want permission bits in octal, such as 0660")
	}
	if n&0o200 == 0 {
		return fmt.Errorf("mode %#o leaves the server's own user unable to connect (connecting needs write permission)", n)
	}
	m.mode, m.set = fs.FileMode(n), true
	return nil
}
