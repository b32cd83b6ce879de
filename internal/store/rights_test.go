package store

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNormalizeRights(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want []string
	}{
		{nil, []string{}},
		{[]string{}, []string{}},
		{[]string{"Send"}, []string{"Send"}},
		{[]string{"Listen", "Send", "Manage"}, []string{"Manage", "Send", "Listen"}},
		{[]string{"listen", "LISTEN", "send"}, []string{"Send", "Listen"}},
	} {
		got, err := NormalizeRights(tc.in)
		if err != nil {
			t.Errorf("NormalizeRights(%q): %v", tc.in, err)
			continue
		}
		if got == nil {
			t.Errorf("NormalizeRights(%q) = nil, want non-nil", tc.in)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("NormalizeRights(%q) mismatch (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestNormalizeRightsRejectsUnknown(t *testing.T) {
	for _, in := range [][]string{{"Read"}, {"Send", ""}, {"Send,Listen"}, {" Send"}} {
		if got, err := NormalizeRights(in); err == nil {
			t.Errorf("NormalizeRights(%q) = %q, want error", in, got)
		}
	}
}
