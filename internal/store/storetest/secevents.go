package storetest

import (
	stdcmp "cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/moatsec/moat/internal/store"
)

// t0 is the base time of the security tests' events, with microseconds.
var t0 = time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC)

// secEvent returns a failed-login event of device from addr at t0+sec.
func secEvent(id, device, addr string, sec int) store.SecurityEvent {
	at := t0.Add(time.Duration(sec) * time.Second)
	return store.SecurityEvent{
		ID: id, Device: device, Hub: "h", Source: "agent", Name: "Login",
		Time: at, LastTime: at, Count: 1, RemoteAddress: addr, Result: "Fail",
		Fields:   map[string]string{"RemoteAddress": addr, "Result": "Fail", "UserName": "root"},
		Received: at.Add(time.Second),
	}
}

func putEvents(t *testing.T, s store.Store, evs ...store.SecurityEvent) []bool {
	t.Helper()
	ins, err := s.PutSecurityEvents(t.Context(), evs)
	if err != nil {
		t.Fatalf("PutSecurityEvents(%d events): %v", len(evs), err)
	}
	if len(ins) != len(evs) {
		t.Fatalf("PutSecurityEvents(%d events) = %d flags", len(evs), len(ins))
	}
	return ins
}

func listEvents(t *testing.T, s store.Store, f store.SecurityEventFilter) []store.SecurityEvent {
	t.Helper()
	evs, err := s.ListSecurityEvents(t.Context(), f)
	if err != nil {
		t.Fatalf("ListSecurityEvents(%+v): %v", f, err)
	}
	return evs
}

func eventIDs(evs []store.SecurityEvent) []string {
	out := []string{}
	for _, e := range evs {
		out = append(out, e.ID)
	}
	return out
}

func diffEvents(t *testing.T, what string, want, got []store.SecurityEvent) {
	t.Helper()
	if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

func testPutSecurityEvents(t *testing.T, s store.Store) {
	a, b := secEvent("e-a", "d1", "10.0.0.1", 0), secEvent("e-b", "d2", "10.0.0.2", 1)
	bDup := b
	bDup.Device = "other" // a redelivery with another body is still a duplicate
	diff(t, "inserted", []bool{true, true, false}, putEvents(t, s, a, b, bDup))
	diff(t, "inserted on redelivery", []bool{false, false}, putEvents(t, s, b, a))
	diffEvents(t, "stored events", []store.SecurityEvent{b, a}, listEvents(t, s, store.SecurityEventFilter{}))

	// Defaults and clamps: LastTime = Time, Received = now, Fields never
	// nil, Count within 0..MaxSecurityEventCount; times read back in UTC.
	local := time.FixedZone("UTC+5", 5*3600)
	c := tick()
	putEvents(t, s,
		store.SecurityEvent{ID: "e-min", Name: "ProcessCreate", Time: t0.In(local), Count: -5},
		store.SecurityEvent{ID: "e-max", Name: "ProcessCreate", Time: t0, Count: 1 << 60})
	c = c.stop()
	got := listEvents(t, s, store.SecurityEventFilter{Name: "ProcessCreate"})
	if len(got) != 2 {
		t.Fatalf("ProcessCreate events = %v", eventIDs(got))
	}
	for _, e := range got {
		if !e.Time.Equal(t0) || e.Time.Location() != time.UTC || !e.LastTime.Equal(e.Time) {
			t.Errorf("%s: Time %v LastTime %v, want both %v in UTC", e.ID, e.Time, e.LastTime, t0)
		}
		checkStamp(t, e.ID+" Received", e.Received, c)
		if e.Fields == nil {
			t.Errorf("%s: Fields = nil, want empty", e.ID)
		}
	}
	if got[0].ID != "e-min" || got[0].Count != 0 || got[1].Count != store.MaxSecurityEventCount {
		t.Errorf("counts: %s=%d %s=%d, want e-min=0 e-max=%d", got[0].ID, got[0].Count, got[1].ID, got[1].Count, store.MaxSecurityEventCount)
	}

	// Hostile text: NUL bytes and invalid UTF-8 become U+FFFD, the same in
	// every backend; JSON metacharacters survive.
	h := store.SecurityEvent{ID: "e-\x00\xff", Device: "d\x00", Name: "Hostile", Time: t0,
		Fields: map[string]string{"k\x00": "v\xc3", `"quote\"`: "line\nbreak\t\\ \x01 é"}}
	putEvents(t, s, h)
	want := store.SecurityEvent{ID: "e-\uFFFD\uFFFD", Device: "d\uFFFD", Name: "Hostile", Time: t0, LastTime: t0,
		Fields: map[string]string{"k\uFFFD": "v\uFFFD", `"quote\"`: "line\nbreak\t\\ \x01 é"}}
	got = listEvents(t, s, store.SecurityEventFilter{Name: "Hostile"})
	if len(got) == 1 {
		got[0].Received = time.Time{}
	}
	diffEvents(t, "hostile event", []store.SecurityEvent{want}, got)
	if got := listEvents(t, s, store.SecurityEventFilter{Device: "d\x00"}); len(got) != 1 {
		t.Errorf("filter by a device with a NUL byte = %v, want the cleaned one", eventIDs(got))
	}
	diff(t, "the cleaned ID is a duplicate", []bool{false}, putEvents(t, s, h))

	// Invalid events fail the whole batch, which stores nothing.
	for name, bad := range map[string]store.SecurityEvent{
		"empty ID":          {Name: "Bad", Time: t0},
		"long ID":           {ID: string(make([]byte, store.MaxSecurityEventID+1)), Name: "Bad", Time: t0},
		"year 10000":        {ID: "bad-time", Name: "Bad", Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		"last time year -1": {ID: "bad-last", Name: "Bad", Time: t0, LastTime: time.Date(-1, 12, 31, 0, 0, 0, 0, time.UTC)},
	} {
		if _, err := s.PutSecurityEvents(t.Context(), []store.SecurityEvent{secEvent("ok-"+name, "d", "", 0), bad}); err == nil {
			t.Errorf("PutSecurityEvents with %s: err = nil", name)
		}
	}
	if got := listEvents(t, s, store.SecurityEventFilter{Device: "d"}); len(got) != 0 {
		t.Errorf("failed batches stored %v", eventIDs(got))
	}
	// The extreme years RFC 3339 can write are stored, and ordered.
	early := store.SecurityEvent{ID: "early", Name: "Extreme", Time: time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)}
	late := store.SecurityEvent{ID: "late", Name: "Extreme", Time: time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)}
	putEvents(t, s, early, late)
	got = listEvents(t, s, store.SecurityEventFilter{Name: "Extreme"})
	if len(got) != 2 || !got[0].Time.Equal(late.Time) || !got[1].Time.Equal(early.Time) {
		t.Errorf("extreme times read back as %+v", got)
	}
	if got := listEvents(t, s, store.SecurityEventFilter{Name: "Extreme", Since: time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC)}); len(got) != 1 {
		t.Errorf("events since year 1 = %v, want the late one", eventIDs(got))
	}
	if ins, err := s.PutSecurityEvents(t.Context(), nil); err != nil || len(ins) != 0 {
		t.Errorf("PutSecurityEvents(nil) = %v, %v", ins, err)
	}
}

// testPutSecurityEventsLarge puts a batch larger than one statement, half
// of it already stored.
func testPutSecurityEventsLarge(t *testing.T, s store.Store) {
	const n = 1203
	evs := make([]store.SecurityEvent, n)
	for i := range evs {
		evs[i] = secEvent(fmt.Sprintf("big-%05d", i), "d", "10.0.0.1", i)
	}
	var odd []store.SecurityEvent
	for i := 1; i < n; i += 2 {
		odd = append(odd, evs[i])
	}
	putEvents(t, s, odd...)
	ins := putEvents(t, s, evs...)
	for i, ok := range ins {
		if ok != (i%2 == 0) {
			t.Fatalf("inserted[%d] = %v, want %v", i, ok, i%2 == 0)
		}
	}
	if got := listEvents(t, s, store.SecurityEventFilter{Limit: store.MaxSecurityEventPage}); len(got) != store.MaxSecurityEventPage {
		t.Errorf("ListSecurityEvents = %d events, want a full page of %d", len(got), store.MaxSecurityEventPage)
	}
}

func testListSecurityEvents(t *testing.T, s store.Store) {
	// Three events share a time, so the cursor must order by ID too.
	evs := []store.SecurityEvent{
		secEvent("e1", "d1", "10.0.0.1", 0),
		secEvent("e2", "d2", "10.0.0.1", 10),
		secEvent("e3", "d1", "10.0.0.2", 10),
		secEvent("e4", "d1", "10.0.0.2", 10),
		secEvent("e5", "d2", "10.0.0.3", 20),
	}
	evs[4].Name, evs[4].Source = "TokenDecision", "discovery"
	putEvents(t, s, evs...)
	newestFirst := []string{"e5", "e4", "e3", "e2", "e1"}
	diff(t, "all", newestFirst, eventIDs(listEvents(t, s, store.SecurityEventFilter{})))

	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	for _, c := range []struct {
		f    store.SecurityEventFilter
		want []string
	}{
		{store.SecurityEventFilter{Device: "d1"}, []string{"e4", "e3", "e1"}},
		{store.SecurityEventFilter{Name: "Login"}, []string{"e4", "e3", "e2", "e1"}},
		{store.SecurityEventFilter{Source: "discovery"}, []string{"e5"}},
		{store.SecurityEventFilter{Since: at(10)}, []string{"e5", "e4", "e3", "e2"}},
		{store.SecurityEventFilter{Until: at(10)}, []string{"e1"}},
		{store.SecurityEventFilter{Since: at(10), Until: at(20), Device: "d2"}, []string{"e2"}},
		{store.SecurityEventFilter{Device: "nobody"}, []string{}},
		{store.SecurityEventFilter{Limit: 2}, []string{"e5", "e4"}},
		{store.SecurityEventFilter{After: store.SecurityEventCursor{Time: at(10), ID: "e3"}}, []string{"e2", "e1"}},
	} {
		diff(t, fmt.Sprintf("filter %+v", c.f), c.want, eventIDs(listEvents(t, s, c.f)))
	}

	// Page through everything, two at a time, with the cursor.
	var paged []string
	f := store.SecurityEventFilter{Limit: 2}
	for range 10 {
		page := listEvents(t, s, f)
		if len(page) == 0 {
			break
		}
		paged = append(paged, eventIDs(page)...)
		last := page[len(page)-1]
		f.After = store.SecurityEventCursor{Time: last.Time, ID: last.ID}
	}
	diff(t, "paged", newestFirst, paged)
}

func testSecurityEventsSince(t *testing.T, s store.Store) {
	evs := []store.SecurityEvent{
		secEvent("e1", "d1", "a", 0), secEvent("e2", "d1", "a", 30), secEvent("e3", "d1", "a", 20),
		secEvent("e4", "d1", "a", 40),
	}
	evs[3].Name = "ListeningPorts"
	putEvents(t, s, evs...)
	collect := func(since time.Time, names []string) []string {
		t.Helper()
		var ids []string
		err := s.SecurityEventsSince(t.Context(), since, names, func(e store.SecurityEvent) error {
			ids = append(ids, e.ID)
			return nil
		})
		if err != nil {
			t.Fatalf("SecurityEventsSince: %v", err)
		}
		return ids
	}
	diff(t, "since t0+20s, Login", []string{"e3", "e2"}, collect(t0.Add(20*time.Second), []string{"Login"}))
	diff(t, "all names", []string{"e1", "e3", "e2", "e4"}, collect(time.Time{}, nil))
	diff(t, "two names", []string{"e1", "e3", "e2", "e4"}, collect(t0, []string{"ListeningPorts", "Login"}))
	diff(t, "no match", []string{}, collect(t0, []string{"Nothing"}))

	stop := errors.New("stop")
	calls := 0
	err := s.SecurityEventsSince(t.Context(), t0, nil, func(store.SecurityEvent) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("fn error: err = %v after %d calls, want stop after 1", err, calls)
	}
}

func testDeleteSecurityEvents(t *testing.T, s store.Store) {
	// More than one retention chunk (5,000) of old events, and newer ones.
	const old = 5050
	evs := make([]store.SecurityEvent, 0, old+2)
	for i := range old {
		evs = append(evs, secEvent(fmt.Sprint("old-", i), "d", "a", -i))
	}
	newer := secEvent("new", "d", "a", 0)
	newer.Received = t0.Add(time.Hour)
	// Retention goes by Received: an event claiming to be old but received
	// recently stays.
	claimsOld := secEvent("claims-old", "d", "a", -1_000_000)
	claimsOld.Received = t0.Add(time.Hour)
	putEvents(t, s, append(evs, newer, claimsOld)...)

	n, err := s.DeleteSecurityEventsBefore(t.Context(), t0.Add(time.Minute))
	if err != nil || n != old {
		t.Fatalf("DeleteSecurityEventsBefore = %d, %v; want %d", n, err, old)
	}
	diff(t, "left", []string{"new", "claims-old"}, eventIDs(listEvents(t, s, store.SecurityEventFilter{})))
	if n, err := s.DeleteSecurityEventsBefore(t.Context(), t0.Add(time.Minute)); err != nil || n != 0 {
		t.Errorf("second DeleteSecurityEventsBefore = %d, %v; want 0", n, err)
	}
}

func testTopSecurityEvents(t *testing.T, s store.Store) {
	ev := func(id, device, addr, result string, sec int, count int64) store.SecurityEvent {
		e := secEvent(id, device, addr, sec)
		e.Result, e.Count = result, count
		return e
	}
	putEvents(t, s,
		ev("1", "d1", "10.0.0.1", "Fail", 0, 3),
		ev("2", "d1", "10.0.0.2", "Fail", 10, 1),
		ev("3", "d2", "10.0.0.1", "Fail", 20, 5),
		ev("4", "d3", "10.0.0.3", "Fail", 30, 1),
		ev("5", "d3", "", "Fail", 40, 2), // no address: counts for the device only
		ev("6", "d3", "10.0.0.3", "Success", 50, 100),
		ev("7", "d4", "10.0.0.9", "Fail", -3600, 50), // before the window
	)
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	top := func(q store.TopQuery) []store.TopEntry {
		t.Helper()
		got, err := s.TopSecurityEvents(t.Context(), q)
		if err != nil {
			t.Fatalf("TopSecurityEvents(%+v): %v", q, err)
		}
		return got
	}
	fail := store.TopQuery{Name: "Login", Result: "Fail", Since: t0, By: store.TopByDevice}
	diff(t, "most attacked devices", []store.TopEntry{
		{Key: "d2", Count: 5, Events: 1, Devices: 1, Last: at(20)},
		{Key: "d1", Count: 4, Events: 2, Devices: 1, Last: at(10)},
		{Key: "d3", Count: 3, Events: 2, Devices: 1, Last: at(40)},
	}, top(fail))
	bySource := fail
	bySource.By = store.TopByRemoteAddress
	diff(t, "top attacking sources", []store.TopEntry{
		{Key: "10.0.0.1", Count: 8, Events: 2, Devices: 2, Last: at(20)},
		{Key: "10.0.0.2", Count: 1, Events: 1, Devices: 1, Last: at(10)}, // ties ordered by key
		{Key: "10.0.0.3", Count: 1, Events: 1, Devices: 1, Last: at(30)},
	}, top(bySource))

	limited := fail
	limited.Limit = 1
	diff(t, "limit 1", []string{"d2"}, topKeys(top(limited)))
	window := fail
	window.Since, window.Until = at(10), at(30)
	diff(t, "window", []string{"d2", "d1"}, topKeys(top(window)))
	anyResult := fail
	anyResult.Result = ""
	diff(t, "any result", []string{"d3", "d2", "d1"}, topKeys(top(anyResult)))
	none := fail
	none.Name = "Nothing"
	diff(t, "no events", []string{}, topKeys(top(none)))

	bad := fail
	bad.By = "fields"
	if _, err := s.TopSecurityEvents(t.Context(), bad); err == nil {
		t.Error("TopSecurityEvents by an unknown grouping: err = nil")
	}
}

func topKeys(es []store.TopEntry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.Key)
	}
	return slices.Clip(out)
}

// groupFixture returns events in groups (the items of agent events) whose
// times spread over more than a row's ten minutes, one group of more than
// a row's 64 items, and events on their own in between, shuffled.
func groupFixture() []store.SecurityEvent {
	rnd := rand.New(rand.NewPCG(5, 7))
	var evs []store.SecurityEvent
	for g, size := range []int{1, 3, 70, 12, 5, 130} {
		device := fmt.Sprint("gd", g%2)
		received := t0.Add(time.Duration(g) * time.Hour)
		for i := range size {
			// Offsets within ±40 minutes, some items sharing a time.
			e := secEvent(fmt.Sprintf("grp%d/%d", g, i), device, fmt.Sprintf("10.1.%d.%d", g, rnd.IntN(5)), rnd.IntN(80)*60-2400)
			if i%4 == 0 {
				e.Time = t0
			}
			e.Group, e.Received = fmt.Sprint("grp", g), received
			e.LastTime = e.Time.Add(time.Duration(rnd.IntN(100)) * time.Second)
			e.Count = int64(1 + rnd.IntN(9))
			e.Fields = map[string]string{"RemoteAddress": e.RemoteAddress, "n": fmt.Sprint(i)}
			if i%3 == 0 {
				e.Result, e.Change = "Success", "Added"
			}
			evs = append(evs, e)
		}
	}
	for i := range 40 {
		e := secEvent(fmt.Sprintf("solo-%02d", i), fmt.Sprint("gd", i%3), "10.2.0.1", rnd.IntN(80)*60-2400)
		evs = append(evs, e)
	}
	rnd.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
	return evs
}

// readBack returns e as the store reads it back (no group).
func readBack(e store.SecurityEvent) store.SecurityEvent {
	e.Group = ""
	return e
}

// testSecurityEventGroups checks that events stored in groups read back
// exactly as events stored one by one would: every field, the order of
// listings and the cursor across rows whose times overlap, the filters,
// the oldest-first reading, the top queries, retention and dedup.
func testSecurityEventGroups(t *testing.T, s store.Store) {
	evs := groupFixture()
	for i, ok := range putEvents(t, s, evs...) {
		if !ok {
			t.Fatalf("inserted[%d] (%s) = false on the first put", i, evs[i].ID)
		}
	}
	// The expected orders, computed from the events themselves.
	newestFirst := make([]store.SecurityEvent, len(evs))
	for i, e := range evs {
		newestFirst[i] = readBack(e)
	}
	slices.SortFunc(newestFirst, func(a, b store.SecurityEvent) int {
		return stdcmp.Or(b.Time.Compare(a.Time), strings.Compare(b.ID, a.ID))
	})
	where := func(keep func(store.SecurityEvent) bool) []store.SecurityEvent {
		out := []store.SecurityEvent{}
		for _, e := range newestFirst {
			if keep(e) {
				out = append(out, e)
			}
		}
		return out
	}

	diffEvents(t, "all, newest first", newestFirst, listEvents(t, s, store.SecurityEventFilter{}))
	for _, limit := range []int{1, 7, 64} {
		var paged []store.SecurityEvent
		f := store.SecurityEventFilter{Limit: limit}
		for range len(evs) + 1 {
			page := listEvents(t, s, f)
			if len(page) == 0 {
				break
			}
			paged = append(paged, page...)
			f.After = store.SecurityEventCursor{Time: page[len(page)-1].Time, ID: page[len(page)-1].ID}
		}
		diffEvents(t, fmt.Sprintf("paged by %d", limit), newestFirst, paged)
	}
	since, until := t0.Add(-17*time.Minute), t0.Add(23*time.Minute)
	diffEvents(t, "device gd1 in a window", where(func(e store.SecurityEvent) bool {
		return e.Device == "gd1" && !e.Time.Before(since) && e.Time.Before(until)
	}), listEvents(t, s, store.SecurityEventFilter{Device: "gd1", Since: since, Until: until}))
	diffEvents(t, "until t0", where(func(e store.SecurityEvent) bool { return e.Time.Before(t0) }),
		listEvents(t, s, store.SecurityEventFilter{Until: t0}))

	var oldestFirst []store.SecurityEvent
	err := s.SecurityEventsSince(t.Context(), since, nil, func(e store.SecurityEvent) error {
		oldestFirst = append(oldestFirst, e)
		return nil
	})
	if err != nil {
		t.Fatalf("SecurityEventsSince: %v", err)
	}
	want := where(func(e store.SecurityEvent) bool { return !e.Time.Before(since) })
	slices.Reverse(want)
	diffEvents(t, "since, oldest first", want, oldestFirst)

	// Top queries sum the items of the window, whatever rows hold them.
	sums := map[string]*store.TopEntry{}
	devices := map[string]map[string]bool{}
	for _, e := range where(func(e store.SecurityEvent) bool { return !e.Time.Before(since) && e.Result == "Fail" }) {
		te := sums[e.RemoteAddress]
		if te == nil {
			te = &store.TopEntry{Key: e.RemoteAddress}
			sums[e.RemoteAddress], devices[e.RemoteAddress] = te, map[string]bool{}
		}
		te.Count += e.Count
		te.Events++
		devices[e.RemoteAddress][e.Device] = true
		if e.Time.After(te.Last) {
			te.Last = e.Time
		}
	}
	wantTop := []store.TopEntry{}
	for k, te := range sums {
		te.Devices = int64(len(devices[k]))
		wantTop = append(wantTop, *te)
	}
	slices.SortFunc(wantTop, func(a, b store.TopEntry) int {
		return stdcmp.Or(stdcmp.Compare(b.Count, a.Count), strings.Compare(a.Key, b.Key))
	})
	gotTop, err := s.TopSecurityEvents(t.Context(), store.TopQuery{Name: "Login", Result: "Fail", Since: since, By: store.TopByRemoteAddress, Limit: 1000})
	if err != nil {
		t.Fatalf("TopSecurityEvents: %v", err)
	}
	diff(t, "top sources", wantTop, gotTop)

	// A redelivered group is a duplicate whole; so is the batch.
	for i, ok := range putEvents(t, s, evs...) {
		if ok {
			t.Errorf("inserted[%d] (%s) = true on redelivery", i, evs[i].ID)
		}
	}
	diff(t, "events after redelivery", len(evs), len(listEvents(t, s, store.SecurityEventFilter{})))

	// Retention deletes by receive time, and counts events, not rows.
	cut := t0.Add(3 * time.Hour) // groups 0..2 were received before it
	wantLeft := where(func(e store.SecurityEvent) bool { return !e.Received.Before(cut) })
	n, err := s.DeleteSecurityEventsBefore(t.Context(), cut)
	if err != nil || n != int64(len(evs)-len(wantLeft)) {
		t.Errorf("DeleteSecurityEventsBefore = %d, %v; want %d", n, err, len(evs)-len(wantLeft))
	}
	diffEvents(t, "left after retention", wantLeft, listEvents(t, s, store.SecurityEventFilter{}))
}

// SecurityEventsSurviveMigrations stores events, calls redo, which
// migrates the schema down to the version before security events were
// stored in rows and up again and returns the store reopened, and checks
// that every event reads back the same. Backends call it from their
// migration tests.
func SecurityEventsSurviveMigrations(t *testing.T, s store.Store, redo func(t *testing.T) store.Store) {
	evs := append(groupFixture(),
		store.SecurityEvent{ID: "e-\x00\xff", Device: "d\x00", Name: "Hostile", Time: t0, Received: t0,
			Fields: map[string]string{"k\x00": "v\xc3", `"quote\"`: "line\nbreak\t\\ \x01 é"}},
		store.SecurityEvent{ID: "early", Name: "Extreme", Time: time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), Received: t0},
		store.SecurityEvent{ID: "late", Name: "Extreme", Time: time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC), Received: t0})
	putEvents(t, s, evs...)
	before := listEvents(t, s, store.SecurityEventFilter{})
	if len(before) != len(evs) {
		t.Fatalf("listed %d of %d events", len(before), len(evs))
	}
	s = redo(t)
	diffEvents(t, "events after migrating down and up", before, listEvents(t, s, store.SecurityEventFilter{}))
}
