// Command httppeer serves /plaintext ("Hello, World!", as `proactor serve
// http` does) with fasthttp or with Go's net/http, the peers of the HTTP
// benchmark (bench/http.sh). Both answer like proactor: Date, Server,
// Content-Type and Content-Length, keep-alive, pipelining (net/http reads
// pipelined requests but answers them one at a time).
//
//	httppeer -server fasthttp -listen 127.0.0.1:8080
//	httppeer -server nethttp -listen 127.0.0.1:8081
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"

	"github.com/valyala/fasthttp"
)

func main() {
	server := flag.String("server", "fasthttp", "fasthttp or nethttp")
	listen := flag.String("listen", "127.0.0.1:0", "listen on `ADDR`")
	flag.Parse()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "httppeer:", err)
		os.Exit(1)
	}
	fmt.Printf("httppeer: %s listening on %s\n", *server, ln.Addr())
	hello := []byte("Hello, World!")
	switch *server {
	case "fasthttp":
		err = fasthttp.Serve(ln, func(ctx *fasthttp.RequestCtx) {
			if string(ctx.Path()) != "/plaintext" {
				ctx.SetStatusCode(404)
				return
			}
			ctx.SetContentType("text/plain")
			ctx.Write(hello)
		})
	case "nethttp":
		mux := http.NewServeMux()
		mux.HandleFunc("/plaintext", func(w http.ResponseWriter, _ *http.Request) {
			h := w.Header()
			h["Server"] = []string{"net/http"}
			h["Content-Type"] = []string{"text/plain"}
			w.Write(hello)
		})
		err = http.Serve(ln, mux)
	default:
		err = fmt.Errorf("unknown server %q", *server)
	}
	fmt.Fprintln(os.Stderr, "httppeer:", err)
	os.Exit(1)
}
