package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moatsec/moat/internal/center"
)

func FuzzParse(f *testing.F) {
	f.Add([]byte(okThreshold))
	f.Add([]byte(builtinSrc))
	files, _ := filepath.Glob("builtin/*.yaml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("id: &a x\nb: *a\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("---\n---\n- 1\n"))
	f.Add([]byte("id: x\nseverity: Low\nkind: match\nmatch: {any: [{any: [{any: [{name: Login}]}]}]}\n"))
	f.Add([]byte("id: x\nenabled: false\n"))
	ev := &center.Event{Source: "agent", Name: "Login", Fields: map[string]string{"Result": "Fail", "GroupNames": "a,b"}}
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := Parse("fuzz.yaml", data)
		if err != nil {
			if rs != nil {
				t.Fatal("rules with an error")
			}
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("error without the file: %v", err)
			}
			return
		}
		for _, r := range rs {
			if !idPattern.MatchString(r.ID) {
				t.Fatalf("accepted id %q", r.ID)
			}
			if r.Kind == "" {
				if r.Enabled {
					t.Fatal("enabled stub")
				}
				continue
			}
			if center.SeverityRank(r.Severity) < 0 || r.MaxAlertsPerMinute < 1 {
				t.Fatalf("accepted %+v", r)
			}
			r.Match.Match(ev)
			for _, st := range r.Steps {
				st.Match.Match(ev)
			}
			_ = r.StateKey()
		}
		_, _ = NewSet(nil, rs)
	})
}
