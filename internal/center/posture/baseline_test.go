package posture

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/moatsec/moat/internal/center"
	"github.com/moatsec/moat/internal/store"
	"github.com/moatsec/moat/secmsg"
)

func TestBaselineSeverities(t *testing.T) {
	tests := []struct{ check, want string }{
		{secmsg.SeverityCritical, center.SeverityHigh},
		{secmsg.SeverityHigh, center.SeverityHigh},
		{secmsg.SeverityMedium, center.SeverityMedium},
		{secmsg.SeverityLow, center.SeverityLow},
		{secmsg.SeverityInformational, center.SeverityInformational},
		{"Bogus", center.SeverityMedium},
	}
	for _, tc := range tests {
		t.Run(tc.check, func(t *testing.T) {
			recs := Compute(oneDevice(join(dropInput, items(secmsg.NameOSBaseline, check("ssh.x", "Fail", tc.check)))...))
			want := []Recommendation{{ID: "baseline:ssh.x", Title: "check ssh.x",
				Description: "The device fails the OS baseline check ssh.x. Expected: good.",
				Remediation: "fix ssh.x", Severity: tc.want, Devices: []Affected{{"d1", "actual: bad"}}}}
			if diff := cmp.Diff(want, recs); diff != "" {
				t.Errorf("recommendations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBaselineResults(t *testing.T) {
	its := items(secmsg.NameOSBaseline,
		check("a.pass", "Pass", "Critical"),
		check("b.error", "Error", "Critical"),
		check("c.fail", "Fail", "Low"),
		f("CheckId", "", "Result", "Fail", "Severity", "High"), // no id: skipped
		f("CheckId", "d.bare", "Result", "Fail", "Severity", "High"))
	recs := Compute(oneDevice(join(dropInput, its)...))
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.ID)
	}
	if diff := cmp.Diff([]string{"baseline:d.bare", "baseline:c.fail"}, ids); diff != "" {
		t.Errorf("IDs (-want +got):\n%s", diff)
	}
	bare, _ := find(recs, "baseline:d.bare")
	if bare.Title != "OS baseline check d.bare" || bare.Remediation == "" || bare.Devices[0].Detail != "" {
		t.Errorf("a check without texts: %+v", bare)
	}
}

// TestBaselineAcrossDevices: one recommendation per check, every failing
// device in it, texts from the first device, the highest severity.
func TestBaselineAcrossDevices(t *testing.T) {
	c1 := check("ssh.root", "Fail", "Medium")
	c3 := check("ssh.root", "Fail", "Critical")
	c3["Remediation"], c3["Actual"] = "other text", "worse"
	in := Input{Now: now, Devices: []Device{{ID: "d3"}, {ID: "d1"}, {ID: "d2"}}, Items: map[string][]store.DeviceItem{
		"d1": items(secmsg.NameOSBaseline, c1),
		"d2": items(secmsg.NameOSBaseline, check("ssh.root", "Pass", "Medium")),
		"d3": items(secmsg.NameOSBaseline, c3),
	}}
	got, ok := find(Compute(in), "baseline:ssh.root")
	want := Recommendation{ID: "baseline:ssh.root", Title: "check ssh.root",
		Description: "The device fails the OS baseline check ssh.root. Expected: good.", Remediation: "fix ssh.root",
		Severity: center.SeverityHigh, Devices: []Affected{{"d1", "actual: bad"}, {"d3", "actual: worse"}}}
	if diff := cmp.Diff(want, got); !ok || diff != "" {
		t.Errorf("found %v; recommendation (-want +got):\n%s", ok, diff)
	}
}
