package proxyproto

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

var (
	src4 = netip.MustParseAddrPort("192.0.2.10:51234")
	dst4 = netip.MustParseAddrPort("198.51.100.1:443")
	src6 = netip.MustParseAddrPort("[2001:db8::10]:51234")
	dst6 = netip.MustParseAddrPort("[2001:db8::1]:443")
)

func TestParseValid(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want Header
	}{
		{"v1 TCP4", []byte("PROXY TCP4 192.0.2.10 198.51.100.1 51234 443\r\n"), Header{1, Proxy, src4, dst4}},
		{"v1 TCP6", []byte("PROXY TCP6 2001:db8::10 2001:db8::1 51234 443\r\n"), Header{1, Proxy, src6, dst6}},
		{"v1 UNKNOWN", []byte("PROXY UNKNOWN\r\n"), Header{Version: 1}},
		{"v1 UNKNOWN with addresses", []byte("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"), Header{Version: 1}},
		{"v2 TCP4", AppendV2(nil, Proxy, src4, dst4), Header{2, Proxy, src4, dst4}},
		{"v2 TCP6", AppendV2(nil, Proxy, src6, dst6), Header{2, Proxy, src6, dst6}},
		{"v2 LOCAL", AppendV2(nil, Local, netip.AddrPort{}, netip.AddrPort{}), Header{Version: 2}},
		{"v2 TCP4 with TLVs", withTLV(AppendV2(nil, Proxy, src4, dst4), 0x05, []byte("unique-id")), Header{2, Proxy, src4, dst4}},
		{"v2 unix", v2Raw(0x21, famUnix<<4|trStream, make([]byte, 216)), Header{Version: 2}},
		{"v1 built", AppendV1(nil, src4, dst4), Header{1, Proxy, src4, dst4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append(append([]byte{}, tt.in...), "GET / HTTP/1.0\r\n"...)
			h, n, err := Parse(in)
			if err != nil || n != len(tt.in) || h != tt.want {
				t.Fatalf("Parse = %+v, %d, %v; want %+v, %d", h, n, err, tt.want, len(tt.in))
			}
			// A header split anywhere asks for more.
			for k := range len(tt.in) {
				if _, _, err := Parse(tt.in[:k]); !errors.Is(err, ErrIncomplete) {
					t.Fatalf("Parse of the first %d bytes: %v; want ErrIncomplete", k, err)
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	long := append(AppendV2(nil, Local, netip.AddrPort{}, netip.AddrPort{})[:14], 0x04, 0x00)
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"http", "GET / HTTP/1.1\r\n", ErrNotProxy},
		{"tls", "\x16\x03\x01\x02\x00", ErrNotProxy},
		{"v1 lowercase", "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", ErrNotProxy},
		{"v1 bad proto", "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", ErrBadHeader},
		{"v1 LF only", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", ErrBadHeader},
		{"v1 CR alone", "PROXY TCP4 1.2.3.4\r5.6.7.8 1 2", ErrBadHeader},
		{"v1 v6 in TCP4", "PROXY TCP4 ::1 ::1 1 2\r\n", ErrBadHeader},
		{"v1 v4 in TCP6", "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n", ErrBadHeader},
		{"v1 bad ip", "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", ErrBadHeader},
		{"v1 port range", "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", ErrBadHeader},
		{"v1 port zero-led", "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", ErrBadHeader},
		{"v1 port sign", "PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n", ErrBadHeader},
		{"v1 missing field", "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", ErrBadHeader},
		{"v1 extra field", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", ErrBadHeader},
		{"v1 double space", "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", ErrBadHeader},
		{"v1 too long", "PROXY TCP6 " + strings.Repeat("1", 120), ErrTooLong},
		{"v2 version 1", string(v2Raw(0x11, famInet<<4|trStream, make([]byte, 12))), ErrBadHeader},
		{"v2 command 2", string(v2Raw(0x22, famInet<<4|trStream, make([]byte, 12))), ErrBadHeader},
		{"v2 family 4", string(v2Raw(0x21, 0x41, make([]byte, 12))), ErrBadHeader},
		{"v2 short inet", string(v2Raw(0x21, famInet<<4|trStream, make([]byte, 11))), ErrBadHeader},
		{"v2 short inet6", string(v2Raw(0x21, famInet6<<4|trStream, make([]byte, 12))), ErrBadHeader},
		{"v2 dgram", string(v2Raw(0x21, famInet<<4|0x2, make([]byte, 12))), ErrBadHeader},
		{"v2 too long", string(long), ErrTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, n, err := Parse([]byte(tt.in))
			if !errors.Is(err, tt.want) || n != 0 {
				t.Fatalf("Parse = %+v, %d, %v; want %v", h, n, err, tt.want)
			}
			if tt.want != ErrNotProxy && !strings.HasPrefix(err.Error(), "proxyproto: ") {
				t.Fatalf("error %q does not say where it comes from", err)
			}
		})
	}
}

func TestParseAllocs(t *testing.T) {
	v2 := AppendV2(nil, Proxy, src6, dst6)
	part := []byte("PROXY TCP4 1.2")
	n := testing.AllocsPerRun(100, func() {
		Parse(v2)
		Parse(part)
		Parse(v2[:20])
	})
	if n != 0 {
		t.Fatalf("%v allocations per version 2 or incomplete parse; want 0", n)
	}
}

// v2Raw is a version 2 header with the given command and family bytes
// and address block.
func v2Raw(verCmd, fam byte, block []byte) []byte {
	b := append(append([]byte{}, sigV2...), verCmd, fam, byte(len(block)>>8), byte(len(block)))
	return append(b, block...)
}

// withTLV appends a TLV to a version 2 header and fixes its length.
func withTLV(h []byte, typ byte, v []byte) []byte {
	h = append(h, typ, byte(len(v)>>8), byte(len(v)))
	h = append(h, v...)
	size := len(h) - 16
	h[14], h[15] = byte(size>>8), byte(size)
	return h
}

func FuzzParse(f *testing.F) {
	f.Add(AppendV1(nil, src4, dst4))
	f.Add(AppendV1(nil, src6, dst6))
	f.Add([]byte("PROXY UNKNOWN\r\n"))
	f.Add(AppendV2(nil, Proxy, src4, dst4))
	f.Add(AppendV2(nil, Proxy, src6, dst6))
	f.Add(AppendV2(nil, Local, netip.AddrPort{}, netip.AddrPort{}))
	f.Add(withTLV(AppendV2(nil, Proxy, src4, dst4), 0x20, []byte{1, 2, 3}))
	f.Add([]byte("GET / HTTP/1.1\r\n"))
	f.Fuzz(func(t *testing.T, p []byte) {
		h, n, err := Parse(p)
		if err != nil {
			if n != 0 || h != (Header{}) {
				t.Fatalf("error %v with a header %+v of %d bytes", err, h, n)
			}
			if !errors.Is(err, ErrIncomplete) && !errors.Is(err, ErrNotProxy) && !errors.Is(err, ErrTooLong) && !errors.Is(err, ErrBadHeader) {
				t.Fatalf("error %v matches none of the package's", err)
			}
			if errors.Is(err, ErrIncomplete) && len(p) >= MaxLen {
				t.Fatalf("%d bytes still incomplete", len(p))
			}
			return
		}
		if n <= 0 || n > len(p) || n > MaxLen {
			t.Fatalf("header length %d of %d bytes", n, len(p))
		}
		// The same header with anything after it, and every beginning of
		// it short of the whole, parse consistently.
		h2, n2, err := Parse(append(p[:n:n], "trailing data"...))
		if err != nil || n2 != n || h2 != h {
			t.Fatalf("with data after: %+v, %d, %v; want %+v, %d", h2, n2, err, h, n)
		}
		for k := range n {
			if _, _, err := Parse(p[:k]); !errors.Is(err, ErrIncomplete) {
				t.Fatalf("the first %d of %d bytes: %v; want ErrIncomplete", k, n, err)
			}
		}
		// A header with addresses written back reads the same.
		if h.Command == Proxy {
			var b []byte
			if h.Version == 1 {
				b = AppendV1(nil, h.Source, h.Destination)
			} else {
				b = AppendV2(nil, Proxy, h.Source, h.Destination)
			}
			h3, n3, err := Parse(b)
			if err != nil || n3 != len(b) || h3.Source != h.Source || h3.Destination != h.Destination {
				t.Fatalf("round trip of %+v: %+v, %v (%q)", h, h3, err, b)
			}
			if !bytes.Equal(b, p[:n]) && h.Version == 2 && len(p[:n]) == len(b) && p[13] != 0 {
				// Same length and family: only the bytes Parse ignores may differ.
				if !bytes.Equal(b[16:], p[16:n]) {
					t.Fatalf("version 2 address block differs: %x vs %x", b[16:], p[16:n])
				}
			}
		}
	})
}
