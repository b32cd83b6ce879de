package httpapi

import (
	"strings"
	"testing"
)

// BenchmarkParseBatch parses an Event Hubs batch of 100 events of 200 B,
// the shape of the ingest target.
func BenchmarkParseBatch(b *testing.B) {
	var sb strings.Builder
	sb.WriteByte('[')
	for i := range 100 {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`{"Body":"` + strings.Repeat("x", 200) + `","UserProperties":{"n":1}}`)
	}
	sb.WriteByte(']')
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		evs, err := ParseBatch(data)
		if err != nil || len(evs) != 100 {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "events/s")
}
