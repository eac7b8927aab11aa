package client

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzHTTPResponse feeds arbitrary bytes to HTTPDirect's response parser:
// it never panics, a whole response lies within the input with its body a
// part of it, the answer does not depend on what follows the response, and
// any error is ErrProtocol.
func FuzzHTTPResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
		"HTTP/1.1 201 Created\r\nServer: ballast\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nbody",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab",
		"garbage\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	p := newHTTPParser()
	f.Fuzz(func(t *testing.T, b []byte) {
		n, status, body, err := p.next(b)
		if err != nil {
			if !errors.Is(err, ErrProtocol) || n != 0 || body != nil {
				t.Fatalf("error %v with n %d body %q", err, n, body)
			}
			return
		}
		if n == 0 {
			return
		}
		if n > len(b) || len(body) > n || !bytes.Equal(body, b[n-len(body):n]) {
			t.Fatalf("n %d body %q of input %d bytes", n, body, len(b))
		}
		if status < 100 || status > 999 {
			t.Fatalf("status %d", status)
		}
		whole := append([]byte(nil), b[:n]...)
		n2, status2, body2, err2 := p.next(whole)
		if err2 != nil || n2 != n || status2 != status || !bytes.Equal(body2, body) {
			t.Fatalf("alone: %d %d %q %v; in the stream: %d %d %q", n2, status2, body2, err2, n, status, body)
		}
	})
}
