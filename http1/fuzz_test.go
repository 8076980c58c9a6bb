package http1

import (
	"fmt"
	"testing"
)

// FuzzParse checks that the parser never panics, that a request cut
// anywhere into two reads parses as it does whole (the same requests, the
// same refusal), and that what it accepts keeps within its limits.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: 1\r\n\r\n",
		"PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
		"\r\nGET /x?y HTTP/1.1\nHost: a\n\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n",
	} {
		f.Add([]byte(s), uint16(len(s)/2))
	}
	lim := Limits{MaxURI: 64, MaxHeaderBytes: 256, MaxHeaders: 8, MaxBody: 128}
	f.Fuzz(func(t *testing.T, input []byte, cut uint16) {
		whole, werr := feed(lim, string(input))
		at := int(cut) % (len(input) + 1)
		split, serr := feed(lim, string(input), at)
		if fmt.Sprint(whole) != fmt.Sprint(split) || status(werr) != status(serr) {
			t.Fatalf("whole: %+v, %v\ncut at %d: %+v, %v", whole, werr, at, split, serr)
		}
		if werr != nil && status(werr) == 0 {
			t.Fatalf("an error without a status: %v", werr)
		}
		for _, r := range whole {
			if len(r.target) > lim.MaxURI || int64(len(r.body)) > lim.MaxBody {
				t.Fatalf("over the limits: %+v", r)
			}
			if r.length >= 0 && int64(len(r.body)) != r.length {
				t.Fatalf("body of %d bytes for a length of %d", len(r.body), r.length)
			}
		}
	})
}
