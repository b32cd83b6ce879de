package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/moatsec/moat/internal/store"
)

// bruteForce returns a raise of the ssh-brute-force rule against device
// from addr: count attempts between t0+first and t0+last seconds, one
// evidence piece per attempt, named prefix-0, prefix-1, ….
func bruteForce(device, addr string, count int64, first, last int, prefix string) store.AlertRaise {
	r := store.AlertRaise{
		Rule: "ssh-brute-force", Title: "SSH brute force", Severity: store.SeverityMedium, Technique: "T1110.001",
		Remediation: "Block the source.", Device: device, Hub: "h", Key: addr, SourceAddress: addr, Count: count,
		First: t0.Add(time.Duration(first) * time.Second), Last: t0.Add(time.Duration(last) * time.Second),
	}
	for i := range count {
		r.Evidence = append(r.Evidence, store.AlertEvidence{EventID: fmt.Sprint(prefix, "-", i),
			Time: r.First, Excerpt: "Failed password for root from " + addr})
	}
	return r
}

func raise(t *testing.T, s store.Store, r store.AlertRaise) (store.Alert, bool) {
	t.Helper()
	a, created, err := s.RaiseAlert(t.Context(), r)
	if err != nil {
		t.Fatalf("RaiseAlert(%q, %q, %q): %v", r.Rule, r.Device, r.Key, err)
	}
	return a, created
}

func listAlerts(t *testing.T, s store.Store, f store.AlertFilter) []store.Alert {
	t.Helper()
	as, err := s.ListAlerts(t.Context(), f)
	if err != nil {
		t.Fatalf("ListAlerts(%+v): %v", f, err)
	}
	return as
}

func alertIDs(as []store.Alert) []string {
	out := []string{}
	for _, a := range as {
		out = append(out, a.ID)
	}
	return out
}

var ignoreAlertStamps = cmpopts.IgnoreFields(store.Alert{}, "CreatedAt", "UpdatedAt")

func testRaiseAlert(t *testing.T, s store.Store) {
	c := tick()
	a, created := raise(t, s, bruteForce("d1", "10.0.0.1", 5, 0, 60, "a"))
	c = c.stop()
	if !created || len(a.ID) != 32 || strings.Trim(a.ID, "0123456789abcdef") != "" {
		t.Fatalf("first raise: created %v, ID %q; want created with 32 hex digits", created, a.ID)
	}
	checkStamp(t, "CreatedAt", a.CreatedAt, c)
	want := store.Alert{ID: a.ID, Rule: "ssh-brute-force", Title: "SSH brute force", Severity: store.SeverityMedium,
		Technique: "T1110.001", Remediation: "Block the source.", Device: "d1", Hub: "h", Key: "10.0.0.1",
		SourceAddress: "10.0.0.1", FirstSeen: t0, LastSeen: t0.Add(time.Minute), Count: 5,
		Evidence: bruteForce("d1", "10.0.0.1", 5, 0, 60, "a").Evidence, Status: store.AlertNew}
	if d := cmp.Diff(want, a, ignoreAlertStamps); d != "" {
		t.Errorf("created alert (-want +got):\n%s", d)
	}
	got, err := s.GetAlert(t.Context(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(a, got); d != "" {
		t.Errorf("GetAlert differs from RaiseAlert's result (-raise +get):\n%s", d)
	}

	// Raised again: earlier first, later last, higher severity, counts
	// added, evidence appended without the repeated piece a-4, new status
	// active, the raise's texts.
	again := bruteForce("d1", "10.0.0.1", 2, -30, 120, "b")
	again.Severity, again.Title = store.SeverityHigh, "SSH brute force (edited)"
	again.Evidence = append(again.Evidence, store.AlertEvidence{EventID: "a-4", Excerpt: "repeated"})
	grown, created := raise(t, s, again)
	if created {
		t.Error("second raise: created = true, want the open alert grown")
	}
	want.Title, want.Severity, want.Count, want.Status = again.Title, store.SeverityHigh, 7, store.AlertActive
	want.FirstSeen, want.LastSeen = t0.Add(-30*time.Second), t0.Add(2*time.Minute)
	want.Evidence = append(want.Evidence, again.Evidence[:2]...)
	if d := cmp.Diff(want, grown, ignoreAlertStamps); d != "" {
		t.Errorf("grown alert (-want +got):\n%s", d)
	}
	if !grown.CreatedAt.Equal(a.CreatedAt) || grown.UpdatedAt.Before(a.UpdatedAt) {
		t.Errorf("grown: CreatedAt %v UpdatedAt %v; want CreatedAt %v kept, UpdatedAt later", grown.CreatedAt, grown.UpdatedAt, a.CreatedAt)
	}

	// A lower severity does not lower it; empty texts keep the old ones.
	low := store.AlertRaise{Rule: "ssh-brute-force", Device: "d1", Key: "10.0.0.1", Severity: store.SeverityLow, Count: 1}
	c = tick()
	lowered, _ := raise(t, s, low)
	c = c.stop()
	if lowered.Severity != store.SeverityHigh || lowered.Title != again.Title || lowered.Count != 8 {
		t.Errorf("after a Low raise: severity %q title %q count %d", lowered.Severity, lowered.Title, lowered.Count)
	}
	// Without times, the raise happened now.
	checkStamp(t, "LastSeen of a raise without times", lowered.LastSeen, c)

	// Another key, device or rule is another alert.
	for _, r := range []store.AlertRaise{
		bruteForce("d1", "10.0.0.2", 5, 0, 1, "c"),
		bruteForce("d2", "10.0.0.1", 5, 0, 1, "d"),
		{Rule: "ssh-brute-force-success", Device: "d1", Key: "10.0.0.1", Severity: store.SeverityHigh, Count: 1},
	} {
		if _, created := raise(t, s, r); !created {
			t.Errorf("raise %q %q %q: created = false, want a new alert", r.Rule, r.Device, r.Key)
		}
	}
	if n := len(listAlerts(t, s, store.AlertFilter{})); n != 4 {
		t.Errorf("%d alerts, want 4", n)
	}

	for name, bad := range map[string]store.AlertRaise{
		"no rule":        {Device: "d", Count: 1},
		"negative count": {Rule: "r", Count: -1},
		"year 10000":     {Rule: "r", Count: 1, First: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if _, _, err := s.RaiseAlert(t.Context(), bad); err == nil {
			t.Errorf("RaiseAlert with %s: err = nil", name)
		}
	}
	_, err = s.GetAlert(t.Context(), "0123")
	wantNotFound(t, "GetAlert of an unknown ID", err)
}

// testAlertEvidence checks the evidence bound: the first 10 pieces and the
// latest 10, excerpts cut, hostile text cleaned.
func testAlertEvidence(t *testing.T, s store.Store) {
	var a store.Alert
	for i := range 5 {
		a, _ = raise(t, s, bruteForce("d", "x", 6, i, i, fmt.Sprint("r", i)))
	}
	var ids []string
	for _, e := range a.Evidence {
		ids = append(ids, e.EventID)
	}
	want := []string{"r0-0", "r0-1", "r0-2", "r0-3", "r0-4", "r0-5", "r1-0", "r1-1", "r1-2", "r1-3",
		"r3-2", "r3-3", "r3-4", "r3-5", "r4-0", "r4-1", "r4-2", "r4-3", "r4-4", "r4-5"}
	diff(t, "evidence kept", want, ids)
	if a.Count != 30 {
		t.Errorf("count %d, want 30", a.Count)
	}

	long := store.AlertRaise{Rule: "r", Device: "d\x00", Key: "k\xff", Count: 1, Evidence: []store.AlertEvidence{{
		EventID: "e", Time: time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC),
		Excerpt: strings.Repeat("é", store.MaxEvidenceExcerpt),
	}}}
	a, _ = raise(t, s, long)
	if a.Device != "d\uFFFD" || a.Key != "k\uFFFD" {
		t.Errorf("hostile device %q key %q, want cleaned", a.Device, a.Key)
	}
	ex := a.Evidence[0].Excerpt
	if len(ex) > store.MaxEvidenceExcerpt || len(ex) < store.MaxEvidenceExcerpt-1 || !strings.HasPrefix(ex, "éé") ||
		strings.ContainsRune(ex, '\uFFFD') {
		t.Errorf("excerpt of %d bytes not cut at a character boundary to at most %d", len(ex), store.MaxEvidenceExcerpt)
	}
	if !a.Evidence[0].Time.IsZero() {
		t.Errorf("evidence time out of range = %v, want zero", a.Evidence[0].Time)
	}
	got, err := s.GetAlert(t.Context(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(a, got); d != "" {
		t.Errorf("stored alert differs (-raise +get):\n%s", d)
	}
}

// testConcurrentRaise raises one detection from several goroutines at
// once: one alert is created, the others grow it, no count is lost.
func testConcurrentRaise(t *testing.T, s store.Store) {
	const perWriter = 10
	var created atomic.Int32
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			<-start
			for i := range perWriter {
				r := bruteForce("d", "10.0.0.1", 1, w, i, fmt.Sprint("w", w, "-", i))
				_, c, err := s.RaiseAlert(t.Context(), r)
				if err != nil {
					t.Errorf("RaiseAlert: %v", err)
					return
				}
				if c {
					created.Add(1)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if n := created.Load(); n != 1 {
		t.Errorf("%d raises reported created, want 1", n)
	}
	open := listAlerts(t, s, store.AlertFilter{Status: store.AlertOpen})
	if len(open) != 1 {
		t.Fatalf("%d open alerts, want 1", len(open))
	}
	if want := int64(writers * perWriter); open[0].Count != want {
		t.Errorf("count %d, want %d", open[0].Count, want)
	}
	if len(open[0].Evidence) != store.MaxAlertEvidence {
		t.Errorf("%d evidence pieces, want %d", len(open[0].Evidence), store.MaxAlertEvidence)
	}
}

func testSetAlertStatus(t *testing.T, s store.Store) {
	a, _ := raise(t, s, bruteForce("d", "x", 5, 0, 1, "a"))
	acked, err := s.SetAlertStatus(t.Context(), a.ID, store.AlertActive, "looking")
	if err != nil || acked.Status != store.AlertActive || acked.StatusReason != "looking" || acked.Count != 5 {
		t.Fatalf("acknowledge: %+v, %v", acked, err)
	}
	// An acknowledged alert raised again stays active.
	if grown, created := raise(t, s, bruteForce("d", "x", 1, 2, 3, "b")); created || grown.Status != store.AlertActive {
		t.Errorf("raise of an active alert: created %v status %q", created, grown.Status)
	}
	resolved, err := s.SetAlertStatus(t.Context(), a.ID, store.AlertResolved, "blocked at the firewall")
	if err != nil || resolved.Status != store.AlertResolved || resolved.StatusReason != "blocked at the firewall" {
		t.Fatalf("resolve: %+v, %v", resolved, err)
	}
	// Closed: the next raise opens a new alert and leaves the old one be.
	b, created := raise(t, s, bruteForce("d", "x", 5, 10, 11, "c"))
	if !created || b.ID == a.ID || b.Count != 5 || b.Status != store.AlertNew {
		t.Errorf("raise after resolve: created %v ID %q count %d status %q; want a new alert", created, b.ID, b.Count, b.Status)
	}
	if old, err := s.GetAlert(t.Context(), a.ID); err != nil || old.Status != store.AlertResolved || old.Count != 6 {
		t.Errorf("resolved alert after the raise: %+v, %v", old, err)
	}
	// Reopening the old one while b is open would make two.
	_, err = s.SetAlertStatus(t.Context(), a.ID, store.AlertNew, "")
	wantConflict(t, "reopen while another is open", err)
	if _, err := s.SetAlertStatus(t.Context(), b.ID, store.AlertDismissed, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetAlertStatus(t.Context(), a.ID, store.AlertNew, "reopened"); err != nil {
		t.Errorf("reopen once no other is open: %v", err)
	}

	_, err = s.SetAlertStatus(t.Context(), "ffff", store.AlertResolved, "")
	wantNotFound(t, "SetAlertStatus of an unknown ID", err)
	if _, err := s.SetAlertStatus(t.Context(), a.ID, "closed", ""); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetAlertStatus to an unknown status: err = %v", err)
	}
}

func testListAlerts(t *testing.T, s store.Store) {
	mk := func(rule, device, key, severity string, last int) store.Alert {
		r := bruteForce(device, key, 1, last, last, rule+device+key)
		r.Rule, r.Severity = rule, severity
		a, _ := raise(t, s, r)
		return a
	}
	a1 := mk("r1", "d1", "k", store.SeverityHigh, 0)
	a2 := mk("r1", "d2", "k", store.SeverityLow, 100)
	a3 := mk("r2", "d1", "k", store.SeverityHigh, 200)
	a4 := mk("r2", "d1", "j", store.SeverityMedium, 300)
	if _, err := s.SetAlertStatus(t.Context(), a2.ID, store.AlertDismissed, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetAlertStatus(t.Context(), a4.ID, store.AlertActive, ""); err != nil {
		t.Fatal(err)
	}
	// Alerts created within a millisecond have IDs in any order, so the
	// expectations are sorted by ID, as ListAlerts sorts (descending).
	all := byIDDesc(a1, a2, a3, a4)
	pos := slices.Index(all, a3.ID)
	for _, c := range []struct {
		f    store.AlertFilter
		want []string
	}{
		{store.AlertFilter{}, all},
		{store.AlertFilter{Rule: "r1"}, byIDDesc(a1, a2)},
		{store.AlertFilter{Severity: store.SeverityHigh}, byIDDesc(a1, a3)},
		{store.AlertFilter{Device: "d1"}, byIDDesc(a1, a3, a4)},
		{store.AlertFilter{Status: store.AlertNew}, byIDDesc(a1, a3)},
		{store.AlertFilter{Status: store.AlertOpen}, byIDDesc(a1, a3, a4)},
		{store.AlertFilter{Status: store.AlertDismissed}, byIDDesc(a2)},
		{store.AlertFilter{Since: t0.Add(150 * time.Second)}, byIDDesc(a3, a4)},
		{store.AlertFilter{Limit: 2}, all[:2]},
		{store.AlertFilter{After: a3.ID}, all[pos+1:]},
	} {
		diff(t, fmt.Sprintf("filter %+v", c.f), c.want, alertIDs(listAlerts(t, s, c.f)))
	}

	// Page through everything, one at a time.
	var paged []string
	f := store.AlertFilter{Limit: 1}
	for range 10 {
		page := listAlerts(t, s, f)
		if len(page) == 0 {
			break
		}
		paged = append(paged, page[0].ID)
		f.After = page[0].ID
	}
	diff(t, "paged", all, paged)
}

// byIDDesc returns the alerts' IDs in descending order.
func byIDDesc(as ...store.Alert) []string {
	ids := alertIDs(as)
	slices.Sort(ids)
	slices.Reverse(ids)
	return ids
}

func testCountAlerts(t *testing.T, s store.Store) {
	start := time.Now()
	for i, sev := range []string{store.SeverityHigh, store.SeverityLow, store.SeverityHigh, store.SeverityMedium, "Odd"} {
		raise(t, s, store.AlertRaise{Rule: "r", Device: fmt.Sprint("d", i), Severity: sev, Count: 1})
	}
	buckets, err := s.CountAlerts(t.Context(), start.Add(-time.Hour), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// The alerts may straddle a day's boundary: check the sums, the
	// alignment and the order.
	sums := map[string]int64{}
	for i, b := range buckets {
		sums[b.Severity] += b.Count
		if b.Start.Location() != time.UTC || b.Start.UnixMicro()%(24*time.Hour).Microseconds() != 0 ||
			b.Start.After(time.Now()) || b.Start.Before(start.Add(-24*time.Hour)) {
			t.Errorf("bucket start %v not a UTC day boundary around %v", b.Start, start)
		}
		if i > 0 && buckets[i-1].Start.Equal(b.Start) && buckets[i-1].Severity == store.SeverityLow && b.Severity == store.SeverityHigh {
			t.Errorf("buckets not ordered by severity: %+v", buckets)
		}
	}
	diff(t, "alerts by severity", map[string]int64{store.SeverityHigh: 2, store.SeverityMedium: 1, store.SeverityLow: 1, "Odd": 1}, sums)
	if len(buckets) == 4 { // one day: exactly the order
		diff(t, "severity order", []string{store.SeverityHigh, store.SeverityMedium, store.SeverityLow, "Odd"},
			[]string{buckets[0].Severity, buckets[1].Severity, buckets[2].Severity, buckets[3].Severity})
	}
	if later, err := s.CountAlerts(t.Context(), time.Now().Add(time.Hour), time.Hour); err != nil || len(later) != 0 {
		t.Errorf("CountAlerts since a future time = %v, %v; want none", later, err)
	}
	if _, err := s.CountAlerts(t.Context(), start, 0); err == nil {
		t.Error("CountAlerts with a zero bucket: err = nil")
	}
}

func testDeleteClosedAlerts(t *testing.T, s store.Store) {
	open, _ := raise(t, s, bruteForce("d1", "x", 5, 0, 1, "a"))
	dismissed, _ := raise(t, s, bruteForce("d2", "x", 5, 0, 1, "b"))
	resolved, _ := raise(t, s, bruteForce("d3", "x", 5, 0, 1, "c"))
	for id, st := range map[string]string{dismissed.ID: store.AlertDismissed, resolved.ID: store.AlertResolved} {
		if _, err := s.SetAlertStatus(t.Context(), id, st, "test"); err != nil {
			t.Fatal(err)
		}
	}
	// Nothing was closed before the raises.
	if n, err := s.DeleteClosedAlertsBefore(t.Context(), open.CreatedAt); err != nil || n != 0 {
		t.Errorf("DeleteClosedAlertsBefore(creation) = %d, %v; want 0", n, err)
	}
	n, err := s.DeleteClosedAlertsBefore(t.Context(), time.Now().Add(time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("DeleteClosedAlertsBefore(an hour ahead) = %d, %v; want the 2 closed alerts", n, err)
	}
	for _, id := range []string{dismissed.ID, resolved.ID} {
		if _, err := s.GetAlert(t.Context(), id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("closed alert %s after retention: err = %v, want ErrNotFound", id, err)
		}
	}
	if _, err := s.GetAlert(t.Context(), open.ID); err != nil {
		t.Errorf("open alert after retention: %v", err)
	}
}
