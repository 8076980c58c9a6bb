package sockopt

import "golang.org/x/sys/unix"

// Linux spreads connections over the sockets of a SO_REUSEPORT group.
const reusePortOpt = unix.SO_REUSEPORT
