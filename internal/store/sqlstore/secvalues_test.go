package sqlstore

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/moatsec/moat/internal/store"
)

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"":                "",
		"plain é ü":       "plain é ü",
		"nul\x00byte":     "nul\uFFFDbyte",
		"bad\xffutf8":     "bad\uFFFDutf8",
		"cut\xc3":         "cut\uFFFD",
		"\x00\xfe\xff":    "\uFFFD\uFFFD",
		"line\nbreak\x01": "line\nbreak\x01",
	} {
		if got := clean(in); got != want {
			t.Errorf("clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCut(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"éééé", 5, "éé"}, // 5 bytes would split the third é
		{"éééé", 6, "ééé"},
		{"a\x00b", 2, "a"}, // cleaned first: a + U+FFFD (3 bytes) does not fit
		{"abc", 0, ""},
	} {
		if got := cut(c.in, c.n); got != c.want {
			t.Errorf("cut(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

func TestEncodeFields(t *testing.T) {
	for _, c := range []struct {
		in   map[string]string
		want string
	}{
		{nil, `{}`},
		{map[string]string{}, `{}`},
		{map[string]string{"b": "2", "a": "1"}, `{"a":"1","b":"2"}`},
		{map[string]string{"q": `say "hi" \ bye`}, `{"q":"say \"hi\" \\ bye"}`},
		{map[string]string{"ctl": "\n\r\t\x01\x1f"}, `{"ctl":"\n\r\t\u0001\u001f"}`},
		{map[string]string{"bad\x00": "\xff"}, `{"bad` + "\uFFFD" + `":"` + "\uFFFD" + `"}`},
		{map[string]string{"html": "<a>&</a>", "u": "é\u2028"}, `{"html":"<a>&</a>","u":"é` + "\u2028" + `"}`},
	} {
		if got := encodeFields(c.in); got != c.want {
			t.Errorf("encodeFields(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

// FuzzEncodeFields checks that encodeFields writes JSON that decodes to the
// cleaned map, whatever the bytes.
func FuzzEncodeFields(f *testing.F) {
	for _, seed := range [][2]string{
		{"RemoteAddress", "10.0.0.1"}, {"", ""}, {"k\x00", "v\xff"}, {`"\`, "\x7f\u2028\U0001F600"},
		{"\xed\xa0\x80", "surrogate"}, {"x", "\x1b[31mred"},
	} {
		f.Add(seed[0], seed[1], "other")
	}
	f.Fuzz(func(t *testing.T, k, v, w string) {
		in := map[string]string{k: v, "other": w}
		enc := encodeFields(in)
		if !utf8.ValidString(enc) || strings.IndexByte(enc, 0) >= 0 {
			t.Fatalf("encodeFields(%q) = %q: not clean text", in, enc)
		}
		got, err := decodeFields(enc)
		if err != nil {
			t.Fatalf("encodeFields(%q) = %q: %v", in, enc, err)
		}
		want := map[string]string{}
		for k, v := range in {
			want[clean(k)] = clean(v)
		}
		if clean(k) == "other" {
			want["other"] = clean(w) // sorted keys: the later duplicate wins on decoding
			if k != "other" {
				return // two keys cleaned into one: either value may win
			}
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("round trip of %q through %s (-want +got):\n%s", in, enc, d)
		}
	})
}

func TestNewIDSortsByTime(t *testing.T) {
	base := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	prev := ""
	for i := range 50 {
		id := newID(base.Add(time.Duration(i) * time.Millisecond))
		if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
			t.Fatalf("newID = %q, want 32 lower-case hex digits", id)
		}
		if id <= prev {
			t.Fatalf("newID at +%dms = %s, not after %s", i, id, prev)
		}
		prev = id
	}
	if a, b := newID(base), newID(base); a == b {
		t.Errorf("two ids of one millisecond are equal: %s", a)
	}
}

func TestBucketStart(t *testing.T) {
	for _, c := range []struct {
		t    time.Time
		b    time.Duration
		want time.Time
	}{
		{time.Date(2026, 5, 1, 12, 34, 56, 0, time.UTC), time.Hour, time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)},
		{time.Date(2026, 5, 1, 12, 34, 56, 0, time.FixedZone("x", 3600)), 24 * time.Hour, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)},
		{time.Unix(0, 0), 7 * time.Minute, time.Unix(0, 0).UTC()},
		{time.Unix(1000, 0), 7 * time.Minute, time.Unix(840, 0).UTC()},
		{time.Unix(-1, 0), time.Minute, time.Unix(-60, 0).UTC()},
		{time.Unix(-60, 0), time.Minute, time.Unix(-60, 0).UTC()},
	} {
		if got := bucketStart(c.t, c.b); !got.Equal(c.want) || got.Location() != time.UTC {
			t.Errorf("bucketStart(%v, %v) = %v, want %v UTC", c.t, c.b, got, c.want)
		}
	}
}

func TestMergeEvidence(t *testing.T) {
	ev := func(ids ...int) []store.AlertEvidence {
		out := []store.AlertEvidence{}
		for _, i := range ids {
			out = append(out, store.AlertEvidence{EventID: fmt.Sprint("e", i)})
		}
		return out
	}
	seq := func(from, to int) []int {
		var out []int
		for i := from; i < to; i++ {
			out = append(out, i)
		}
		return out
	}
	for _, c := range []struct {
		name      string
		old, add  []store.AlertEvidence
		wantIDs   []store.AlertEvidence
		wantCount int
	}{
		{"empty", nil, nil, ev(), 0},
		{"append", ev(1, 2), ev(3), ev(1, 2, 3), 3},
		{"skip repeats", ev(1, 2), ev(2, 3, 3), ev(1, 2, 3), 3},
		{"exactly 20", ev(seq(0, 15)...), ev(seq(15, 20)...), ev(seq(0, 20)...), 20},
		{"first and latest", ev(seq(0, 20)...), ev(seq(20, 25)...), ev(append(seq(0, 10), seq(15, 25)...)...), 20},
		{"large raise", nil, ev(seq(0, 1000)...), ev(append(seq(0, 10), seq(990, 1000)...)...), 20},
	} {
		got := mergeEvidence(c.old, c.add)
		if d := cmp.Diff(c.wantIDs, got); d != "" || len(got) != c.wantCount {
			t.Errorf("%s (-want +got):\n%s", c.name, d)
		}
	}
	// Empty event IDs are never repeats of each other.
	if got := mergeEvidence(nil, []store.AlertEvidence{{Excerpt: "a"}, {Excerpt: "b"}}); len(got) != 2 {
		t.Errorf("evidence without IDs: %d kept, want 2", len(got))
	}
	// Pieces are cleaned and bounded; an out-of-range time becomes zero.
	got := mergeEvidence(nil, []store.AlertEvidence{{EventID: "x\x00", Excerpt: strings.Repeat("a", 5000),
		Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}})
	if got[0].EventID != "x\uFFFD" || len(got[0].Excerpt) != store.MaxEvidenceExcerpt || !got[0].Time.IsZero() {
		t.Errorf("hostile piece kept as %q, %d bytes, %v", got[0].EventID, len(got[0].Excerpt), got[0].Time)
	}
	// The JSON form round-trips.
	back, err := decodeEvidence(encodeEvidence(got))
	if err != nil || !cmp.Equal(back, got) {
		t.Errorf("evidence JSON round trip: %v, %v", back, err)
	}
}

func TestRows(t *testing.T) {
	s := &Store{}
	if got, want := s.rows(2, 3), "($1, $2, $3), ($4, $5, $6)"; got != want {
		t.Errorf("rows = %q, want %q", got, want)
	}
	s.dialect.OrdinalRows = true
	if got, want := s.rows(2, 3), "(?, ?, ?), (?, ?, ?)"; got != want {
		t.Errorf("ordinal rows = %q, want %q", got, want)
	}
}

func TestScanTime(t *testing.T) {
	want := time.Date(2026, 5, 1, 12, 0, 0, 123456000, time.UTC)
	for _, v := range []any{want.In(time.FixedZone("x", 7200)), "2026-05-01 12:00:00.123456+00:00", []byte("2026-05-01 14:00:00.123456+02:00")} {
		got, err := scanTime(v)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("scanTime(%v) = %v, %v; want %v", v, got, err, want)
		}
	}
	if got, err := scanTime(nil); err != nil || !got.IsZero() {
		t.Errorf("scanTime(nil) = %v, %v", got, err)
	}
	for _, bad := range []any{"yesterday", 42} {
		if _, err := scanTime(bad); err == nil {
			t.Errorf("scanTime(%v): err = nil", bad)
		}
	}
	if _, err := json.Marshal(want); err != nil { // evidence times must encode
		t.Fatal(err)
	}
}
