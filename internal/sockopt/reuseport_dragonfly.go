package sockopt

import "golang.org/x/sys/unix"

// DragonFly spreads connections over the sockets of a SO_REUSEPORT group.
const reusePortOpt = unix.SO_REUSEPORT
