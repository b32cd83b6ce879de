package bench

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
)

// rawClient sends HTTP/1.1 requests over one keep-alive connection and
// reads the answers in the calling goroutine. It is a load generator in
// the manner of wrk: net/http's Transport hands every request and response
// between a reader and a writer goroutine per connection, which on a
// two-core machine shared with the server under test costs the server a
// large share of the CPU it is being measured on. The server still sees
// ordinary HTTP/1.1 (over TLS when the URL is https).
type rawClient struct {
	addr, host string
	tls        *tls.Config // nil = plain TCP
	conn       net.Conn
	br         *bufio.Reader
	buf        []byte
}

func newRawClient(rawURL string, cfg *tls.Config) (*rawClient, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	c := &rawClient{host: u.Host, addr: u.Host}
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		c.addr = net.JoinHostPort(u.Hostname(), port)
	}
	if u.Scheme == "https" {
		c.tls = &tls.Config{}
		if cfg != nil {
			c.tls = cfg.Clone()
		}
		c.tls.NextProtos = []string{"http/1.1"}
		if c.tls.ServerName == "" {
			c.tls.ServerName = u.Hostname()
		}
	}
	return c, nil
}

func (c *rawClient) dial(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return err
	}
	if c.tls != nil {
		tc := tls.Client(conn, c.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return err
		}
		conn = tc
	}
	c.conn, c.br = conn, bufio.NewReaderSize(conn, 16<<10)
	return nil
}

// post sends a POST with the given path, Authorization header and body and
// returns the status and the response body. A transport error closes the
// connection; the next call dials again.
func (c *rawClient) post(ctx context.Context, path, auth string, body []byte) (int, []byte, error) {
	if c.conn == nil {
		if err := c.dial(ctx); err != nil {
			return 0, nil, err
		}
	}
	b := c.buf[:0]
	b = append(b, "POST "...)
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, c.host...)
	b = append(b, "\r\nAuthorization: "...)
	b = append(b, auth...)
	b = append(b, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	b = append(b, body...)
	c.buf = b
	if _, err := c.conn.Write(b); err != nil {
		c.close()
		return 0, nil, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.close()
		return 0, nil, err
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		c.close()
		return 0, nil, fmt.Errorf("read body: %w", err)
	}
	if resp.Close {
		c.close()
	}
	return resp.StatusCode, data, nil
}

func (c *rawClient) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}
