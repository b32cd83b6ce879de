package notify

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/moatsec/moat/internal/center"
)

func TestNextDigest(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	for _, tc := range []struct {
		now       time.Time
		hour, min int
		loc       *time.Location
		want      time.Time
	}{
		{t0, 8, 0, time.UTC, time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)},
		{t0, 7, 0, time.UTC, time.Date(2026, 3, 11, 7, 0, 0, 0, time.UTC)}, // exactly now: tomorrow
		{t0, 6, 59, time.UTC, time.Date(2026, 3, 11, 6, 59, 0, 0, time.UTC)},
		{time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC), 8, 0, time.UTC, time.Date(2027, 1, 1, 8, 0, 0, 0, time.UTC)},
		// 08:00 in Paris is 07:00 UTC in winter…
		{t0.Add(-time.Hour), 8, 0, paris, time.Date(2026, 3, 10, 7, 0, 0, 0, time.UTC)},
		// …and 06:00 UTC once summer time starts (Sunday 29 March 2026).
		{time.Date(2026, 3, 28, 7, 0, 0, 0, time.UTC), 8, 0, paris, time.Date(2026, 3, 29, 6, 0, 0, 0, time.UTC)},
		// 02:30 does not exist in Paris on 29 March 2026: some time that day, after now.
		{time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC), 2, 30, paris, time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC)},
	} {
		got := nextDigest(tc.now, tc.hour, tc.min, tc.loc)
		if !got.Equal(tc.want) {
			t.Errorf("nextDigest(%s, %02d:%02d %s) = %s, want %s", tc.now, tc.hour, tc.min, tc.loc, got.UTC(), tc.want)
		}
		if !got.After(tc.now) {
			t.Errorf("nextDigest(%s) = %s is not after now", tc.now, got)
		}
	}
}

func TestDigestAtConfiguredTime(t *testing.T) {
	rcv := newReceiver(t)
	srv := startSMTP(t, smtpOpts{mode: smtpStartTLS})
	cfg := Config{
		Channels: []Channel{webhookChannel("hook", rcv.URL, nil), emailChannel("mail", srv, nil)},
		Rules: []Rule{
			{Name: "high-now", MinSeverity: center.SeverityHigh, Channels: []string{"hook"}},
			{Name: "rest-daily", Channels: []string{"hook", "mail"}, Digest: true},
		},
		DigestAt: "08:00",
	}
	h := newHarness(t, cfg, hopts{})
	eight := time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)
	h.clock.waitFor(t, eight)

	low := testAlert("low-1", "new-listening-port", center.SeverityLow, "dev-1", "")
	med := testAlert("med-1", "new-local-user", center.SeverityMedium, "dev-2", "")
	high := testAlert("high-1", "ssh-brute-force", center.SeverityHigh, "dev-1", "203.0.113.9")
	h.dispatch(t, low, true)
	h.dispatch(t, med, true)
	h.dispatch(t, high, true) // hook: at once; mail: digest
	if d := h.delivery(t); d.Channel != "hook" || d.Kind != KindAlert {
		t.Fatalf("delivery = %+v", d)
	}
	rcv.next(t)
	high.Count = 20
	h.dispatch(t, high, false) // hook: throttled, so into its digest
	med.Count = 8
	h.dispatch(t, med, false) // an update of a digest alert: one entry, 2 updates

	h.clock.Set(eight.Add(-time.Second))
	if got := h.clock.pending(); len(got) != 1 || !got[0].Equal(eight) {
		t.Fatalf("before 08:00 the scheduler still waits for 08:00: pending %v", got)
	}
	h.noDelivery(t)

	h.clock.Set(eight)
	got := map[string][]string{}
	for range 2 {
		d := h.delivery(t)
		if d.Err != nil || d.Kind != KindDigest {
			t.Fatalf("delivery = %+v", d)
		}
		got[d.Channel] = d.AlertIDs
	}
	want := map[string][]string{"hook": {"high-1", "med-1", "low-1"}, "mail": {"high-1", "med-1", "low-1"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("digests (-want +got):\n%s", diff)
	}
	hit := rcv.next(t)
	if err := verify("0123456789abcdef-webhook-key", hit.header, hit.body, h.clock.Now()); err != nil {
		t.Error(err)
	}
	var p DigestPayload
	if err := json.Unmarshal(hit.body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Type != "digest" || !p.Since.Equal(t0) || !p.Until.Equal(eight) || len(p.Alerts) != 3 {
		t.Fatalf("payload = %+v", p)
	}
	type entry struct {
		ID      string
		Count   int64
		Reason  string
		Updates int
		Created bool
	}
	var entries []entry
	for _, e := range p.Alerts {
		entries = append(entries, entry{e.Alert.ID, e.Alert.Count, e.Reason, e.Updates, e.Created})
	}
	if diff := cmp.Diff([]entry{{"high-1", 20, ReasonThrottled, 1, false}, {"med-1", 8, ReasonDigest, 2, true}, {"low-1", 7, ReasonDigest, 1, true}}, entries); diff != "" {
		t.Errorf("hook digest (-want +got):\n%s", diff)
	}
	m, body := readMessage(t, srv.next(t).data)
	if s := m.Header.Get("Subject"); s != "[Moat digest] 3 alerts" {
		t.Errorf("Subject = %q", s)
	}
	for _, want := range []string{"3 alerts since 2026-03-10 07:00 UTC (1 High, 1 Medium, 1 Low)",
		"- [Moat High] ssh-brute-force on dev-1 from 203.0.113.9 — count 20", "- [Moat Medium] new-local-user on dev-2 — count 8", ", 2 updates"} {
		if !strings.Contains(body, want) {
			t.Errorf("digest body lacks %q:\n%s", want, body)
		}
	}

	// The next day nothing was routed: nothing is sent. The day after, a
	// digest with just the new alert arrives, and it is the receiver's
	// second digest: no empty one came in between.
	nextDay := eight.Add(24 * time.Hour)
	h.clock.waitFor(t, nextDay)
	h.clock.Set(nextDay)
	h.clock.waitFor(t, nextDay.Add(24*time.Hour))
	h.dispatch(t, testAlert("low-2", "r", center.SeverityLow, "dev-3", ""), true)
	h.clock.Set(nextDay.Add(24 * time.Hour))
	got = map[string][]string{}
	for range 2 {
		d := h.delivery(t)
		got[d.Channel] = d.AlertIDs
	}
	if diff := cmp.Diff(map[string][]string{"hook": {"low-2"}, "mail": {"low-2"}}, got); diff != "" {
		t.Errorf("third day's digests (-want +got):\n%s", diff)
	}
	if err := json.Unmarshal(rcv.next(t).body, &p); err != nil || !p.Since.Equal(nextDay) {
		t.Errorf("since = %s (%v), want the previous digest time %s", p.Since, err, nextDay)
	}
	if s := h.n.Stats().Channels["hook"]; s.DigestsSent != 2 || s.Sent != 1 {
		t.Errorf("hook stats = %+v", s)
	}
}

func TestDigestRescheduledBySetConfig(t *testing.T) {
	rcv := newReceiver(t)
	cfg := Config{Channels: []Channel{webhookChannel("hook", rcv.URL, nil)}, Rules: []Rule{{Name: "d", Channels: []string{"hook"}, Digest: true}}}
	h := newHarness(t, cfg, hopts{})
	h.clock.waitFor(t, time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)) // the default 08:00 UTC
	h.dispatch(t, testAlert("a-1", "r", center.SeverityLow, "dev-1", ""), true)
	cfg.DigestAt, cfg.TimeZone = "09:30", "Asia/Kolkata" // 04:00 UTC: tomorrow
	if err := h.n.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 11, 4, 0, 0, 0, time.UTC)
	h.clock.waitFor(t, at)
	if got := h.clock.pending(); len(got) != 1 {
		t.Fatalf("pending waits %v: the old schedule was not dropped", got)
	}
	h.clock.Set(at)
	if d := h.delivery(t); d.Kind != KindDigest || d.AlertIDs[0] != "a-1" {
		t.Errorf("delivery = %+v", d)
	}
}

func TestDigestBounded(t *testing.T) {
	d := newDigests()
	for i := range MaxDigestAlerts {
		if !d.add("c", center.Alert{ID: string(rune(i + 0x100))}, true, ReasonDigest) {
			t.Fatalf("add %d refused", i)
		}
	}
	if d.add("c", center.Alert{ID: "one-more"}, true, ReasonDigest) {
		t.Error("a full digest took one more alert")
	}
	if !d.add("c", center.Alert{ID: string(rune(0x100))}, false, ReasonThrottled) {
		t.Error("an update of a held alert was refused")
	}
	if got := d.take("c"); len(got) != MaxDigestAlerts || got[0].Updates != 2 {
		t.Errorf("take: %d entries, first %+v", len(got), got[0])
	}
	if d.pending("c") != 0 {
		t.Error("take did not empty the digest")
	}
}
