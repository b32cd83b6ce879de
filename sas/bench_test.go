package sas

import (
	"testing"
	"time"
)

// A token as a device publishing to an event hub sends it: escaped scheme,
// host and path, and an escaped signature.
var benchToken = Sign("sb://ns.servicebus.windows.net/hub/publishers/dev1", "send", benchKey, time.Unix(1_800_000_000, 0))

const benchKey = "2hmLYbJk2q5uZ2Yfyl0XSezXbxD+afO9ysh0Vsv4Xq8="

var (
	sinkToken Token
	sinkInt   int
	sinkStr   string
)

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchToken)))
	for b.Loop() {
		t, err := Parse(benchToken)
		if err != nil {
			b.Fatal(err)
		}
		sinkToken = t
	}
}

func BenchmarkVerify(b *testing.B) {
	tok, err := Parse(benchToken)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if sinkInt = tok.Verify(benchKey); sinkInt != 0 {
			b.Fatal("no match")
		}
	}
}

// BenchmarkVerifySecondary measures the key-rotation case: the token matches
// the second of two keys, so two HMACs are computed.
func BenchmarkVerifySecondary(b *testing.B) {
	tok, err := Parse(benchToken)
	if err != nil {
		b.Fatal(err)
	}
	keys := []string{"old-key-old-key-old-key-old-key-old-key-old=", benchKey}
	b.ReportAllocs()
	for b.Loop() {
		if sinkInt = tok.Verify(keys...); sinkInt != 1 {
			b.Fatal("no match")
		}
	}
}

func BenchmarkVerifyIoTHub(b *testing.B) {
	tok, err := Parse(iotToken)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if sinkInt = tok.VerifyIoTHub("c2VjcmV0"); sinkInt != 0 {
			b.Fatal("no match")
		}
	}
}

func BenchmarkParseAndVerify(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		tok, err := Parse(benchToken)
		if err != nil {
			b.Fatal(err)
		}
		if sinkInt = tok.Verify(benchKey); sinkInt != 0 {
			b.Fatal("no match")
		}
	}
}

func BenchmarkScope(b *testing.B) {
	tok, err := Parse(benchToken)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		s, err := tok.Scope("ns.servicebus.windows.net")
		if err != nil {
			b.Fatal(err)
		}
		sinkStr = s
	}
}

func BenchmarkParseConnectionString(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		c, err := ParseConnectionString(keyConn)
		if err != nil {
			b.Fatal(err)
		}
		sinkStr = c.Endpoint
	}
}
