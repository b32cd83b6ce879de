package posture

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestScores(t *testing.T) {
	rec := func(id, sev string, devices ...string) Recommendation {
		r := Recommendation{ID: id, Severity: sev}
		for _, d := range devices {
			r.Devices = append(r.Devices, Affected{Device: d})
		}
		return r
	}
	in := Input{Devices: []Device{{ID: "clean"}, {ID: "h1"}, {ID: "mix"}, {ID: "floor"}, {ID: "info"}}}
	recs := []Recommendation{
		rec("a", "High", "h1", "mix", "floor"),
		rec("b", "Medium", "mix", "floor"),
		rec("c", "Low", "mix", "floor"),
		rec("d", "High", "floor"),
		rec("e", "High", "floor"),
		rec("f", "High", "floor"),
		rec("g", "Informational", "info", "mix"),
		rec("h", "Medium", "mix", "mix"), // a device listed twice counts once
		rec("i", "Bogus", "mix"),         // unknown severity: no points, no count
		rec("j", "Low", "gone"),          // not registered: still scored
	}
	want := map[string]Score{
		"clean": {Score: 100},
		"h1":    {Score: 75, Failed: Counts{High: 1}},
		"mix":   {Score: 100 - 25 - 10 - 5 - 10, Failed: Counts{High: 1, Medium: 2, Low: 1, Informational: 1}},
		"floor": {Score: 0, Failed: Counts{High: 4, Medium: 1, Low: 1}},
		"info":  {Score: 100, Failed: Counts{Informational: 1}},
		"gone":  {Score: 95, Failed: Counts{Low: 1}},
	}
	if diff := cmp.Diff(want, Scores(in, recs)); diff != "" {
		t.Errorf("scores (-want +got):\n%s", diff)
	}
}
