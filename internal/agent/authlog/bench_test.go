package authlog

import (
	"bytes"
	"os"
	"testing"
	"time"
)

// BenchmarkParse parses the lines of OpenSSH_2k.log (loghub, see
// openSSH2k), or of testdata/sample.log when it is absent, over and over,
// and reports lines/s. Run it on one core: go test -run '^$' -bench
// BenchmarkParse -cpu 1 ./internal/agent/authlog
func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile(openSSH2k)
	if err != nil {
		if data, err = os.ReadFile("testdata/sample.log"); err != nil {
			b.Fatal(err)
		}
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	p := NewParser(Options{Now: func() time.Time { return time.Date(2018, 1, 15, 0, 0, 0, 0, time.UTC) }, Location: time.UTC})
	b.SetBytes(int64(len(data) / len(lines)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := p.Parse(lines[i%len(lines)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkParseAndCount adds the Attempts aggregator.
func BenchmarkParseAndCount(b *testing.B) {
	data, err := os.ReadFile(openSSH2k)
	if err != nil {
		if data, err = os.ReadFile("testdata/sample.log"); err != nil {
			b.Fatal(err)
		}
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	p := NewParser(Options{Now: func() time.Time { return time.Date(2018, 1, 15, 0, 0, 0, 0, time.UTC) }, Location: time.UTC})
	a := NewAttempts(AttemptsConfig{})
	var out []Attempt
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		r, err := p.Parse(lines[i%len(lines)])
		if err != nil {
			b.Fatal(err)
		}
		out = a.Add(out[:0], &r)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
