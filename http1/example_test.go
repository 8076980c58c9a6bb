package http1_test

import (
	"fmt"
	"io"
	"net/http"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/http1"
)

// A "Hello, World!" server on proactor, asked once with Go's client.
func Example() {
	hello := func(w *http1.ResponseWriter, r *http1.Request) {
		if string(r.Path()) != "/hello" {
			w.WriteHeader(404)
			return
		}
		w.AddHeader("Content-Type", "text/plain")
		w.WriteString("Hello, World!")
	}
	srv, err := proactor.NewServer(http1.NewHandler(hello))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	addr, err := srv.Listen("127.0.0.1:0", http1.Options()...)
	if err != nil {
		fmt.Println(err)
		return
	}

	resp, err := http.Get("http://" + addr.String() + "/hello")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status, string(body))
	// Output: 200 OK Hello, World!
}
