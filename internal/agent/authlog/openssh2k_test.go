package authlog

import (
	"bufio"
	"bytes"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// openSSH2k is 2,000 lines of a real OpenSSH server log, from the loghub
// collection, https://github.com/logpai/loghub (OpenSSH/OpenSSH_2k.log).
// The tests that use it skip when it is absent.
const openSSH2k = "/work/shared/data/ssh/OpenSSH_2k.log"

// Brute-force rule of the center: ≥ bruteCount failed attempts from one
// source within bruteWindow.
const (
	bruteCount  = 5
	bruteWindow = 10 * time.Minute
)

func readLines(tb testing.TB, path string) [][]byte {
	tb.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		tb.Skipf("%s absent", path)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
}

// TestOpenSSH2k replays the log through Parser and Attempts and checks the
// counts against an independent count: a regular expression over the raw
// lines, expanded attempt by attempt, with a quadratic window search.
func TestOpenSSH2k(t *testing.T) {
	lines := readLines(t, openSSH2k)
	// The log is of December; read in January it is of the previous year.
	p := NewParser(Options{Now: func() time.Time { return time.Date(2018, 1, 15, 0, 0, 0, 0, time.UTC) }, Location: time.UTC})
	a := NewAttempts(AttemptsConfig{})
	var attempts []Attempt
	failedPasswordLines := 0
	for i, line := range lines {
		r, err := p.Parse(line)
		if err != nil {
			t.Fatalf("line %d: %v: %q", i+1, err, line)
		}
		if r.Time.Year() != 2017 {
			t.Fatalf("line %d: year %d, want 2017", i+1, r.Time.Year())
		}
		if r.Kind == KindFailedAuth && r.Method == "password" {
			failedPasswordLines++
		}
		attempts = a.Add(attempts, &r)
	}

	// Independent count.
	re := regexp.MustCompile(`^(\w{3} [ \d]\d \d\d:\d\d:\d\d) \S+ sshd\[\d+\]: (?:message repeated (\d+) times: \[ )?Failed \S+ for .* from (\S+) port \d+ ssh2`)
	indep := map[string][]time.Time{}
	indepPasswordLines := 0
	for _, line := range lines {
		if bytes.Contains(line, []byte("Failed password")) {
			indepPasswordLines++
		}
		m := re.FindSubmatch(line)
		if m == nil {
			continue
		}
		ts, err := time.Parse("2006 Jan _2 15:04:05", "2017 "+string(m[1]))
		if err != nil {
			t.Fatal(err)
		}
		n := 1
		if len(m[2]) > 0 {
			n, _ = strconv.Atoi(string(m[2]))
		}
		for range n {
			indep[string(m[3])] = append(indep[string(m[3])], ts)
		}
	}

	if failedPasswordLines != indepPasswordLines || failedPasswordLines != 520 {
		t.Errorf("Failed password lines: parser %d, grep %d, README 520", failedPasswordLines, indepPasswordLines)
	}

	// Per-source failed attempts, from the aggregator.
	got := map[string][]time.Time{}
	success := 0
	for _, at := range attempts {
		if at.Success {
			success++
			continue
		}
		for range at.Count {
			got[at.Source] = append(got[at.Source], at.Time)
		}
	}
	if success != 1 {
		t.Errorf("successful logins = %d, want 1", success)
	}
	count := func(m map[string][]time.Time) map[string]int {
		c := map[string]int{}
		for k, v := range m {
			c[k] = len(v)
		}
		return c
	}
	if d := cmp.Diff(count(indep), count(got)); d != "" {
		t.Errorf("failed attempts per source (-regexp +aggregator):\n%s", d)
	}
	// One pam_unix failure at the end of the log still waits for its
	// Failed line (the log was cut 2 s too early): pending, not counted.
	if a.Pending() != 1 {
		t.Errorf("Pending() = %d, want 1", a.Pending())
	}

	wantBrute := bruteSourcesQuadratic(indep)
	gotBrute := bruteSourcesSliding(got)
	if d := cmp.Diff(wantBrute, gotBrute); d != "" {
		t.Errorf("brute-force sources (-regexp +aggregator):\n%s", d)
	}
	if len(gotBrute) != 11 {
		t.Errorf("%d sources reach %d failed attempts within %s, README says 11: %v", len(gotBrute), bruteCount, bruteWindow, gotBrute)
	}
}

// bruteSourcesSliding: two pointers over each source's sorted times.
func bruteSourcesSliding(m map[string][]time.Time) []string {
	var out []string
	for src, ts := range m {
		ts = slices.Clone(ts)
		slices.SortFunc(ts, time.Time.Compare)
		lo := 0
		for hi := range ts {
			for ts[hi].Sub(ts[lo]) >= bruteWindow {
				lo++
			}
			if hi-lo+1 >= bruteCount {
				out = append(out, src)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// bruteSourcesQuadratic: for every attempt, count the attempts in the
// window starting at it.
func bruteSourcesQuadratic(m map[string][]time.Time) []string {
	var out []string
	for src, ts := range m {
		for _, start := range ts {
			n := 0
			for _, t := range ts {
				if !t.Before(start) && t.Sub(start) < bruteWindow {
					n++
				}
			}
			if n >= bruteCount {
				out = append(out, src)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// TestOpenSSH2kByLine checks how every line of the log is classified.
func TestOpenSSH2kByLine(t *testing.T) {
	f, err := os.Open(openSSH2k)
	if os.IsNotExist(err) {
		t.Skipf("%s absent", openSSH2k)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := NewParser(Options{Now: func() time.Time { return time.Date(2018, 1, 15, 0, 0, 0, 0, time.UTC) }, Location: time.UTC})
	kinds := map[Kind]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		r, err := p.Parse(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		kinds[r.Kind]++
	}
	// Counted with grep on the raw file.
	want := map[Kind]int{
		KindFailedAuth:       524, // 518 "Failed password", 4 "Failed none", 2 "message repeated"
		KindAccepted:         1,
		KindInvalidUser:      113,
		KindPAMFailure:       494,
		KindPAMMoreFailures:  10,
		KindTooManyFailures:  3,
		KindNoIdentification: 10,
		KindConnectionClosed: 34,
		KindDisconnected:     468, // 421 "Received disconnect", 47 "error: Received disconnect"
		KindOther:            343,
	}
	if d := cmp.Diff(want, kinds); d != "" {
		t.Errorf("kinds (-grep +parser):\n%s", d)
	}
}
