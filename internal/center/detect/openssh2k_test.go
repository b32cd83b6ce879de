package detect

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/moatsec/moat/internal/agent/authlog"
	"github.com/moatsec/moat/internal/center"
)

// openSSH2k is 2,000 lines of a real OpenSSH server log, from the loghub
// collection, https://github.com/logpai/loghub (OpenSSH/OpenSSH_2k.log).
// The test skips when it is absent.
const openSSH2k = "/work/shared/data/ssh/OpenSSH_2k.log"

// The log is of December; read in January it is of the previous year.
var ref2018 = time.Date(2018, 1, 15, 0, 0, 0, 0, time.UTC)

func readOpenSSH2k(tb testing.TB) [][]byte {
	tb.Helper()
	data, err := os.ReadFile(openSSH2k)
	if os.IsNotExist(err) {
		tb.Skipf("%s absent", openSSH2k)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
}

// attemptEvents parses the log as the agent does (authlog Parser and
// Attempts) and turns each attempt into the Login event the center gets.
func attemptEvents(tb testing.TB, lines [][]byte) []*center.Event {
	p := authlog.NewParser(authlog.Options{Now: func() time.Time { return ref2018 }, Location: time.UTC})
	a := authlog.NewAttempts(authlog.AttemptsConfig{})
	var atts []authlog.Attempt
	for i, line := range lines {
		r, err := p.Parse(line)
		if err != nil {
			tb.Fatalf("line %d: %v", i+1, err)
		}
		atts = a.Add(atts, &r)
	}
	atts = a.Flush(atts, ref2018)
	var out []*center.Event
	for i, at := range atts {
		result := "Fail"
		if at.Success {
			result = "Success"
		}
		out = append(out, &center.Event{
			ID: fmt.Sprintf("labsz-replay/%d", i), Device: "labsz", Hub: "fleet", Source: center.SourceAgent, Name: "Login",
			Time: at.Time, LastTime: at.Time, Count: int64(at.Count), Received: at.Time,
			Fields: map[string]string{"Result": result, "RemoteAddress": at.Source, "UserName": at.User,
				"Operation": "Login", "AuthMethod": at.Method, "Source": "authlog"},
		})
	}
	return out
}

var (
	failedLine   = regexp.MustCompile(`^(\w{3} [ \d]\d \d\d:\d\d:\d\d) \S+ sshd\[\d+\]: (?:message repeated (\d+) times: \[ )?Failed \S+ for .* from (\S+) port \d+ ssh2`)
	acceptedLine = regexp.MustCompile(`^(\w{3} [ \d]\d \d\d:\d\d:\d\d) \S+ sshd\[\d+\]: Accepted \S+ for \S+ from (\S+) port \d+ ssh2`)
)

func lineTime(tb testing.TB, s []byte) time.Time {
	ts, err := time.Parse("2006 Jan _2 15:04:05", "2017 "+string(s))
	if err != nil {
		tb.Fatal(err)
	}
	return ts
}

// independent counts, with regular expressions over the raw lines, the
// sources with ≥ 5 failed attempts within 10 minutes (quadratic search:
// every attempt starts a window) and the successes that follow one of
// their failures by at most 30 minutes once they reached it.
func independent(tb testing.TB, lines [][]byte) (brute []string, bruteThenSuccess []string) {
	fails := map[string][]time.Time{}
	type acc struct {
		src string
		t   time.Time
	}
	var accepted []acc
	for _, line := range lines {
		if m := failedLine.FindSubmatch(line); m != nil {
			n := 1
			if len(m[2]) > 0 {
				n, _ = strconv.Atoi(string(m[2]))
			}
			for range n {
				fails[string(m[3])] = append(fails[string(m[3])], lineTime(tb, m[1]))
			}
		}
		if m := acceptedLine.FindSubmatch(line); m != nil {
			accepted = append(accepted, acc{string(m[2]), lineTime(tb, m[1])})
		}
	}
	crossing := map[string][]time.Time{} // times at which a source has ≥ 5 within the 10 minutes before
	for src, ts := range fails {
		for _, end := range ts {
			n := 0
			for _, x := range ts {
				if !x.After(end) && end.Sub(x) <= 10*time.Minute {
					n++
				}
			}
			if n >= 5 {
				crossing[src] = append(crossing[src], end)
			}
		}
		if len(crossing[src]) > 0 {
			brute = append(brute, src)
		}
	}
	for _, a := range accepted {
		for _, c := range crossing[a.src] {
			if !c.After(a.t) && a.t.Sub(c) <= 30*time.Minute {
				bruteThenSuccess = append(bruteThenSuccess, a.src)
				break
			}
		}
	}
	sort.Strings(brute)
	return brute, bruteThenSuccess
}

type alertKey struct{ rule, device, key string }

// openAlerts returns the distinct (rule, device, key) of detections: the
// alerts the alert store keeps open, by rule.
func openAlerts(ds []center.Detection) map[string][]string {
	seen := map[alertKey]bool{}
	out := map[string][]string{}
	for _, d := range ds {
		k := alertKey{d.Rule, d.DeviceID, d.Key}
		if !seen[k] {
			seen[k] = true
			out[d.Rule] = append(out[d.Rule], d.Key)
		}
	}
	for _, v := range out {
		sort.Strings(v)
	}
	return out
}

func TestOpenSSH2k(t *testing.T) {
	lines := readOpenSSH2k(t)
	events := attemptEvents(t, lines)
	wantBrute, wantSuccess := independent(t, lines)
	if len(wantBrute) != 11 {
		t.Fatalf("independent count: %d sources, the data README says 11: %v", len(wantBrute), wantBrute)
	}
	// The log's single Accepted line (119.137.62.142, Dec 10 09:32:20) is
	// from an address that never failed: no brute force precedes it.
	if len(wantSuccess) != 0 {
		t.Fatalf("independent count: brute force then success from %v", wantSuccess)
	}

	orders := map[string]func([]*center.Event) []*center.Event{
		"log order": func(evs []*center.Event) []*center.Event { return evs },
		// Agents flush every 10 s: events of a flush may come in any order.
		"batches reversed": func(evs []*center.Event) []*center.Event {
			out := slices.Clone(evs)
			for i := 0; i < len(out); {
				j := i
				for j < len(out) && out[j].Time.Sub(out[i].Time) < 10*time.Second {
					j++
				}
				slices.Reverse(out[i:j])
				i = j
			}
			return out
		},
	}
	for name, order := range orders {
		t.Run(name, func(t *testing.T) {
			en := New(builtinSet(t), Options{Clock: func() time.Time { return ref2018 }, Baseline: NewMemoryBaseline()})
			var ds []center.Detection
			for _, e := range order(events) {
				ds = append(ds, en.Process(context.Background(), e)...)
			}
			open := openAlerts(ds)
			if d := cmp.Diff(wantBrute, open["ssh-brute-force"]); d != "" {
				t.Errorf("ssh-brute-force alerts (-independent +engine):\n%s", d)
			}
			if got := open["ssh-brute-force-success"]; len(got) != 0 {
				t.Errorf("ssh-brute-force-success alerts %v, want none", got)
			}
			for rule := range open {
				if rule != "ssh-brute-force" {
					t.Errorf("unexpected alerts of %s: %v", rule, open[rule])
				}
			}
			// Every failure is reported at most once, and each alert holds
			// at least the threshold.
			perSource := map[string]int64{}
			for _, d := range only(ds, "ssh-brute-force") {
				perSource[d.Key] += d.Count
				if d.DeviceID != "labsz" || d.SourceAddress != d.Key {
					t.Errorf("detection %+v", d)
				}
			}
			failures := map[string]int64{}
			for _, e := range events {
				if e.Fields["Result"] == "Fail" {
					failures[e.Fields["RemoteAddress"]] += e.Count
				}
			}
			for src, n := range perSource {
				if n < 5 || n > failures[src] {
					t.Errorf("%s: %d failures reported, %d in the log", src, n, failures[src])
				}
			}
			if s := stat(en, "ssh-brute-force"); s.Dropped != 0 || s.Late != 0 {
				t.Errorf("stats %+v", s)
			}
		})
	}

	// A success from the busiest attacker a minute after its last failure
	// completes the sequence, once.
	en := New(builtinSet(t), Options{Clock: func() time.Time { return ref2018 }})
	var ds []center.Detection
	var lastFail *center.Event
	for _, e := range events {
		ds = append(ds, en.Process(context.Background(), e)...)
		if e.Fields["RemoteAddress"] == "183.62.140.253" && e.Fields["Result"] == "Fail" {
			lastFail = e
		}
	}
	ok := login("labsz", "183.62.140.253", "Success", lastFail.Time.Add(time.Minute), 1)
	ds = append(ds, en.Process(context.Background(), ok)...)
	if got := openAlerts(ds)["ssh-brute-force-success"]; !slices.Equal(got, []string{"183.62.140.253"}) {
		t.Errorf("ssh-brute-force-success after an added success: %v", got)
	}
}
