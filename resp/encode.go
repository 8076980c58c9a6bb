package resp

import "strconv"

// Text is what the Append functions take as a string: a string or a byte
// slice, so that a reply is appended without converting (and copying) it.
type Text interface{ ~string | ~[]byte }

// AppendSimple appends s as a simple string ("+OK\r\n"). A "\r" or "\n" in
// s, which would end the reply early, is appended as a space.
func AppendSimple[T Text](dst []byte, s T) []byte {
	dst = append(dst, '+')
	return appendLine(dst, s)
}

// AppendError appends msg as an error ("-ERR unknown command 'x'\r\n").
// By convention msg starts with an upper-case code, such as ERR or
// WRONGTYPE, and a space. A "\r" or "\n" in msg is appended as a space.
func AppendError[T Text](dst []byte, msg T) []byte {
	dst = append(dst, '-')
	return appendLine(dst, msg)
}

// appendLine appends s and "\r\n", with every "\r" and "\n" of s turned
// into a space.
func appendLine[T Text](dst []byte, s T) []byte {
	at := len(dst)
	dst = append(dst, s...)
	for i := at; i < len(dst); i++ {
		if dst[i] == '\r' || dst[i] == '\n' {
			dst[i] = ' '
		}
	}
	return append(dst, '\r', '\n')
}

// AppendInt appends n as an integer (":42\r\n").
func AppendInt(dst []byte, n int64) []byte {
	dst = append(dst, ':')
	dst = strconv.AppendInt(dst, n, 10)
	return append(dst, '\r', '\n')
}

// AppendBulk appends b as a bulk string ("$5\r\nhello\r\n"), which may hold
// any bytes.
func AppendBulk[T Text](dst []byte, b T) []byte {
	dst = append(dst, '$')
	dst = strconv.AppendInt(dst, int64(len(b)), 10)
	dst = append(dst, '\r', '\n')
	dst = append(dst, b...)
	return append(dst, '\r', '\n')
}

// AppendNull appends the null bulk string ("$-1\r\n"): GET's answer for a
// missing key.
func AppendNull(dst []byte) []byte { return append(dst, "$-1\r\n"...) }

// AppendArray appends the header of an array of n elements ("*2\r\n"); the
// caller appends the n elements after it.
func AppendArray(dst []byte, n int) []byte {
	dst = append(dst, '*')
	dst = strconv.AppendInt(dst, int64(n), 10)
	return append(dst, '\r', '\n')
}

// AppendNullArray appends the null array ("*-1\r\n").
func AppendNullArray(dst []byte) []byte { return append(dst, "*-1\r\n"...) }

// AppendCommand appends a command as a client sends it: an array of bulk
// strings, which Parse splits back into args.
func AppendCommand[T Text](dst []byte, args ...T) []byte {
	dst = AppendArray(dst, len(args))
	for _, a := range args {
		dst = AppendBulk(dst, a)
	}
	return dst
}
