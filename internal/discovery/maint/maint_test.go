package maint

import (
	"fmt"
	"testing"
	"time"
	_ "time/tzdata" // the same zone rules on every machine

	"github.com/google/go-cmp/cmp"
)

// ts parses an RFC 3339 instant; the tests use fixed instants only.
func ts(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestCalendar pins the weekdays the tables rely on.
func TestCalendar(t *testing.T) {
	for date, want := range map[string]time.Weekday{
		"2026-01-03": time.Saturday, // plain winter weekend
		"2026-03-08": time.Sunday,   // US spring forward
		"2026-03-29": time.Sunday,   // EU spring forward
		"2026-07-06": time.Monday,
		"2026-10-25": time.Sunday, // EU fall back
		"2026-11-01": time.Sunday, // US fall back
	} {
		d, err := time.Parse(time.DateOnly, date)
		if err != nil {
			t.Fatal(err)
		}
		if d.Weekday() != want {
			t.Errorf("%s is a %v, not a %v", date, d.Weekday(), want)
		}
	}
}

func win(days []string, start, dur, zone string) Schedule {
	return Schedule{Windows: []Window{{Days: days, Start: start, Duration: dur, TimeZone: zone}}}
}

func TestActive(t *testing.T) {
	type at struct {
		now  string
		want bool
	}
	tests := []struct {
		name  string
		sched Schedule
		at    []at
	}{
		{"across midnight", win([]string{"sat"}, "22:00", "4h", ""), []at{
			{"2026-01-03T21:59:59Z", false},
			{"2026-01-03T22:00:00Z", true},
			{"2026-01-04T00:00:00Z", true},
			{"2026-01-04T01:59:59Z", true},
			{"2026-01-04T02:00:00Z", false},
			{"2026-01-05T01:00:00Z", false},
			{"2026-01-10T23:00:00Z", true}, // the next week
		}},
		{"across the week boundary", win([]string{"Sunday"}, "23:00", "3h", "UTC"), []at{
			{"2026-01-04T22:59:59Z", false},
			{"2026-01-04T23:00:00Z", true},
			{"2026-01-05T01:59:59Z", true},
			{"2026-01-05T02:00:00Z", false},
			{"2026-01-11T23:30:00Z", true},
		}},
		{"several days", win([]string{"mon", "Wednesday", "FRI"}, "09:00", "1h", ""), []at{
			{"2026-01-05T09:30:00Z", true},  // Mon
			{"2026-01-06T09:30:00Z", false}, // Tue
			{"2026-01-07T09:30:00Z", true},  // Wed
			{"2026-01-08T09:30:00Z", false}, // Thu
			{"2026-01-09T09:59:59Z", true},  // Fri
			{"2026-01-09T10:00:00Z", false},
			{"2026-01-10T09:30:00Z", false}, // Sat
		}},
		{"started days ago", win([]string{"mon"}, "00:00", "167h", ""), []at{
			{"2026-01-05T00:00:00Z", true},
			{"2026-01-10T12:00:00Z", true},
			{"2026-01-11T22:59:59Z", true},
			{"2026-01-11T23:00:00Z", false}, // the week's last hour is free
			{"2026-01-11T23:59:59Z", false},
			{"2026-01-12T00:00:00Z", true},
		}},
		{"a whole week", win([]string{"thu"}, "12:00", "168h", ""), []at{
			{"2026-01-01T12:00:00Z", true},
			{"2026-01-05T03:00:00Z", true},
			{"2026-01-08T11:59:59Z", true},
			{"2026-01-08T12:00:00Z", true},
		}},
		// Asia/Tokyo is UTC+9: Monday 02:00–04:00 there is Sunday
		// 17:00–19:00 UTC.
		{"east of UTC", win([]string{"mon"}, "02:00", "2h", "Asia/Tokyo"), []at{
			{"2026-01-04T16:59:59Z", false},
			{"2026-01-04T17:00:00Z", true},
			{"2026-01-04T18:59:59Z", true},
			{"2026-01-04T19:00:00Z", false},
			{"2026-01-05T02:30:00Z", false}, // Monday 02:30 UTC is not Monday 02:30 in Tokyo
		}},
		// America/Los_Angeles is UTC-8 in winter: Saturday 22:00 there is
		// Sunday 06:00 UTC.
		{"west of UTC", win([]string{"sat"}, "22:00", "4h", "America/Los_Angeles"), []at{
			{"2026-01-03T22:30:00Z", false},
			{"2026-01-04T05:59:59Z", false},
			{"2026-01-04T06:00:00Z", true},
			{"2026-01-04T09:59:59Z", true},
			{"2026-01-04T10:00:00Z", false},
		}},
		{"summer time in Berlin", win([]string{"mon"}, "09:00", "1h", "Europe/Berlin"), []at{
			{"2026-07-06T06:30:00Z", false},
			{"2026-07-06T07:00:00Z", true}, // 09:00 CEST
			{"2026-07-06T08:00:00Z", false},
		}},
		// Europe/Berlin, 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00
		// UTC). 02:30 does not exist: the window starts at 03:00 CEST.
		{"Berlin spring forward, start in the gap", win([]string{"sun"}, "02:30", "1h", "Europe/Berlin"), []at{
			{"2026-03-29T00:59:59Z", false},
			{"2026-03-29T01:00:00Z", true}, // 03:00 CEST
			{"2026-03-29T01:15:00Z", true},
			{"2026-03-29T01:59:59Z", true},
			{"2026-03-29T02:00:00Z", false}, // 04:00 CEST: one hour elapsed
			{"2026-03-22T01:30:00Z", true},  // a week earlier, 02:30 CET
			{"2026-03-22T01:29:59Z", false},
		}},
		{"Berlin spring forward, across the gap", win([]string{"sun"}, "01:00", "3h", "Europe/Berlin"), []at{
			{"2026-03-28T23:59:59Z", false},
			{"2026-03-29T00:00:00Z", true},  // 01:00 CET
			{"2026-03-29T02:59:59Z", true},  // 04:59:59 CEST
			{"2026-03-29T03:00:00Z", false}, // 05:00 CEST: 3h elapsed, 4h on the wall clock
		}},
		// Europe/Berlin, 2026-10-25: 03:00 CEST falls back to 02:00 CET
		// (01:00 UTC), so 02:30 happens at 00:30 and 01:30 UTC. The
		// window starts at the first only.
		{"Berlin fall back, start in the overlap", win([]string{"sun"}, "02:30", "1h", "Europe/Berlin"), []at{
			{"2026-10-25T00:29:59Z", false},
			{"2026-10-25T00:30:00Z", true}, // 02:30 CEST
			{"2026-10-25T01:15:00Z", true}, // 02:15 CET
			{"2026-10-25T01:29:59Z", true},
			{"2026-10-25T01:30:00Z", false}, // 02:30 CET, the second time round
			{"2026-10-25T02:00:00Z", false},
		}},
		{"Berlin fall back, across the overlap", win([]string{"sat"}, "23:00", "4h", "Europe/Berlin"), []at{
			{"2026-10-24T20:59:59Z", false},
			{"2026-10-24T21:00:00Z", true},  // 23:00 CEST
			{"2026-10-25T00:59:59Z", true},  // 02:59:59 CEST
			{"2026-10-25T01:00:00Z", false}, // 02:00 CET: 4h elapsed, 3h on the wall clock
		}},
		// America/New_York, 2026-03-08: 02:00 EST jumps to 03:00 EDT
		// (07:00 UTC).
		{"New York spring forward", win([]string{"sun"}, "02:30", "30m", "America/New_York"), []at{
			{"2026-03-08T06:59:59Z", false},
			{"2026-03-08T07:00:00Z", true}, // 03:00 EDT
			{"2026-03-08T07:29:59Z", true},
			{"2026-03-08T07:30:00Z", false},
			{"2026-03-15T06:30:00Z", true}, // a week later, 02:30 EDT
		}},
		// America/New_York, 2026-11-01: 02:00 EDT falls back to 01:00 EST
		// (06:00 UTC), so 01:30 happens at 05:30 and 06:30 UTC.
		{"New York fall back", win([]string{"sun"}, "01:30", "1h", "America/New_York"), []at{
			{"2026-11-01T05:29:59Z", false},
			{"2026-11-01T05:30:00Z", true},  // 01:30 EDT
			{"2026-11-01T06:29:59Z", true},  // 01:29:59 EST
			{"2026-11-01T06:30:00Z", false}, // 01:30 EST, the second time round
		}},
		{"New York fall back, window before the change", win([]string{"sat"}, "22:00", "4h", "America/New_York"), []at{
			{"2026-11-01T01:59:59Z", false},
			{"2026-11-01T02:00:00Z", true},  // 22:00 EDT
			{"2026-11-01T05:59:59Z", true},  // 01:59:59 EDT
			{"2026-11-01T06:00:00Z", false}, // 01:00 EST
		}},
		{"range edges", Schedule{Ranges: []Range{{
			From: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC),
			To:   time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC),
		}}}, []at{
			{"2026-05-01T09:59:59.999999999Z", false},
			{"2026-05-01T10:00:00Z", true}, // From is inside
			{"2026-05-01T11:59:59.999999999Z", true},
			{"2026-05-01T12:00:00Z", false},     // To is not
			{"2026-05-01T12:59:59+01:00", true}, // the same instants in another zone
			{"2026-05-01T13:00:00+01:00", false},
		}},
		{"windows and ranges", Schedule{
			Windows: []Window{
				{Days: []string{"tue"}, Start: "03:00", Duration: "1h"},
				{Days: []string{"thu"}, Start: "03:00", Duration: "1h", TimeZone: "Asia/Tokyo"},
			},
			Ranges: []Range{{From: time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 1, 11, 0, 0, 0, 0, time.UTC)}},
		}, []at{
			{"2026-01-06T03:30:00Z", true},  // Tue, UTC
			{"2026-01-07T18:30:00Z", true},  // Thu 03:30 in Tokyo
			{"2026-01-08T03:30:00Z", false}, // Thu 03:30 UTC
			{"2026-01-10T12:00:00Z", true},  // the range
			{"2026-01-11T00:00:00Z", false},
		}},
		{"empty schedule", Schedule{}, []at{{"2026-01-05T00:00:00Z", false}}},
		{"invalid schedule is never active", Schedule{
			Windows: []Window{
				{Days: []string{"mon"}, Start: "00:00", Duration: "168h"},
				{Days: []string{"mon"}, Start: "25:00", Duration: "1h"},
			},
		}, []at{{"2026-01-05T12:00:00Z", false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want, got []string
			for _, a := range tt.at {
				now := ts(t, a.now)
				want = append(want, fmt.Sprintf("%s %v", a.now, a.want))
				got = append(got, fmt.Sprintf("%s %v", a.now, tt.sched.Active(now)))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Active (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNext(t *testing.T) {
	rangeOf := func(from, to string) Range { return Range{ts(t, from), ts(t, to)} }
	tests := []struct {
		name       string
		sched      Schedule
		now        string
		start, end string // "" when none
	}{
		{"upcoming", win([]string{"sat"}, "22:00", "4h", ""), "2026-01-05T12:00:00Z",
			"2026-01-10T22:00:00Z", "2026-01-11T02:00:00Z"},
		{"in progress", win([]string{"sat"}, "22:00", "4h", ""), "2026-01-04T01:00:00Z",
			"2026-01-03T22:00:00Z", "2026-01-04T02:00:00Z"},
		{"at the end, the next one", win([]string{"sat"}, "22:00", "4h", ""), "2026-01-04T02:00:00Z",
			"2026-01-10T22:00:00Z", "2026-01-11T02:00:00Z"},
		{"in a time zone, shown in now's", win([]string{"mon"}, "02:00", "2h", "Asia/Tokyo"), "2026-01-04T12:00:00+01:00",
			"2026-01-04T18:00:00+01:00", "2026-01-04T20:00:00+01:00"},
		{"spring-forward gap", win([]string{"sun"}, "02:30", "1h", "Europe/Berlin"), "2026-03-28T12:00:00Z",
			"2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"},
		{"fall-back overlap", win([]string{"sun"}, "01:30", "1h", "America/New_York"), "2026-10-30T00:00:00Z",
			"2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z"},
		{"overlapping windows merge", Schedule{Windows: []Window{
			{Days: []string{"mon"}, Start: "10:00", Duration: "2h"},
			{Days: []string{"mon"}, Start: "11:00", Duration: "3h"},
		}}, "2026-01-05T10:30:00Z", "2026-01-05T10:00:00Z", "2026-01-05T14:00:00Z"},
		{"back-to-back window and range merge", Schedule{
			Windows: []Window{{Days: []string{"mon"}, Start: "10:00", Duration: "2h"}},
			Ranges:  []Range{rangeOf("2026-01-05T12:00:00Z", "2026-01-05T13:00:00Z")},
		}, "2026-01-05T08:00:00Z", "2026-01-05T10:00:00Z", "2026-01-05T13:00:00Z"},
		{"range in progress", Schedule{Ranges: []Range{rangeOf("2025-12-01T00:00:00Z", "2026-02-01T00:00:00Z")}},
			"2026-01-05T08:00:00Z", "2025-12-01T00:00:00Z", "2026-02-01T00:00:00Z"},
		{"range within 8 days", Schedule{Ranges: []Range{rangeOf("2026-01-12T00:00:00Z", "2026-01-12T01:00:00Z")}},
			"2026-01-05T00:00:00Z", "2026-01-12T00:00:00Z", "2026-01-12T01:00:00Z"},
		{"range beyond 8 days", Schedule{Ranges: []Range{rangeOf("2026-01-13T00:00:00Z", "2026-01-13T01:00:00Z")}},
			"2026-01-05T00:00:00Z", "", ""},
		{"range over", Schedule{Ranges: []Range{rangeOf("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z")}},
			"2026-01-02T00:00:00Z", "", ""},
		{"empty", Schedule{}, "2026-01-05T00:00:00Z", "", ""},
		{"invalid", win([]string{"someday"}, "10:00", "1h", ""), "2026-01-05T00:00:00Z", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := ts(t, tt.now)
			start, end, ok := tt.sched.Next(now)
			want := "none"
			if tt.start != "" {
				want = tt.start + " " + tt.end
			}
			got := "none"
			if ok {
				got = start.Format(time.RFC3339) + " " + end.Format(time.RFC3339)
			}
			if got != want {
				t.Errorf("Next(%s) = %s, want %s", tt.now, got, want)
			}
		})
	}
}

// TestNextAgreesWithActive walks through three weeks around the EU and US
// autumn changes in 7-minute steps: now is active exactly when Next
// returns a period containing it, and every period Next returns is active
// at its start and not just before it.
func TestNextAgreesWithActive(t *testing.T) {
	s := Schedule{
		Windows: []Window{
			{Days: []string{"sat", "sun"}, Start: "23:30", Duration: "3h", TimeZone: "Europe/Berlin"},
			{Days: []string{"sun"}, Start: "01:30", Duration: "90m", TimeZone: "America/New_York"},
			{Days: []string{"wed"}, Start: "12:00", Duration: "50h", TimeZone: "Asia/Tokyo"},
			{Days: []string{"mon", "tue"}, Start: "00:00", Duration: "24h", TimeZone: "America/Los_Angeles"},
		},
		Ranges: []Range{{From: ts(t, "2026-10-27T05:00:00Z"), To: ts(t, "2026-10-27T11:00:00Z")}},
	}
	from := ts(t, "2026-10-20T00:00:00Z")
	for now := from; now.Before(from.Add(21 * day)); now = now.Add(7 * time.Minute) {
		start, end, ok := s.Next(now)
		inside := ok && !now.Before(start) && now.Before(end)
		if active := s.Active(now); active != inside {
			t.Fatalf("at %v: Active = %v, but Next = %v, %v, %v", now, active, start, end, ok)
		}
		if !ok {
			continue
		}
		if !s.Active(start) || s.Active(start.Add(-time.Nanosecond)) || !s.Active(end.Add(-time.Nanosecond)) || s.Active(end) {
			t.Fatalf("at %v: Next = [%v, %v) is not a maximal active period", now, start, end)
		}
	}
}

func TestResolve(t *testing.T) {
	tests := []struct {
		zone    string
		date    string
		hh, mm  int
		want    string
		comment string
	}{
		{"Europe/Berlin", "2026-03-29", 1, 59, "2026-03-29T00:59:00Z", "before the gap"},
		{"Europe/Berlin", "2026-03-29", 2, 0, "2026-03-29T01:00:00Z", "gap start"},
		{"Europe/Berlin", "2026-03-29", 2, 59, "2026-03-29T01:00:00Z", "gap end"},
		{"Europe/Berlin", "2026-03-29", 3, 0, "2026-03-29T01:00:00Z", "after the gap"},
		{"Europe/Berlin", "2026-10-25", 1, 59, "2026-10-24T23:59:00Z", "before the overlap"},
		{"Europe/Berlin", "2026-10-25", 2, 0, "2026-10-25T00:00:00Z", "overlap, first time"},
		{"Europe/Berlin", "2026-10-25", 2, 59, "2026-10-25T00:59:00Z", "overlap, first time"},
		{"Europe/Berlin", "2026-10-25", 3, 0, "2026-10-25T02:00:00Z", "after the overlap"},
		{"America/New_York", "2026-03-08", 2, 15, "2026-03-08T07:00:00Z", "gap"},
		{"America/New_York", "2026-11-01", 1, 0, "2026-11-01T05:00:00Z", "overlap, first time"},
		{"Pacific/Apia", "2011-12-30", 12, 0, "2011-12-30T10:00:00Z", "a whole day skipped"},
		{"Australia/Lord_Howe", "2026-10-04", 2, 15, "2026-10-03T15:30:00Z", "half-hour gap"},
		{"UTC", "2026-03-29", 2, 30, "2026-03-29T02:30:00Z", "no changes"},
	}
	for _, tt := range tests {
		loc, err := time.LoadLocation(tt.zone)
		if err != nil {
			t.Fatal(err)
		}
		d, err := time.Parse(time.DateOnly, tt.date)
		if err != nil {
			t.Fatal(err)
		}
		got := resolve(d.Year(), d.Month(), d.Day(), tt.hh, tt.mm, loc)
		if got.UTC().Format(time.RFC3339) != tt.want {
			t.Errorf("%s %s %02d:%02d (%s) = %v, want %s", tt.zone, tt.date, tt.hh, tt.mm, tt.comment, got.UTC(), tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := Window{Days: []string{"mon"}, Start: "10:00", Duration: "1h"}
	with := func(f func(w *Window)) Schedule {
		w := ok
		f(&w)
		return Schedule{Windows: []Window{ok, w}}
	}
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		s    Schedule
		want string
	}{
		{"empty", Schedule{}, ""},
		{"good window", with(func(w *Window) {}), ""},
		{"all the day names", with(func(w *Window) {
			w.Days = []string{"MON", "Tuesday", "wed", "thursday", "Fri", "saturday", "SUN", "monday", "tue", "Wednesday", "thu", "friday", "sat", "Sunday"}
		}), ""},
		{"midnight and last minute", Schedule{Windows: []Window{
			{Days: []string{"mon"}, Start: "00:00", Duration: "1m"},
			{Days: []string{"mon"}, Start: "23:59", Duration: "168h"},
		}}, ""},
		{"zones", Schedule{Windows: []Window{
			{Days: []string{"mon"}, Start: "10:00", Duration: "1h", TimeZone: "UTC"},
			{Days: []string{"mon"}, Start: "10:00", Duration: "1h", TimeZone: "Asia/Tokyo"},
		}}, ""},
		{"good range", Schedule{Ranges: []Range{{t0, t0.Add(time.Nanosecond)}}}, ""},

		{"no days", with(func(w *Window) { w.Days = nil }), "windows[1].days: empty; want at least one of mon..sun"},
		{"unknown day", with(func(w *Window) { w.Days = []string{"mon", "mo"} }), `windows[1].days[1]: unknown day "mo"; want mon..sun or monday..sunday`},
		{"padded day", with(func(w *Window) { w.Days = []string{" mon"} }), `windows[1].days[0]: unknown day " mon"; want mon..sun or monday..sunday`},
		{"no start", with(func(w *Window) { w.Start = "" }), `windows[1].start: "" is not a time HH:MM from 00:00 to 23:59`},
		{"hour 24", with(func(w *Window) { w.Start = "24:00" }), `windows[1].start: "24:00" is not a time HH:MM from 00:00 to 23:59`},
		{"minute 60", with(func(w *Window) { w.Start = "10:60" }), `windows[1].start: "10:60" is not a time HH:MM from 00:00 to 23:59`},
		{"one-digit hour", with(func(w *Window) { w.Start = "9:00" }), `windows[1].start: "9:00" is not a time HH:MM from 00:00 to 23:59`},
		{"seconds", with(func(w *Window) { w.Start = "10:00:00" }), `windows[1].start: "10:00:00" is not a time HH:MM from 00:00 to 23:59`},
		{"sign", with(func(w *Window) { w.Start = "+1:00" }), `windows[1].start: "+1:00" is not a time HH:MM from 00:00 to 23:59`},
		{"no duration", with(func(w *Window) { w.Duration = "" }), `windows[1].duration: "" is not a duration like 4h or 2h30m`},
		{"bad duration", with(func(w *Window) { w.Duration = "4 hours" }), `windows[1].duration: "4 hours" is not a duration like 4h or 2h30m`},
		{"zero duration", with(func(w *Window) { w.Duration = "0s" }), "windows[1].duration: 0s out of range; want more than 0 and at most 168h"},
		{"negative duration", with(func(w *Window) { w.Duration = "-1h" }), "windows[1].duration: -1h0m0s out of range; want more than 0 and at most 168h"},
		{"over a week", with(func(w *Window) { w.Duration = "168h1s" }), "windows[1].duration: 168h0m1s out of range; want more than 0 and at most 168h"},
		{"unknown zone", with(func(w *Window) { w.TimeZone = "Mars/Olympus_Mons" }), "windows[1].timeZone: unknown time zone Mars/Olympus_Mons"},
		{"Local", with(func(w *Window) { w.TimeZone = "Local" }), `windows[1].timeZone: "Local" depends on the server; name an IANA zone such as "Europe/Berlin"`},
		{"range without from", Schedule{Ranges: []Range{{To: t0}}}, "ranges[0].from: missing"},
		{"range without to", Schedule{Ranges: []Range{{From: t0}}}, "ranges[0].to: missing"},
		{"empty range", Schedule{Ranges: []Range{{t0, t0.Add(time.Hour)}, {t0, t0}}},
			"ranges[1].to: 2026-05-01T10:00:00Z is not after from 2026-05-01T10:00:00Z"},
		{"backwards range", Schedule{Ranges: []Range{{t0, t0.Add(-time.Second)}}},
			"ranges[0].to: 2026-05-01T09:59:59Z is not after from 2026-05-01T10:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, errText(tt.s.Validate())); diff != "" {
				t.Errorf("Validate (-want +got):\n%s", diff)
			}
		})
	}
}
