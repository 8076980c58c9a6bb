package main

import (
	"flag"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/seed487d475b/proactor"
)

// protectFlags are the protection options of `proactor serve`: timeouts,
// limits, lists, deferred accept, write-queue bounds and the TCP options of
// each connection. Zero means the library's default for each.
type protectFlags struct {
	firstData, idle, read, write time.Duration
	maxConns, maxPerIP           int
	allow, deny                  prefixList
	deferAccept                  bool
	high, low, max               sizeFlag
	keepAlive                    keepAliveFlag
	noDelay                      bool
	dumpBadFrames                int
}

func (p *protectFlags) register(fs *flag.FlagSet) {
	fs.DurationVar(&p.firstData, "first-data-timeout", 0, "close connections silent for `D` after accept (0: off)")
	fs.DurationVar(&p.idle, "idle-timeout", 0, "close connections with no traffic for `D` (0: off)")
	fs.DurationVar(&p.read, "read-timeout", 0, "close connections whose request stays unfinished for `D` (0: off)")
	fs.DurationVar(&p.write, "write-timeout", 0, "close connections whose output does not drain for `D` (0: off)")
	fs.IntVar(&p.maxConns, "max-conns", 0, "refuse connections beyond `N` open (0: no cap)")
	fs.IntVar(&p.maxPerIP, "max-conns-per-ip", 0, "refuse connections beyond `N` per client address (0: no cap)")
	fs.Var(&p.allow, "allow", "admit only clients in `CIDR`; repeatable")
	fs.Var(&p.deny, "deny", "refuse clients in `CIDR` (wins over --allow); repeatable")
	fs.BoolVar(&p.deferAccept, "defer-accept", false, "hand connections over only when data arrives (TCP_DEFER_ACCEPT)")
	fs.Var(&p.keepAlive, "keepalive", "TCP keepalive: probe connections silent for `D|off` (default 15s)")
	fs.BoolVar(&p.noDelay, "nodelay", true, "TCP_NODELAY: send small writes at once (--nodelay=false lets Nagle's algorithm hold them)")
	fs.Var(&p.high, "write-high", "stop reading a connection above `SIZE` queued output (default 1MiB)")
	fs.Var(&p.low, "write-low", "resume reading at `SIZE` queued output (default write-high/4)")
	fs.IntVar(&p.dumpBadFrames, "dump-bad-frames", 0, "log (in hex) and put in the close reason the first `N` bytes of a frame the framer refused (0: off)")
	fs.Var(&p.max, "write-max", "abort a connection whose queued output would pass `SIZE` (at least --write-high + 64KiB; default: no cap)")
}

func (p *protectFlags) check() error {
	for name, d := range map[string]time.Duration{"first-data-timeout": p.firstData, "idle-timeout": p.idle, "read-timeout": p.read, "write-timeout": p.write} {
		if d < 0 {
			return fmt.Errorf("invalid -%s %v: must not be negative", name, d)
		}
	}
	if p.dumpBadFrames < 0 {
		return fmt.Errorf("invalid -dump-bad-frames %d: must not be negative", p.dumpBadFrames)
	}
	if p.maxConns < 0 || p.maxPerIP < 0 {
		return fmt.Errorf("invalid connection limit: must not be negative")
	}
	if p.low > 0 && p.high > 0 && p.low > p.high {
		return fmt.Errorf("--write-low %v: above --write-high %v", p.low, p.high)
	}
	// The library refuses this too; said here in the flags' own terms.
	high := uint64(p.high)
	if high == 0 {
		high = 1 << 20
	}
	if p.max > 0 && uint64(p.max) < high+64<<10 {
		return fmt.Errorf("--write-max %s: below --write-high (%s) plus one read (64KiB), so ordinary backpressure would abort connections; use at least %s",
			humanize.IBytes(uint64(p.max)), humanize.IBytes(high), humanize.IBytes(high+64<<10))
	}
	return nil
}

// serverOptions turns the server-wide flags into options for NewServer.
func (p *protectFlags) serverOptions() []proactor.Option {
	var opts []proactor.Option
	if p.maxConns > 0 {
		opts = append(opts, proactor.WithMaxConns(p.maxConns))
	}
	if p.maxPerIP > 0 {
		opts = append(opts, proactor.WithMaxConnsPerIP(p.maxPerIP))
	}
	return opts
}

// options turns the other flags into options for every listener; only
// those set are given, so a server's own defaults (such as dual's
// listeners) stay otherwise.
func (p *protectFlags) options() []proactor.Option {
	var opts []proactor.Option
	add := func(set bool, o proactor.Option) {
		if set {
			opts = append(opts, o)
		}
	}
	add(p.firstData > 0, proactor.WithFirstDataTimeout(p.firstData))
	add(p.idle > 0, proactor.WithIdleTimeout(p.idle))
	add(p.read > 0, proactor.WithReadTimeout(p.read))
	add(p.write > 0, proactor.WithWriteTimeout(p.write))
	add(len(p.allow) > 0, proactor.WithAllow(p.allow...))
	add(len(p.deny) > 0, proactor.WithDeny(p.deny...))
	add(p.deferAccept, proactor.WithDeferAccept(true))
	add(p.high > 0 || p.low > 0, proactor.WithWriteWatermarks(int(p.high), int(p.low)))
	add(p.max > 0, proactor.WithMaxWriteQueue(int(p.max)))
	add(p.keepAlive != 0, proactor.WithKeepAlive(time.Duration(p.keepAlive)))
	add(!p.noDelay, proactor.WithNoDelay(false))
	add(p.dumpBadFrames > 0, proactor.WithDumpBadFrames(p.dumpBadFrames))
	return opts
}

// keepAliveFlag is --keepalive: a positive duration, or off (negative);
// zero when not given.
type keepAliveFlag time.Duration

func (k *keepAliveFlag) String() string {
	switch {
	case *k < 0:
		return "off"
	case *k == 0:
		return ""
	}
	return time.Duration(*k).String()
}

func (k *keepAliveFlag) Set(v string) error {
	if v == "off" {
		*k = -1
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return fmt.Errorf("not a keepalive: %q (use a positive duration such as 30s, or off)", v)
	}
	*k = keepAliveFlag(d)
	return nil
}

// prefixList is a repeatable CIDR flag; a bare address means just it.
type prefixList []netip.Prefix

func (l *prefixList) String() string {
	s := make([]string, len(*l))
	for i, p := range *l {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

func (l *prefixList) Set(v string) error {
	p, err := netip.ParsePrefix(v)
	if err != nil {
		a, aerr := netip.ParseAddr(v)
		if aerr != nil {
			return fmt.Errorf("not a CIDR prefix or an address: %q", v)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	*l = append(*l, p.Masked())
	return nil
}

// sizeFlag is a byte count written like 64KiB, 4MiB or 65536.
type sizeFlag int64

func (s *sizeFlag) String() string {
	if *s == 0 {
		return ""
	}
	return humanize.IBytes(uint64(*s))
}

func (s *sizeFlag) Set(v string) error {
	n, err := humanize.ParseBytes(v)
	if err != nil || n > 1<<40 {
		return fmt.Errorf("not a size: %q (use forms like 64KiB or 4MiB)", v)
	}
	*s = sizeFlag(n)
	return nil
}
