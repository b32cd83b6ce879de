package eventlog

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestJournal(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) *Log{
		"embedded": func(t *testing.T) *Log { return openEmbedded(t, t.TempDir()) },
		"external": func(t *testing.T) *Log { return openExternal(t) },
	} {
		t.Run(name, func(t *testing.T) { testJournal(t, open(t)) })
	}
}

func testJournal(t *testing.T, l *Log) {
	ctx := context.Background()
	j, err := l.Journal(ctx, "audit", 2, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Second)
	// Tokens with characters subjects cannot hold round-trip.
	recs := [][2]string{{"issued", "dev.1"}, {"bad_proof", "dev.1"}, {"issued", "dev 2"}, {"issued", "dev.1"}}
	for i, r := range recs {
		if _, err := j.Append(ctx, r[:], fmt.Appendf(nil, "r%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	query := func(filter []string, since time.Time, limit int) []string {
		t.Helper()
		es, err := j.Query(ctx, filter, since, limit)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range es {
			out = append(out, fmt.Sprintf("%s %s/%s", e.Data, e.Tokens[0], e.Tokens[1]))
			if e.Time.Before(before) || e.Sequence == 0 {
				t.Errorf("entry %s: time %v seq %d", e.Data, e.Time, e.Sequence)
			}
		}
		return out
	}
	cases := []struct {
		filter []string
		since  time.Time
		limit  int
		want   []string
	}{
		{[]string{"", ""}, time.Time{}, 10, []string{"r0 issued/dev.1", "r1 bad_proof/dev.1", "r2 issued/dev 2", "r3 issued/dev.1"}},
		{[]string{"", "dev.1"}, time.Time{}, 10, []string{"r0 issued/dev.1", "r1 bad_proof/dev.1", "r3 issued/dev.1"}},
		{[]string{"issued", ""}, before, 2, []string{"r0 issued/dev.1", "r2 issued/dev 2"}},
		{[]string{"nope", ""}, time.Time{}, 10, nil},
		{[]string{"", ""}, time.Now().Add(time.Hour), 10, nil},
	}
	for _, c := range cases {
		if diff := cmp.Diff(c.want, query(c.filter, c.since, c.limit)); diff != "" {
			t.Errorf("query %q since %v limit %d (-want +got):\n%s", c.filter, c.since, c.limit, diff)
		}
	}
	if _, err := j.Append(ctx, []string{"only-one"}, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("wrong token count: %v", err)
	}
}
