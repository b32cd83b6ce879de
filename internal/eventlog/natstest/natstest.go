// Package natstest points tests at an external NATS server with JetStream:
// MOAT_TEST_NATS, default the machine's nats://127.0.0.1:4222. When it is
// unreachable the test is skipped, loudly, unless MOAT_TEST_REQUIRE_NATS=1
// (as in CI) makes it fail. Each test gets its own random name prefix so
// tests can share one server.
package natstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultURL is the machine's NATS server.
const DefaultURL = "nats://127.0.0.1:4222"

var warnSkip sync.Once

// URL returns the external NATS URL, skipping (or failing) the test when the
// server does not accept TCP connections.
func URL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("MOAT_TEST_NATS")
	if u == "" {
		u = DefaultURL
	}
	parsed, err := url.Parse(u)
	if err != nil {
		tb.Fatalf("MOAT_TEST_NATS: %v", err)
	}
	conn, err := net.DialTimeout("tcp", parsed.Host, 3*time.Second)
	if err != nil {
		if os.Getenv("MOAT_TEST_REQUIRE_NATS") == "1" {
			tb.Fatalf("NATS at %s unreachable and MOAT_TEST_REQUIRE_NATS=1: %v", u, err)
		}
		msg := fmt.Sprintf("SKIPPING EXTERNAL NATS TESTS: %s unreachable (%v). "+
			"Set MOAT_TEST_NATS, or MOAT_TEST_REQUIRE_NATS=1 to fail instead.", u, err)
		warnSkip.Do(func() { fmt.Fprintf(os.Stderr, "\n*** %s\n\n", msg) })
		tb.Skip(msg)
	}
	conn.Close()
	return u
}

// Prefix returns a fresh name prefix for streams, subjects and buckets.
func Prefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "t" + hex.EncodeToString(b[:])
}

// Cleanup deletes, when the test ends, every stream (KV buckets included)
// whose name starts with prefix on the server at url.
func Cleanup(tb testing.TB, url, prefix string) {
	tb.Helper()
	tb.Cleanup(func() {
		nc, err := nats.Connect(url, nats.Name("moat-test-cleanup"))
		if err != nil {
			tb.Errorf("natstest cleanup: %v", err)
			return
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			tb.Errorf("natstest cleanup: %v", err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		names := js.StreamNames(ctx)
		var doomed []string
		for n := range names.Name() {
			if strings.HasPrefix(n, prefix+"_") || strings.HasPrefix(n, "KV_"+prefix+"_") {
				doomed = append(doomed, n)
			}
		}
		if err := names.Err(); err != nil {
			tb.Errorf("natstest cleanup: list streams: %v", err)
		}
		for _, n := range doomed {
			if err := js.DeleteStream(ctx, n); err != nil {
				tb.Errorf("natstest cleanup: delete stream %s: %v", n, err)
			}
		}
	})
}
