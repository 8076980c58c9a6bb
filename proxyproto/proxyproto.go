// Package proxyproto reads and writes the PROXY protocol header, versions 1
// (text) and 2 (binary), with which a load balancer such as HAProxy, nginx
// or an AWS NLB tells the server behind it who the client is: the header
// comes first on the connection, before any byte of the client's.
//
// Parse takes what has been read so far and says one of three things: a
// whole header (and its length: what follows is the client's data), more
// bytes needed (ErrIncomplete), or no valid header, with an error that
// says what is wrong. It never reads past the header, and allocates
// nothing for a version 2 header or an incomplete one.
// A header is at most MaxLen bytes: version 1's are 107 at most by the
// specification, version 2's are refused beyond MaxLen (ErrTooLong).
//
// The specification: https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt
package proxyproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
)

// Command says whether a header carries a client's addresses.
type Command uint8

const (
	// Local: the balancer speaks for itself (a health check) or does not
	// know the client (version 1's UNKNOWN, version 2's UNSPEC or unix
	// families): the connection's own addresses apply.
	Local Command = iota
	// Proxy: Source and Destination are the client's connection's ends.
	Proxy
)

// Header is a parsed PROXY header.
type Header struct {
	Version     int     // 1 or 2
	Command     Command // Proxy with addresses, Local without
	Source      netip.AddrPort
	Destination netip.AddrPort
}

// MaxLen is the longest header Parse accepts: version 1's limit (107
// bytes) and, for version 2, room for the address block and TLVs that
// balancers send (HAProxy's unique ID, TLS details, AWS and Azure IDs).
const MaxLen = 1024

// maxV1 is version 1's longest header, CRLF included.
const maxV1 = 107

// Errors of Parse. Every error but ErrIncomplete means the connection
// does not start with a valid header and should be closed.
var (
	// ErrIncomplete: what was given is the start of a valid header; read
	// more and call Parse again with everything.
	ErrIncomplete = errors.New("proxyproto: incomplete header")
	// ErrNotProxy: the first bytes are neither header's signature: the
	// peer does not speak the PROXY protocol.
	ErrNotProxy = errors.New("proxyproto: no PROXY protocol signature")
	// ErrTooLong: the header would be longer than MaxLen.
	ErrTooLong = errors.New("proxyproto: header too long")
	// ErrBadHeader is matched by every other error: the signature is
	// right and what follows is malformed.
	ErrBadHeader = errors.New("proxyproto: malformed header")
)

var (
	sigV1 = []byte("PROXY ")
	sigV2 = []byte("\r\n\r\n\x00\r\nQUIT\n")
)

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadHeader, fmt.Sprintf(format, args...))
}

// Parse reads a header at the start of p. It returns the header and its
// length n (p[n:] is the client's data), or ErrIncomplete if p is a valid
// header's beginning, or another error.
func Parse(p []byte) (Header, int, error) {
	switch {
	case hasPrefix(p, sigV2):
		return parseV2(p)
	case hasPrefix(p, sigV1):
		return parseV1(p)
	}
	return Header{}, 0, ErrNotProxy
}

// hasPrefix reports whether p starts with sig, or, shorter, is a prefix of
// it: the bytes so far do not rule sig out. An empty p is incomplete, not
// a mismatch.
func hasPrefix(p, sig []byte) bool {
	n := min(len(p), len(sig))
	return bytes.Equal(p[:n], sig[:n])
}

func parseV1(p []byte) (Header, int, error) {
	if len(p) < len(sigV1) {
		return Header{}, 0, ErrIncomplete
	}
	end := bytes.IndexByte(p[:min(len(p), maxV1)], '\n')
	if end < 0 {
		if len(p) >= maxV1 {
			return Header{}, 0, fmt.Errorf("%w: version 1 line without CRLF in %d bytes", ErrTooLong, maxV1)
		}
		if i := bytes.IndexByte(p, '\r'); i >= 0 && i+1 < len(p) {
			return Header{}, 0, bad("version 1 line: CR not followed by LF")
		}
		return Header{}, 0, ErrIncomplete
	}
	n := end + 1
	if end == 0 || p[end-1] != '\r' {
		return Header{}, 0, bad("version 1 line ends in LF without CR")
	}
	line := p[len(sigV1) : end-1]
	h := Header{Version: 1}
	proto, rest, _ := bytes.Cut(line, []byte(" "))
	switch string(proto) {
	case "UNKNOWN":
		return h, n, nil // addresses, if any, are to be ignored
	case "TCP4", "TCP6":
	default:
		return Header{}, 0, bad("version 1 protocol %q: want TCP4, TCP6 or UNKNOWN", proto)
	}
	var f [4][]byte
	for i := range f {
		var ok bool
		f[i], rest, ok = bytes.Cut(rest, []byte(" "))
		if ok != (i < 3) {
			return Header{}, 0, bad("version 1 line: want 4 fields after %s", proto)
		}
	}
	src, err1 := parseV1Addr(f[0], f[2], proto[3] == '4')
	dst, err2 := parseV1Addr(f[1], f[3], proto[3] == '4')
	if err := errors.Join(err1, err2); err != nil {
		return Header{}, 0, err
	}
	h.Command, h.Source, h.Destination = Proxy, src, dst
	return h, n, nil
}

func parseV1Addr(ip, port []byte, v4 bool) (netip.AddrPort, error) {
	a, err := netip.ParseAddr(string(ip))
	if err != nil || a.Zone() != "" || a.Is4() != v4 {
		return netip.AddrPort{}, bad("version 1 address %q", ip)
	}
	// Decimal without a sign or leading zero, as the specification says.
	if len(port) == 0 || len(port) > 5 || port[0] == '0' && len(port) > 1 || port[0] < '0' || port[0] > '9' {
		return netip.AddrPort{}, bad("version 1 port %q", port)
	}
	n, err := strconv.ParseUint(string(port), 10, 16)
	if err != nil {
		return netip.AddrPort{}, bad("version 1 port %q", port)
	}
	return netip.AddrPortFrom(a, uint16(n)), nil
}

// Version 2's address families and transports (byte 13).
const (
	famUnspec = 0x0
	famInet   = 0x1
	famInet6  = 0x2
	famUnix   = 0x3
	trStream  = 0x1
)

func parseV2(p []byte) (Header, int, error) {
	if len(p) < 16 {
		return Header{}, 0, ErrIncomplete
	}
	if v := p[12] >> 4; v != 2 {
		return Header{}, 0, bad("version 2 signature with version %d", v)
	}
	cmd := p[12] & 0xf
	if cmd > 1 {
		return Header{}, 0, bad("version 2 command %#x: want LOCAL or PROXY", cmd)
	}
	size := int(binary.BigEndian.Uint16(p[14:16]))
	n := 16 + size
	if n > MaxLen {
		return Header{}, 0, fmt.Errorf("%w: version 2 header of %d bytes, at most %d taken", ErrTooLong, n, MaxLen)
	}
	fam, tr := p[13]>>4, p[13]&0xf
	if fam > famUnix || tr > 2 {
		return Header{}, 0, bad("version 2 family/transport %#x", p[13])
	}
	need := [...]int{famUnspec: 0, famInet: 12, famInet6: 36, famUnix: 216}[fam]
	if cmd == 1 && size < need {
		return Header{}, 0, bad("version 2 address block of %d bytes for family %d: want %d", size, fam, need)
	}
	if len(p) < n {
		return Header{}, 0, ErrIncomplete
	}
	h := Header{Version: 2}
	if cmd == 0 || fam == famUnspec || fam == famUnix {
		return h, n, nil // LOCAL, or no IP addresses: the connection's own apply
	}
	if tr != trStream {
		return Header{}, 0, bad("version 2 transport %d on a stream connection", tr)
	}
	a := p[16:n]
	h.Command = Proxy
	if fam == famInet {
		h.Source = netip.AddrPortFrom(netip.AddrFrom4([4]byte(a[0:4])), binary.BigEndian.Uint16(a[8:10]))
		h.Destination = netip.AddrPortFrom(netip.AddrFrom4([4]byte(a[4:8])), binary.BigEndian.Uint16(a[10:12]))
	} else {
		h.Source = netip.AddrPortFrom(netip.AddrFrom16([16]byte(a[0:16])), binary.BigEndian.Uint16(a[32:34]))
		h.Destination = netip.AddrPortFrom(netip.AddrFrom16([16]byte(a[16:32])), binary.BigEndian.Uint16(a[34:36]))
	}
	return h, n, nil
}

// AppendV1 appends a version 1 header for a connection from src to dst
// (both IPv4 or both IPv6; otherwise an UNKNOWN header).
func AppendV1(b []byte, src, dst netip.AddrPort) []byte {
	s, d := src.Addr().Unmap(), dst.Addr().Unmap()
	proto := "TCP4"
	switch {
	case !s.IsValid() || !d.IsValid() || s.Is4() != d.Is4():
		return append(b, "PROXY UNKNOWN\r\n"...)
	case s.Is6():
		proto = "TCP6"
	}
	b = append(b, sigV1...)
	b = append(b, proto...)
	b = append(b, ' ')
	b = s.WithZone("").AppendTo(b)
	b = append(b, ' ')
	b = d.WithZone("").AppendTo(b)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(src.Port()), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(dst.Port()), 10)
	return append(b, "\r\n"...)
}

// AppendV2 appends a version 2 header: with cmd Proxy, for a TCP
// connection from src to dst (both IPv4 or both IPv6; otherwise the
// family is UNSPEC); with Local, a LOCAL header without addresses.
func AppendV2(b []byte, cmd Command, src, dst netip.AddrPort) []byte {
	b = append(b, sigV2...)
	s, d := src.Addr().Unmap(), dst.Addr().Unmap()
	if cmd == Local || !s.IsValid() || !d.IsValid() || s.Is4() != d.Is4() {
		return append(b, 0x20|byte(cmd), famUnspec<<4, 0, 0)
	}
	if s.Is4() {
		b = append(b, 0x21, famInet<<4|trStream, 0, 12)
		b = append(b, s.AsSlice()...)
		b = append(b, d.AsSlice()...)
	} else {
		b = append(b, 0x21, famInet6<<4|trStream, 0, 36)
		b = append(b, s.AsSlice()...)
		b = append(b, d.AsSlice()...)
	}
	b = binary.BigEndian.AppendUint16(b, src.Port())
	return binary.BigEndian.AppendUint16(b, dst.Port())
}
