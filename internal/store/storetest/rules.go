package storetest

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/moatsec/moat/internal/store"
)

func testPutRule(t *testing.T, s store.Store) {
	putHub(t, s, hub("h"))
	for _, scope := range []string{"", "h"} {
		r := rule(scope, "app")
		c := tick()
		if !putRule(t, s, r) {
			t.Errorf("PutRule(%q, new) created = false, want true", scope)
		}
		c = c.stop()
		first := getRule(t, s, scope, "app")
		diff(t, "GetRule after create", r, first)
		checkStamp(t, "CreatedAt", first.CreatedAt, c)
		if !first.UpdatedAt.Equal(first.CreatedAt) {
			t.Errorf("after create UpdatedAt = %v, want CreatedAt %v", first.UpdatedAt, first.CreatedAt)
		}

		r.Rights = []string{store.RightManage, store.RightSend, store.RightListen}
		r.PrimaryKey, r.SecondaryKey = []byte("rotated-1"), []byte("rotated-2")
		c = tick()
		if putRule(t, s, r) {
			t.Errorf("PutRule(%q, existing) created = true, want false", scope)
		}
		c = c.stop()
		second := getRule(t, s, scope, "app")
		diff(t, "GetRule after update", r, second)
		if !second.CreatedAt.Equal(first.CreatedAt) {
			t.Errorf("update changed CreatedAt from %v to %v", first.CreatedAt, second.CreatedAt)
		}
		checkStamp(t, "UpdatedAt", second.UpdatedAt, c)
	}
}

// testRuleScopes checks that one name in the namespace and in two hubs makes
// three independent rules.
func testRuleScopes(t *testing.T, s store.Store) {
	putHub(t, s, hub("h1"))
	putHub(t, s, hub("h2"))
	for _, scope := range []string{"", "h1", "h2"} {
		if !putRule(t, s, rule(scope, "same")) {
			t.Errorf("PutRule(%q, same) created = false, want true", scope)
		}
	}
	for _, scope := range []string{"", "h1", "h2"} {
		diff(t, "GetRule", rule(scope, "same"), getRule(t, s, scope, "same"))
	}
	if err := s.DeleteRule(t.Context(), "h1", "same"); err != nil {
		t.Fatalf("DeleteRule: %v", err)
	}
	want := []store.Rule{rule("", "same"), rule("h2", "same")}
	diff(t, "ListAllRules after deleting one scope's rule", want, listAllRules(t, s))
}

func testRuleNotFound(t *testing.T, s store.Store) {
	putHub(t, s, hub("h"))
	putRule(t, s, rule("h", "r"))
	for _, k := range []struct{ hub, name string }{
		{"", "r"},       // exists in another scope only
		{"h", "absent"}, // absent in an existing hub
		{"nohub", "r"},  // absent hub
		{"h", "R"},      // names are not case-folded
	} {
		_, err := s.GetRule(t.Context(), k.hub, k.name)
		wantNotFound(t, "GetRule("+k.hub+", "+k.name+")", err)
		wantNotFound(t, "DeleteRule("+k.hub+", "+k.name+")", s.DeleteRule(t.Context(), k.hub, k.name))
	}
	if err := s.DeleteRule(t.Context(), "h", "r"); err != nil {
		t.Fatalf("DeleteRule: %v", err)
	}
	_, err := s.GetRule(t.Context(), "h", "r")
	wantNotFound(t, "GetRule after DeleteRule", err)
	wantNotFound(t, "second DeleteRule", s.DeleteRule(t.Context(), "h", "r"))
}

func testRuleOnMissingHub(t *testing.T, s store.Store) {
	r := rule("nohub", "r")
	r.PrimaryKey = []byte("PRIMARY-KEY-MATERIAL")
	r.SecondaryKey = []byte("SECONDARY-KEY-MATERIAL")
	created, err := s.PutRule(t.Context(), r)
	wantNotFound(t, "PutRule on a missing hub", err)
	if created {
		t.Error("PutRule on a missing hub: created = true")
	}
	if err != nil && strings.Contains(err.Error(), "KEY-MATERIAL") {
		t.Errorf("error reveals key material: %v", err)
	}
	diff(t, "ListAllRules", []store.Rule{}, listAllRules(t, s))

	putHub(t, s, hub("nohub"))
	if !putRule(t, s, r) {
		t.Error("PutRule once the hub exists: created = false, want true")
	}
}

func testRuleRights(t *testing.T, s store.Store) {
	for _, tc := range []struct {
		name string
		in   []string
		want []string
	}{
		{"nil", nil, []string{}},
		{"empty", []string{}, []string{}},
		{"one", []string{store.RightListen}, []string{store.RightListen}},
		{"reordered", []string{"Listen", "Send", "Manage"}, []string{"Manage", "Send", "Listen"}},
		{"duplicates", []string{"Send", "Listen", "Send"}, []string{"Send", "Listen"}},
		{"case", []string{"listen", "MANAGE"}, []string{"Manage", "Listen"}},
	} {
		r := rule("", tc.name)
		r.Rights = tc.in
		putRule(t, s, r)
		diff(t, "Rights of rule "+tc.name, tc.want, getRule(t, s, "", tc.name).Rights)
	}
}

func testRuleInvalidRights(t *testing.T, s store.Store) {
	putRule(t, s, rule("", "r"))
	for _, rights := range [][]string{{"Read"}, {"Send", ""}, {"Send,Listen"}} {
		bad := rule("", "r")
		bad.Rights = rights
		bad.PrimaryKey = []byte("other")
		_, err := s.PutRule(t.Context(), bad)
		if err == nil || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
			t.Errorf("PutRule with rights %q: err = %v, want a validation error", rights, err)
		}
		bad.Name = "new"
		if _, err := s.PutRule(t.Context(), bad); err == nil {
			t.Errorf("PutRule (new) with rights %q: err = nil, want a validation error", rights)
		}
	}
	diff(t, "rules after rejected writes", []store.Rule{rule("", "r")}, listAllRules(t, s))
}

func testRuleKeys(t *testing.T, s store.Store) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	for _, tc := range []struct {
		name               string
		primary, secondary []byte
	}{
		{"zeros", []byte{0, 0, 0}, []byte{0}},
		{"every-byte", all, bytes.Repeat([]byte{0xff, 0x00}, 64)},
		{"embedded-zero", []byte("a\x00b"), []byte("\x00tail")},
		{"large", bytes.Repeat(all, 64), []byte{1}},
		{"nil", nil, nil},
		{"empty", []byte{}, []byte{}},
	} {
		r := store.Rule{Name: tc.name, PrimaryKey: tc.primary, SecondaryKey: tc.secondary}
		putRule(t, s, r)
		got := getRule(t, s, "", tc.name)
		if !bytes.Equal(got.PrimaryKey, tc.primary) || !bytes.Equal(got.SecondaryKey, tc.secondary) {
			t.Errorf("%s: keys did not round-trip: got %x / %x, want %x / %x",
				tc.name, got.PrimaryKey, got.SecondaryKey, tc.primary, tc.secondary)
		}
	}
}

func testListRules(t *testing.T, s store.Store) {
	diff(t, "ListAllRules of an empty store", []store.Rule{}, listAllRules(t, s))
	diff(t, "ListRules of the empty namespace", []store.Rule{}, listRules(t, s, ""))
	diff(t, "ListRules of a missing hub", []store.Rule{}, listRules(t, s, "nohub"))

	putHub(t, s, hub("b"))
	putHub(t, s, hub("a-b"))
	putHub(t, s, hub("ab"))
	// Inserted out of order; names sort bytewise.
	for _, k := range [][2]string{
		{"b", "z"}, {"", "listen"}, {"ab", "x"}, {"b", "a"}, {"a-b", "x"},
		{"", "Manage"}, {"b", "a_b"}, {"b", "a-b"}, {"", "all"},
	} {
		putRule(t, s, rule(k[0], k[1]))
	}
	diff(t, "ListRules(namespace)",
		[]store.Rule{rule("", "Manage"), rule("", "all"), rule("", "listen")},
		listRules(t, s, ""))
	diff(t, "ListRules(b)",
		[]store.Rule{rule("b", "a"), rule("b", "a-b"), rule("b", "a_b"), rule("b", "z")},
		listRules(t, s, "b"))
	diff(t, "ListAllRules", []store.Rule{
		rule("", "Manage"), rule("", "all"), rule("", "listen"),
		rule("a-b", "x"), rule("ab", "x"),
		rule("b", "a"), rule("b", "a-b"), rule("b", "a_b"), rule("b", "z"),
	}, listAllRules(t, s))
}
