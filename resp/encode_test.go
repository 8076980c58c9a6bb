package resp_test

import (
	"testing"

	"github.com/seed487d475b/proactor/resp"
)

func TestAppend(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{name: "Simple", got: resp.AppendSimple([]byte("x"), "OK"), want: "x+OK\r\n"},
		{name: "SimpleBytes", got: resp.AppendSimple(nil, []byte("PONG")), want: "+PONG\r\n"},
		{name: "SimpleLineBreaks", got: resp.AppendSimple(nil, "a\r\nb\nc"), want: "+a  b c\r\n"},
		{name: "Error", got: resp.AppendError(nil, "ERR unknown command 'x'"), want: "-ERR unknown command 'x'\r\n"},
		{name: "ErrorLineBreaks", got: resp.AppendError(nil, "ERR a\r\n+OK"), want: "-ERR a  +OK\r\n"},
		{name: "Int", got: resp.AppendInt(nil, 42), want: ":42\r\n"},
		{name: "NegativeInt", got: resp.AppendInt(nil, -9223372036854775808), want: ":-9223372036854775808\r\n"},
		{name: "Bulk", got: resp.AppendBulk(nil, "hello"), want: "$5\r\nhello\r\n"},
		{name: "BulkBinary", got: resp.AppendBulk(nil, []byte("a\r\n\x00")), want: "$4\r\na\r\n\x00\r\n"},
		{name: "EmptyBulk", got: resp.AppendBulk(nil, ""), want: "$0\r\n\r\n"},
		{name: "Null", got: resp.AppendNull(nil), want: "$-1\r\n"},
		{name: "Array", got: resp.AppendBulk(resp.AppendArray(nil, 2), "a"), want: "*2\r\n$1\r\na\r\n"},
		{name: "NullArray", got: resp.AppendNullArray(nil), want: "*-1\r\n"},
		{name: "Command", got: resp.AppendCommand(nil, "SET", "k", ""), want: "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if string(tt.got) != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

// TestAppendLeavesDst checks that the line-break rewriting touches only the
// appended bytes.
func TestAppendLeavesDst(t *testing.T) {
	got := resp.AppendError([]byte("\r\n"), "ERR x")
	if string(got) != "\r\n-ERR x\r\n" {
		t.Errorf("got %q", got)
	}
}
