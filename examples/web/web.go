// Package web is the HTTP/1.1 server of `proactor serve http`, built on
// package http1:
//
//	GET /plaintext   "Hello, World!" as text/plain (the TechEmpower test)
//	GET /json        {"message":"Hello, World!"} as application/json
//	POST /echo       the request's body back (any method; chunked too)
//	GET /any/path    a file under the root directory, if one was given
//
// # Files
//
// Files are sent by the kernel from the file (http1.ResponseWriter's
// SendFile, sendfile(2) where the engine has it), with GET and HEAD only
// (405 otherwise), a Content-Type from the name's extension
// (mime.TypeByExtension), Last-Modified and If-Modified-Since (304), and
// one byte range per request ("Range: bytes=a-b", "a-", "-n": 206 with
// Content-Range; past the end: 416; several ranges, or If-Range, are
// ignored and the whole file sent). A directory serves its index.html.
//
// Every access goes through an os.Root, as in examples/files, so neither
// ".." nor a symbolic link leads out of the root; the path is
// percent-decoded first, and a ".." segment is refused with 400 before it
// reaches the root. Hidden names (a segment starting with '.') and what is
// not a regular file answer 404. Opening a file and its stat run on the
// connection's loop: quick on a local disk, the price of answering in
// order without a hop to another goroutine.
package web

import (
	"errors"
	"io/fs"
	"mime"
	"os"
	"path"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/http1"
)

// DefaultAddr is where `proactor serve http` listens unless told otherwise.
const DefaultAddr = "127.0.0.1:5080"

// Options returns the options of an HTTP listener: http1.Options.
func Options() []proactor.Option { return http1.Options() }

// Handler is the server's proactor.Handler; safe for every loop at once.
// Close it once the server has stopped.
type Handler struct {
	*http1.Handler
	root *os.Root // nil: no files
}

// New returns the handler; dir is the root of the files served, or "" for
// none.
func New(dir string) (*Handler, error) {
	h := &Handler{}
	if dir != "" {
		root, err := os.OpenRoot(dir)
		if err != nil {
			return nil, err
		}
		h.root = root
	}
	h.Handler = http1.NewHandler(h.serve)
	return h, nil
}

// Close closes the root; it returns nil without one.
func (h *Handler) Close() error {
	if h.root == nil {
		return nil
	}
	return h.root.Close()
}

const hello = "Hello, World!"

func (h *Handler) serve(w *http1.ResponseWriter, r *http1.Request) {
	switch string(r.Path()) {
	case "/plaintext":
		if readOnly(w, r) {
			w.AddHeader("Server", "proactor")
			w.AddHeader("Content-Type", "text/plain")
			w.WriteString(hello)
		}
	case "/json":
		if readOnly(w, r) {
			w.AddHeader("Server", "proactor")
			w.AddHeader("Content-Type", "application/json")
			w.WriteString(`{"message":`)
			w.Write(appendJSONString(w.AvailableBuffer(), hello))
			w.WriteString("}")
		}
	case "/echo":
		w.AddHeader("Content-Type", "application/octet-stream")
		w.Write(r.Body)
	default:
		h.file(w, r)
	}
}

// readOnly answers 405 to a method other than GET and HEAD, and reports
// whether the method was one of them.
func readOnly(w *http1.ResponseWriter, r *http1.Request) bool {
	if m := string(r.Method); m == "GET" || m == "HEAD" {
		return true
	}
	w.WriteHeader(405)
	w.AddHeader("Allow", "GET, HEAD")
	return false
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

func failWith(w *http1.ResponseWriter, status int) {
	w.WriteHeader(status)
	w.AddHeader("Content-Type", "text/plain; charset=utf-8")
	w.WriteString(http1.StatusText(status))
	w.WriteString("\n")
}

// file answers with the file that r's path names under the root.
func (h *Handler) file(w *http1.ResponseWriter, r *http1.Request) {
	if h.root == nil {
		failWith(w, 404)
		return
	}
	if !readOnly(w, r) {
		return
	}
	name, status := cleanPath(r.Path())
	if status != 0 {
		failWith(w, status)
		return
	}
	f, info, err := h.open(name)
	if err == nil && info.IsDir() {
		f.Close()
		name = path.Join(name, "index.html")
		f, info, err = h.open(name)
	}
	if err == nil && !info.Mode().IsRegular() {
		f.Close()
		err = fs.ErrNotExist
	}
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			failWith(w, 403)
		} else {
			failWith(w, 404) // missing, or outside the root
		}
		return
	}
	modified := info.ModTime().UTC().Truncate(time.Second)
	if ims, err := time.Parse(http1.TimeFormat, string(r.Header("If-Modified-Since"))); err == nil && !modified.After(ims) {
		f.Close()
		w.WriteHeader(304)
		return
	}
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	w.AddHeader("Content-Type", ctype)
	w.AddHeader("Last-Modified", modified.Format(http1.TimeFormat))
	w.AddHeader("Accept-Ranges", "bytes")
	size := info.Size()
	off, n := int64(0), size
	if spec := r.Header("Range"); spec != nil && r.Header("If-Range") == nil {
		start, length, ok, satisfiable := parseRange(string(spec), size)
		switch {
		case ok && !satisfiable:
			f.Close()
			w.WriteHeader(416)
			w.AddHeader("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
			return
		case ok:
			off, n = start, length
			w.WriteHeader(206)
			w.AddHeader("Content-Range", "bytes "+strconv.FormatInt(start, 10)+"-"+
				strconv.FormatInt(start+length-1, 10)+"/"+strconv.FormatInt(size, 10))
		}
	}
	w.SendFile(f, off, n)
}

// open opens name under the root and stats it.
func (h *Handler) open(name string) (*os.File, fs.FileInfo, error) {
	// O_NONBLOCK: opening a FIFO put in the root would otherwise wait for
	// a writer and hold the loop. It changes nothing for a regular file.
	f, err := h.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, info, nil
}

// cleanPath turns a request path into a name under the root: decoded,
// relative, without empty or "." segments. It refuses (400) a path that
// is not absolute, a bad escape, a NUL, a ".." segment, and (404) a
// hidden name.
func cleanPath(p []byte) (string, int) {
	if len(p) == 0 || p[0] != '/' {
		return "", 400
	}
	decoded, ok := unescape(p)
	if !ok {
		return "", 400
	}
	var segs []string
	for _, s := range strings.Split(decoded, "/") {
		switch {
		case s == "" || s == ".":
		case s == "..":
			return "", 400
		case s[0] == '.':
			return "", 404
		default:
			segs = append(segs, s)
		}
	}
	if len(segs) == 0 {
		return ".", 0
	}
	return strings.Join(segs, "/"), 0
}

// unescape decodes %XX escapes; it refuses a bad escape and a NUL.
func unescape(p []byte) (string, bool) {
	b := make([]byte, 0, len(p))
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '%' {
			if i+2 >= len(p) || unhex(p[i+1]) < 0 || unhex(p[i+2]) < 0 {
				return "", false
			}
			c = byte(unhex(p[i+1])<<4 | unhex(p[i+2]))
			i += 2
		}
		if c == 0 || c == '\\' {
			return "", false
		}
		b = append(b, c)
	}
	return string(b), true
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// parseRange reads a Range field for a file of size bytes. ok is false for
// a field to ignore (malformed, several ranges, another unit); otherwise
// satisfiable says whether [start, start+length) lies in the file.
func parseRange(spec string, size int64) (start, length int64, ok, satisfiable bool) {
	unit, set, found := strings.Cut(spec, "=")
	if !found || !strings.EqualFold(strings.TrimSpace(unit), "bytes") || strings.Contains(set, ",") {
		return 0, 0, false, false
	}
	first, last, found := strings.Cut(strings.TrimSpace(set), "-")
	if !found {
		return 0, 0, false, false
	}
	if first == "" {
		// A suffix: the last n bytes.
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 || last[0] == '+' {
			return 0, 0, false, false
		}
		if n == 0 || size == 0 {
			return 0, 0, true, false
		}
		n = min(n, size)
		return size - n, n, true, true
	}
	a, err := strconv.ParseInt(first, 10, 64)
	if err != nil || a < 0 || first[0] == '+' {
		return 0, 0, false, false
	}
	b := size - 1
	if last != "" {
		if b, err = strconv.ParseInt(last, 10, 64); err != nil || b < a || last[0] == '+' {
			return 0, 0, false, false
		}
	}
	if a >= size {
		return 0, 0, true, false
	}
	b = min(b, size-1)
	return a, b - a + 1, true, true
}
