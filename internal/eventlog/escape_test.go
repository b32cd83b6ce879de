package eventlog

import (
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestEscapeHeader(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                      "",
		"plain-ASCII:{\"a\":1}": "plain-ASCII:{\"a\":1}",
		" lead":                 "%20lead",
		"a\r\nb":                "a%0D%0Ab",
		"100%":                  "100%25",
		"ü":                     "%C3%BC",
		"tab\tdel\x7f":          "tab%09del%7F",
	} {
		if got := escapeHeader(in); got != want {
			t.Errorf("escapeHeader(%q) = %q, want %q", in, got, want)
		}
		if back, err := unescapeHeader(want); err != nil || back != in {
			t.Errorf("unescapeHeader(%q) = %q, %v; want %q", want, back, err, in)
		}
	}
	for _, bad := range []string{"%", "%4", "%zz", "a%2"} {
		if _, err := unescapeHeader(bad); err == nil {
			t.Errorf("unescapeHeader(%q): no error", bad)
		}
	}
}

func TestEscapeHeaderPlainDoesNotAllocate(t *testing.T) {
	s := "device-0042:{\"temp\":21.5}"
	if n := testing.AllocsPerRun(100, func() { _ = escapeHeader(s) }); n != 0 {
		t.Errorf("escapeHeader allocates %v times for a plain value", n)
	}
}

// FuzzHeaderRoundTrip checks escaped values survive NATS header framing and
// parsing (nats.DecodeHeadersMsg trims, splits on CR/LF and ':').
func FuzzHeaderRoundTrip(f *testing.F) {
	for _, s := range []string{"", " a ", "a\r\nb: c", "%%", "ü\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		raw := "NATS/1.0\r\n" + jetstream.MsgIDHeader + ": " + escapeHeader(s) + "\r\n\r\n"
		h, err := nats.DecodeHeadersMsg([]byte(raw))
		if err != nil {
			t.Fatalf("decode %q: %v", raw, err)
		}
		got, err := unescapeHeader(h.Get(jetstream.MsgIDHeader))
		if err != nil || got != s {
			t.Fatalf("round trip of %q = %q, %v", s, got, err)
		}
	})
}

// wireSize and recordHeaderSize must agree with nats.go's own size
// accounting, which is what max_payload is checked against.
func TestWireSize(t *testing.T) {
	t.Parallel()
	for _, evs := range [][]Event{
		{{Body: []byte("plain")}},
		{{Publisher: "p", PartitionKey: "k k", MsgID: "id ü", Properties: map[string]any{"a": 1}, Body: make([]byte, 1000)}},
		make([]Event, 12345),
	} {
		b, err := buildRecords(evs, []string{"subject"}, 8<<20, 8<<20)
		if err != nil {
			t.Fatal(err)
		}
		if len(b.msgs) != 1 {
			t.Fatalf("%d records, want 1", len(b.msgs))
		}
		m := &b.msgs[0]
		if got, want := wireSize(m), int64(m.Size()-len(m.Subject)); got != want {
			t.Errorf("wireSize = %d, nats.Msg.Size without subject = %d", got, want)
		}
		if got, want := int64(recordHeaderSize(len(evs), escapeHeader(evs[0].MsgID))), wireSize(m)-int64(len(m.Data)); got != want {
			t.Errorf("recordHeaderSize = %d, header bytes on the wire = %d", got, want)
		}
	}
	if got, want := maxCountHeaderSize, len("NATS/1.0\r\nMoat-Count: 65536\r\n\r\n"); got != want {
		t.Errorf("maxCountHeaderSize = %d, want %d", got, want)
	}
}
