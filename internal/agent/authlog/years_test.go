package authlog

import (
	"math/rand/v2"
	"testing"
	"time"
)

type stamp struct {
	month          time.Month
	day, h, min, s int
	now            time.Time // reference clock when the line is read
	want           time.Time
	wantUnresolved bool
}

func d(y int, m time.Month, day, h, min, s int) time.Time {
	return time.Date(y, m, day, h, min, s, 0, time.UTC)
}

func TestYears(t *testing.T) {
	tests := []struct {
		name   string
		stamps []stamp
	}{
		{"same year", []stamp{
			{month: time.November, day: 26, h: 10, now: d(2026, 11, 26, 12, 0, 0), want: d(2026, 11, 26, 10, 0, 0)},
		}},
		{"december read in january is last year", []stamp{
			{month: time.December, day: 31, h: 23, now: d(2027, 1, 2, 0, 0, 0), want: d(2026, 12, 31, 23, 0, 0)},
			{month: time.January, day: 1, h: 0, now: d(2027, 1, 2, 0, 0, 0), want: d(2027, 1, 1, 0, 0, 0)},
		}},
		{"a day ahead of the clock is this year (zones, slack)", []stamp{
			{month: time.November, day: 27, h: 10, now: d(2026, 11, 26, 12, 0, 0), want: d(2026, 11, 27, 10, 0, 0)},
		}},
		{"a week ahead of the clock is last year", []stamp{
			{month: time.December, day: 3, now: d(2026, 11, 26, 12, 0, 0), want: d(2025, 12, 3, 0, 0, 0)},
		}},
		{"february 29 finds a leap year", []stamp{
			{month: time.February, day: 29, h: 1, now: d(2027, 3, 1, 0, 0, 0), want: d(2024, 2, 29, 1, 0, 0)},
		}},
		{"impossible date", []stamp{
			{month: time.April, day: 31, now: d(2026, 5, 1, 0, 0, 0), wantUnresolved: true},
		}},
		{"clock reset to 1970 while reading: the log's order decides", []stamp{
			{month: time.December, day: 31, h: 23, min: 59, now: d(2026, 12, 31, 23, 59, 30), want: d(2026, 12, 31, 23, 59, 0)},
			// The clock lost its time; the log keeps going into the new year.
			{month: time.January, day: 1, h: 0, min: 1, now: d(1970, 1, 1, 0, 0, 5), want: d(2027, 1, 1, 0, 1, 0)},
			{month: time.January, day: 1, h: 0, min: 2, now: d(1970, 1, 1, 0, 0, 9), want: d(2027, 1, 1, 0, 2, 0)},
			// NTP sets the clock again.
			{month: time.January, day: 1, h: 0, min: 3, now: d(2027, 1, 1, 0, 3, 1), want: d(2027, 1, 1, 0, 3, 0)},
		}},
		{"clock stepped back behind lines already written", []stamp{
			// Lines written while the clock ran 5 days fast, read after NTP fixed it.
			{month: time.December, day: 1, h: 9, now: d(2026, 12, 1, 9, 0, 1), want: d(2026, 12, 1, 9, 0, 0)},
			{month: time.December, day: 6, h: 9, now: d(2026, 12, 1, 9, 0, 2), want: d(2026, 12, 6, 9, 0, 0)},
			{month: time.December, day: 6, h: 9, min: 1, now: d(2026, 12, 1, 9, 0, 3), want: d(2026, 12, 6, 9, 1, 0)},
			// Back to the corrected clock's time: the sane clock is trusted again.
			{month: time.December, day: 1, h: 9, min: 1, now: d(2026, 12, 1, 9, 1, 0), want: d(2026, 12, 1, 9, 1, 0)},
		}},
		{"device boots at 1970, then NTP: lines take the clock's year", []stamp{
			{month: time.January, day: 1, s: 12, now: d(1970, 1, 1, 0, 0, 30), want: d(1970, 1, 1, 0, 0, 12)},
			{month: time.November, day: 26, h: 10, now: d(2026, 11, 26, 10, 0, 1), want: d(2026, 11, 26, 10, 0, 0)},
		}},
		{"reading a year-old backlog in order", []stamp{
			{month: time.March, day: 1, now: d(2027, 2, 20, 0, 0, 0), want: d(2026, 3, 1, 0, 0, 0)},
			{month: time.December, day: 31, now: d(2027, 2, 20, 0, 0, 0), want: d(2026, 12, 31, 0, 0, 0)},
			{month: time.February, day: 19, now: d(2027, 2, 20, 0, 0, 0), want: d(2027, 2, 19, 0, 0, 0)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var now time.Time
			y := Years{Now: func() time.Time { return now }, Loc: time.UTC}
			for i, s := range tt.stamps {
				now = s.now
				got, ok := y.Resolve(s.month, s.day, s.h, s.min, s.s, 0)
				if ok == s.wantUnresolved {
					t.Fatalf("stamp %d: ok = %v, want %v", i, ok, !s.wantUnresolved)
				}
				if ok && !got.Equal(s.want) {
					t.Errorf("stamp %d (%s %d, read at %s) = %s, want %s", i, s.month, s.day, s.now, got, s.want)
				}
			}
		})
	}
}

func TestYearsObserveRFC3339(t *testing.T) {
	// An RFC 3339 line anchors later classic lines when the clock is behind.
	p := NewParser(Options{Now: func() time.Time { return d(1970, 1, 1, 0, 0, 0) }, Location: time.UTC})
	if _, err := p.Parse([]byte("2026-12-31T23:59:00Z gw sshd[1]: x")); err != nil {
		t.Fatal(err)
	}
	r, err := p.Parse([]byte("Jan  1 00:00:30 gw sshd[1]: x"))
	if err != nil {
		t.Fatal(err)
	}
	if want := d(2027, 1, 1, 0, 0, 30); !r.Time.Equal(want) {
		t.Errorf("Time = %s, want %s", r.Time, want)
	}
}

// TestYearsFastPathAgrees: the fast path of Resolve gives what the full
// rule gives, for random previous lines, clocks and timestamps.
func TestYearsFastPathAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := d(2026, 6, 15, 0, 0, 0)
	span := func(days int) time.Duration {
		return time.Duration(rng.Int64N(int64(days)*2*24)-int64(days)*24) * time.Hour
	}
	for i := range 200000 {
		last := base.Add(span(800))
		now := last.Add(span(60))
		if i%10 == 0 {
			now = last.Add(span(4000)) // clock jumps
		}
		line := last.Add(span(40))
		month, day := line.Month(), line.Day()
		if i%97 == 0 {
			month, day = time.February, 29
		}
		fast := Years{Now: func() time.Time { return now }, Loc: time.UTC, last: last}
		slow := fast
		got, ok1 := fast.Resolve(month, day, line.Hour(), 0, 0, 0)
		loc, slack, ref := slow.params()
		want, ok2 := slow.resolveSlow(loc, slack, ref, month, day, line.Hour(), 0, 0, 0)
		if ok1 != ok2 || !got.Equal(want) || !fast.last.Equal(slow.last) {
			t.Fatalf("last %s, now %s, %s %d: fast %s %v, full rule %s %v", last, now, month, day, got, ok1, want, ok2)
		}
	}
}
