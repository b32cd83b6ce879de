// Package maint evaluates maintenance schedules: recurring weekly windows in
// a time zone (which may cross midnight and daylight-saving changes) and
// one-off ranges.
//
// A window starts on each of its days at its local wall-clock start time in
// its time zone and lasts its Duration of elapsed (real) time, so a window
// on "sat" at "22:00" lasting "4h" covers Saturday 22:00 to Sunday 02:00
// local time, and a window that spans a daylight-saving change ends an hour
// earlier or later on the wall clock. Windows and ranges are half-open:
// they include their start and exclude their end.
//
// Daylight saving: when a start time does not exist on a spring-forward day
// (02:30 in Europe/Berlin on 2026-03-29), the window starts at the first
// instant after the gap, the moment of the change (03:00 CEST). When a start
// time occurs twice on a fall-back day (02:30 in Europe/Berlin on
// 2026-10-25), the window starts at the first occurrence (02:30 CEST) only.
//
// Time zones are IANA names loaded with [time.LoadLocation], which needs the
// system's time zone database or the program importing time/tzdata.
package maint

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Window recurs every week on Days, starting at Start (local "HH:MM" in
// TimeZone) and lasting Duration (Go duration text, e.g. "2h30m"; at most
// one week).
type Window struct {
	Days     []string `json:"days"`     // "mon".."sun" (case-insensitive, full names accepted)
	Start    string   `json:"start"`    // "HH:MM", 24-hour, local time
	Duration string   `json:"duration"` // e.g. "4h"
	TimeZone string   `json:"timeZone"` // IANA name, e.g. "Europe/Berlin"; "" = UTC
}

// Range is a one-off maintenance period [From, To).
type Range struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Schedule is a device's maintenance schedule.
type Schedule struct {
	Windows []Window `json:"windows,omitempty"`
	Ranges  []Range  `json:"ranges,omitempty"`
}

// MaxWindowDuration is the longest a window may last: one week.
const MaxWindowDuration = 7 * 24 * time.Hour

// Lookahead is how far [Schedule.Next] looks for the next period.
const Lookahead = 8 * 24 * time.Hour

const day = 24 * time.Hour

// Validate reports whether s is usable. Every window needs at least one day
// ("mon".."sun" or "monday".."sunday", any case), a start "HH:MM" from 00:00
// to 23:59, a duration more than 0 and at most [MaxWindowDuration], and a
// time zone that loads ("" is UTC; "Local" is refused because it would make
// the schedule depend on the server's zone). Every range needs From and To
// set, with To after From. Errors name the field, e.g.
// "windows[1].start: ...".
func (s Schedule) Validate() error {
	_, err := s.compile()
	return err
}

// Active reports whether now is inside any window or range of s. It is
// false when s is invalid (see [Schedule.Validate]).
func (s Schedule) Active(now time.Time) bool {
	ws, err := s.compile()
	if err != nil {
		return false
	}
	for _, r := range s.Ranges {
		if !now.Before(r.From) && now.Before(r.To) {
			return true
		}
	}
	for _, w := range ws {
		found := false
		w.occurrences(now, now.Add(1), func(period) { found = true })
		if found {
			return true
		}
	}
	return false
}

// Next returns the maintenance period in progress at now, or else the next
// one starting within [Lookahead] of now, for display: overlapping or
// back-to-back windows and ranges are merged into one period [start, end).
// start and end are in now's location. Window occurrences are only looked
// for from 8 days before now to 8 days after the look-ahead, so a period
// that runs continuously beyond those bounds is cut at them. ok is false
// when there is no such period or s is invalid.
func (s Schedule) Next(now time.Time) (start, end time.Time, ok bool) {
	ws, err := s.compile()
	if err != nil {
		return time.Time{}, time.Time{}, false
	}
	horizon := now.Add(Lookahead)
	var ps []period
	add := func(p period) { ps = append(ps, p) }
	for _, r := range s.Ranges {
		add(period{r.From, r.To})
	}
	for _, w := range ws {
		w.occurrences(now.Add(-(MaxWindowDuration + day)), horizon.Add(Lookahead), add)
	}
	slices.SortFunc(ps, func(a, b period) int { return a.start.Compare(b.start) })
	for i := 0; i < len(ps); i++ {
		cur := ps[i]
		for i+1 < len(ps) && !ps[i+1].start.After(cur.end) {
			i++
			if ps[i].end.After(cur.end) {
				cur.end = ps[i].end
			}
		}
		if cur.end.After(now) {
			if !cur.start.Before(horizon) {
				break
			}
			return cur.start.In(now.Location()), cur.end.In(now.Location()), true
		}
	}
	return time.Time{}, time.Time{}, false
}

// period is an interval of time [start, end).
type period struct{ start, end time.Time }

// window is a validated Window.
type window struct {
	days         [7]bool // by time.Weekday
	hour, minute int
	dur          time.Duration
	loc          *time.Location
}

func (s Schedule) compile() ([]window, error) {
	ws := make([]window, 0, len(s.Windows))
	for i, w := range s.Windows {
		cw, err := w.compile()
		if err != nil {
			return nil, fmt.Errorf("windows[%d].%w", i, err)
		}
		ws = append(ws, cw)
	}
	for i, r := range s.Ranges {
		switch {
		case r.From.IsZero():
			return nil, fmt.Errorf("ranges[%d].from: missing", i)
		case r.To.IsZero():
			return nil, fmt.Errorf("ranges[%d].to: missing", i)
		case !r.To.After(r.From):
			return nil, fmt.Errorf("ranges[%d].to: %s is not after from %s", i,
				r.To.Format(time.RFC3339Nano), r.From.Format(time.RFC3339Nano))
		}
	}
	return ws, nil
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "sunday": time.Sunday,
	"mon": time.Monday, "monday": time.Monday,
	"tue": time.Tuesday, "tuesday": time.Tuesday,
	"wed": time.Wednesday, "wednesday": time.Wednesday,
	"thu": time.Thursday, "thursday": time.Thursday,
	"fri": time.Friday, "friday": time.Friday,
	"sat": time.Saturday, "saturday": time.Saturday,
}

// compile validates w; errors start with the field name (without a
// "windows[i]." prefix).
func (w Window) compile() (window, error) {
	var cw window
	if len(w.Days) == 0 {
		return cw, errors.New("days: empty; want at least one of mon..sun")
	}
	for i, d := range w.Days {
		wd, ok := dayNames[strings.ToLower(d)]
		if !ok {
			return cw, fmt.Errorf("days[%d]: unknown day %q; want mon..sun or monday..sunday", i, d)
		}
		cw.days[wd] = true
	}
	var ok bool
	if cw.hour, cw.minute, ok = parseHHMM(w.Start); !ok {
		return cw, fmt.Errorf("start: %q is not a time HH:MM from 00:00 to 23:59", w.Start)
	}
	d, err := time.ParseDuration(w.Duration)
	switch {
	case err != nil:
		return cw, fmt.Errorf("duration: %q is not a duration like 4h or 2h30m", w.Duration)
	case d <= 0 || d > MaxWindowDuration:
		return cw, fmt.Errorf("duration: %s out of range; want more than 0 and at most 168h", d)
	}
	cw.dur = d
	if cw.loc, err = loadZone(w.TimeZone); err != nil {
		return cw, fmt.Errorf("timeZone: %w", err)
	}
	return cw, nil
}

func parseHHMM(s string) (h, m int, ok bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, 0, false
		}
	}
	h = int(s[0]-'0')*10 + int(s[1]-'0')
	m = int(s[3]-'0')*10 + int(s[4]-'0')
	return h, m, h < 24 && m < 60
}

// zones caches loaded locations: time.LoadLocation reads the zone file
// every time. It holds successes only and at most maxZones of them, so
// odd spellings of names cannot grow it without bound.
var zones struct {
	sync.Mutex
	m map[string]*time.Location
}

const maxZones = 1024

func loadZone(name string) (*time.Location, error) {
	switch name {
	case "", "UTC":
		return time.UTC, nil
	case "Local":
		return nil, errors.New(`"Local" depends on the server; name an IANA zone such as "Europe/Berlin"`)
	}
	zones.Lock()
	loc := zones.m[name]
	zones.Unlock()
	if loc != nil {
		return loc, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	zones.Lock()
	if zones.m == nil {
		zones.m = make(map[string]*time.Location)
	}
	if len(zones.m) < maxZones {
		zones.m[name] = loc
	}
	zones.Unlock()
	return loc, nil
}

// occurrences calls f, in order, for each occurrence of w that overlaps
// [from, to).
func (w window) occurrences(from, to time.Time, f func(period)) {
	// An occurrence overlapping [from, to) starts before to and less than
	// its duration before from. Walk the local dates from a day earlier
	// than that to a day after to's local date (a day of slack either side
	// for offset changes), by civil date arithmetic on UTC noons.
	y, m, d := from.Add(-w.dur).In(w.loc).Date()
	date := time.Date(y, m, d-1, 12, 0, 0, 0, time.UTC)
	y, m, d = to.In(w.loc).Date()
	last := time.Date(y, m, d+1, 12, 0, 0, 0, time.UTC)
	for ; !date.After(last); date = date.AddDate(0, 0, 1) {
		if !w.days[date.Weekday()] {
			continue
		}
		y, m, d := date.Date()
		start := resolve(y, m, d, w.hour, w.minute, w.loc)
		end := start.Add(w.dur)
		if start.Before(to) && end.After(from) {
			f(period{start, end})
		}
	}
}

// resolve is the instant of the local wall-clock time y-m-d hh:mm in loc:
// the first occurrence when the wall clock passes it twice (fall-back), and
// the first instant after the gap, i.e. the moment of the change, when it
// skips it (spring-forward). time.Date leaves both cases unspecified.
func resolve(y int, m time.Month, d, hh, mm int, loc *time.Location) time.Time {
	wall := time.Date(y, m, d, hh, mm, 0, 0, time.UTC).Unix() // as if UTC
	// UTC offsets are within ±14h, so the instant is within a day of wall.
	// Walk the zone periods (spans of constant offset) in that stretch in
	// order: the first that contains wall−offset gives the earliest
	// instant; a change whose old offset puts wall after it and whose new
	// offset puts wall before it is a gap containing wall.
	const slack = 26 * 60 * 60
	t := time.Unix(wall-slack, 0).In(loc)
	prevOff, havePrev := 0, false
	for {
		_, off := t.Zone()
		zs, ze := t.ZoneBounds()
		c := wall - int64(off)
		if (zs.IsZero() || c >= zs.Unix()) && (ze.IsZero() || c < ze.Unix()) {
			return time.Unix(c, 0).In(loc)
		}
		if havePrev && wall-int64(prevOff) >= zs.Unix() && c < zs.Unix() {
			return zs
		}
		if ze.IsZero() || ze.Unix() > wall+slack {
			break
		}
		prevOff, havePrev, t = off, true, ze
	}
	return time.Date(y, m, d, hh, mm, 0, 0, loc) // not reached for real zones
}
