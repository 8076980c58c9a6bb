package activation_test

import (
	"fmt"
	"log"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/activation"
)

// A server takes the sockets systemd passes it, or listens itself when
// started by hand.
func Example() {
	srv, err := proactor.NewServer(proactor.BaseHandler{}, proactor.WithLoops(1))
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	lns, err := activation.Listeners() // none here: no LISTEN_FDS
	if err != nil {
		log.Fatal(err)
	}
	for _, ln := range lns {
		if err := srv.AddListener(ln); err != nil {
			log.Fatal(err)
		}
	}
	if len(lns) == 0 {
		if _, err := srv.Listen("127.0.0.1:0"); err != nil {
			log.Fatal(err)
		}
	}
	// Here a server under systemd (Type=notify) would say it is ready:
	// activation.Notify("READY=1").
	fmt.Println("inherited:", len(lns), "listening:", len(srv.Addrs()))
	// Output: inherited: 0 listening: 1
}
