package agentconf

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDefaultsAreValid(t *testing.T) {
	if err := Defaults().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, name := range SnapshotEvents {
		if Defaults().SnapshotIntervals[name] == 0 {
			t.Errorf("no default snapshot interval for %s", name)
		}
	}
	for _, names := range [][]string{SnapshotEvents, TriggeredEvents, OperationalEvents} {
		for _, n := range names {
			if _, ok := Defaults().EventPriorities[n]; !ok {
				t.Errorf("no default priority for %s", n)
			}
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, in string
		want     Config
		field    string // expected *Error field; "" = valid
	}{
		{"empty", `{}`, Config{}, ""},
		{"intervals", `{"highPriorityInterval":"5s","lowPriorityInterval":"1h"}`,
			Config{HighPriorityInterval: Duration(5 * time.Second), LowPriorityInterval: Duration(time.Hour)}, ""},
		{"priorities", `{"eventPriorities":{"ProcessCreate":"Off","Login":"High"}}`,
			Config{EventPriorities: map[string]Priority{"ProcessCreate": Off, "Login": High}}, ""},
		{"snapshots", `{"snapshotIntervals":{"ListeningPorts":"30s"}}`,
			Config{SnapshotIntervals: map[string]Duration{"ListeningPorts": Duration(30 * time.Second)}}, ""},
		{"unknown field", `{"lowPriority":"1m"}`, Config{}, "(body)"},
		{"bad duration", `{"lowPriorityInterval":"often"}`, Config{}, "(body)"},
		{"number duration", `{"lowPriorityInterval":60}`, Config{}, "(body)"},
		{"trailing data", `{} {}`, Config{}, "(body)"},
		{"high too short", `{"highPriorityInterval":"100ms"}`, Config{}, "highPriorityInterval"},
		{"high above low", `{"highPriorityInterval":"1h","lowPriorityInterval":"1m"}`, Config{}, "highPriorityInterval"},
		{"low too long", `{"lowPriorityInterval":"48h"}`, Config{}, "lowPriorityInterval"},
		{"full too short", `{"fullSnapshotInterval":"1m"}`, Config{}, "fullSnapshotInterval"},
		{"snapshot of a triggered event", `{"snapshotIntervals":{"Login":"1m"}}`, Config{}, "snapshotIntervals.Login"},
		{"snapshot interval zero", `{"snapshotIntervals":{"LocalUsers":"0s"}}`, Config{}, "snapshotIntervals.LocalUsers"},
		{"unknown event", `{"eventPriorities":{"Telnet":"High"}}`, Config{}, "eventPriorities.Telnet"},
		{"bad priority", `{"eventPriorities":{"Login":"urgent"}}`, Config{}, "eventPriorities.Login"},
		{"message too small", `{"maxMessageSize":100}`, Config{}, "maxMessageSize"},
		{"cache too big", `{"cacheSize":2147483648}`, Config{}, "cacheSize"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.in))
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
				return
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.Field != tc.field {
				t.Fatalf("Parse(%s): err = %v, want an *Error on %s", tc.in, err, tc.field)
			}
		})
	}
}

func TestEffectiveLayers(t *testing.T) {
	fleet := Config{LowPriorityInterval: Duration(time.Hour), EventPriorities: map[string]Priority{"ProcessCreate": Off, "Login": Low}}
	device := Config{EventPriorities: map[string]Priority{"Login": High}, MaxMessageSize: 8192}
	got := Effective(fleet, device)
	if got.LowPriorityInterval.D() != time.Hour || got.MaxMessageSize != 8192 || got.HighPriorityInterval.D() != 10*time.Second {
		t.Errorf("scalars: %+v", got)
	}
	for ev, want := range map[string]Priority{"ProcessCreate": Off, "Login": High, "ListeningPorts": High, "OSBaseline": Low} {
		if p := got.PriorityOf(ev); p != want {
			t.Errorf("priority of %s = %s, want %s", ev, p, want)
		}
	}
	if Defaults().EventPriorities["ProcessCreate"] != Low {
		t.Error("Effective changed the defaults' map")
	}
	if err := got.Validate(); err != nil {
		t.Errorf("effective config invalid: %v", err)
	}
	// A device that only lowers the low interval below the fleet's high one
	// gets its high interval clamped.
	clamped := Effective(Config{HighPriorityInterval: Duration(time.Minute)}, Config{LowPriorityInterval: Duration(30 * time.Second)})
	if clamped.HighPriorityInterval != clamped.LowPriorityInterval {
		t.Errorf("high %s not clamped to low %s", clamped.HighPriorityInterval.D(), clamped.LowPriorityInterval.D())
	}
}

func TestVersionChangesWithContent(t *testing.T) {
	a := Effective(Config{}, Config{})
	b := Effective(Config{}, Config{})
	if a.Version() != b.Version() {
		t.Fatal("equal configurations have different versions")
	}
	c := Effective(Config{}, Config{EventPriorities: map[string]Priority{"Login": Low}})
	if a.Version() == c.Version() {
		t.Fatal("a changed priority kept the version")
	}
	if len(a.Version()) != 16 || strings.Trim(a.Version(), "0123456789abcdef") != "" {
		t.Errorf("version %q is not 16 hex digits", a.Version())
	}
}

// TestResyncLayers: a fleet-wide resync is not hidden by an older one of the
// device, and either changing changes the effective word.
func TestResyncLayers(t *testing.T) {
	dev := Config{Resync: "d1"}
	a := Effective(Config{Resync: "f1"}, dev)
	b := Effective(Config{Resync: "f2"}, dev)
	c := Effective(Config{Resync: "f2"}, Config{Resync: "d2"})
	if a.Resync == b.Resync || b.Resync == c.Resync || a.Resync == "" {
		t.Errorf("resync words %q %q %q: each change must change the effective word", a.Resync, b.Resync, c.Resync)
	}
	if got := Effective(Config{}, dev).Resync; got != "d1" {
		t.Errorf("device only: %q", got)
	}
}
