package audit

import (
	"os"
	"testing"
)

// BenchmarkDecodeFixture decodes testdata/audit.log (54 lines, 16 events,
// a third of the records ignored or skipped) and reports events and lines
// per second.
func BenchmarkDecodeFixture(b *testing.B) {
	data, err := os.ReadFile("testdata/audit.log")
	if err != nil {
		b.Fatal(err)
	}
	lines := splitLines(data)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var events int
	evs := make([]Event, 0, 32)
	for b.Loop() {
		d := NewDecoder(DecoderConfig{})
		evs = evs[:0]
		for _, l := range lines {
			evs = d.Line(evs, l)
		}
		evs = d.Flush(evs)
		events += len(evs)
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(events)/sec, "events/s")
	b.ReportMetric(float64(b.N*len(lines))/sec, "lines/s")
}
