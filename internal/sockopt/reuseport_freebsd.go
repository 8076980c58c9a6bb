package sockopt

import "golang.org/x/sys/unix"

// FreeBSD's SO_REUSEPORT lets sockets share a port but gives one of them
// every connection; SO_REUSEPORT_LB spreads them.
const reusePortOpt = unix.SO_REUSEPORT_LB
