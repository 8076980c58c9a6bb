package control_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/control"
	"github.com/seed487d475b/proactor/examples/echo"
)

// A server with a control endpoint, paused and resumed by a client, as
// `proactor ctl pause` and `proactor ctl resume` do from another process.
func Example() {
	srv, err := proactor.NewServer(echo.Handler{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	if _, err := srv.Listen("127.0.0.1:0"); err != nil {
		fmt.Println(err)
		return
	}
	dir, err := os.MkdirTemp("", "control-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	ep, err := control.Listen(filepath.Join(dir, "echo.sock"), srv, control.WithName("echo"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ep.Close()

	cl := control.NewClient(ep.Path())
	defer cl.Close()
	ctx := context.Background()
	st, _ := cl.Pause(ctx)
	fmt.Println(st.Server, "paused:", st.Paused)
	st, _ = cl.Resume(ctx)
	fmt.Println(st.Server, "paused:", st.Paused, "listeners:", len(st.Listeners))
	// Output:
	// echo paused: true
	// echo paused: false listeners: 1
}
