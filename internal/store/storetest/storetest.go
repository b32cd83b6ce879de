// Package storetest is the conformance suite for store.Store backends. Every
// backend runs it, so a behaviour checked here is one callers may rely on
// whichever database is configured.
package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/moatsec/moat/internal/store"
)

// Run runs the conformance suite. open must return a store over a new, empty
// database, and close it when the test ends (t.Cleanup); closing a store
// twice must be harmless. Tests run in parallel, each on its own database.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"PutHub", testPutHub},
		{"HubNotFound", testHubNotFound},
		{"ListHubs", testListHubs},
		{"DeleteHub", testDeleteHub},
		{"DeleteHubCascades", testDeleteHubCascades},
		{"PutRule", testPutRule},
		{"RuleScopes", testRuleScopes},
		{"RuleNotFound", testRuleNotFound},
		{"RuleOnMissingHub", testRuleOnMissingHub},
		{"RuleRights", testRuleRights},
		{"RuleInvalidRights", testRuleInvalidRights},
		{"RuleKeys", testRuleKeys},
		{"ListRules", testListRules},
		{"PutCheckpoint", testPutCheckpoint},
		{"CheckpointNotFound", testCheckpointNotFound},
		{"CheckpointOnMissingHub", testCheckpointOnMissingHub},
		{"ListCheckpoints", testListCheckpoints},
		{"CheckpointSequenceRange", testCheckpointSequenceRange},
		{"PutDevice", testPutDevice},
		{"DeviceNotFound", testDeviceNotFound},
		{"DeviceTags", testDeviceTags},
		{"DeviceOnMissingHub", testDeviceOnMissingHub},
		{"DeviceThumbprint", testDeviceThumbprint},
		{"ListDevicesFilters", testListDevicesFilters},
		{"ListDevicesPaging", testListDevicesPaging},
		{"SetDeviceStatus", testSetDeviceStatus},
		{"DeleteDevice", testDeleteDevice},
		{"DeleteHubWithDevices", testDeleteHubWithDevices},
		{"PutDevices", testPutDevices},
		{"LastSeen", testLastSeen},
		{"Settings", testSettings},
		{"PutSecurityEvents", testPutSecurityEvents},
		{"PutSecurityEventsLarge", testPutSecurityEventsLarge},
		{"ListSecurityEvents", testListSecurityEvents},
		{"SecurityEventsSince", testSecurityEventsSince},
		{"DeleteSecurityEvents", testDeleteSecurityEvents},
		{"TopSecurityEvents", testTopSecurityEvents},
		{"SecurityEventGroups", testSecurityEventGroups},
		{"RaiseAlert", testRaiseAlert},
		{"AlertEvidence", testAlertEvidence},
		{"ConcurrentRaise", testConcurrentRaise},
		{"SetAlertStatus", testSetAlertStatus},
		{"ListAlerts", testListAlerts},
		{"CountAlerts", testCountAlerts},
		{"DeleteClosedAlerts", testDeleteClosedAlerts},
		{"ApplySnapshot", testApplySnapshot},
		{"ApplySnapshots", testApplySnapshots},
		{"AgentSeen", testAgentSeen},
		{"RememberValues", testRememberValues},
		{"DeleteDeviceKeepsHistory", testDeleteDeviceKeepsHistory},
		{"ResponsePolicies", testResponsePolicies},
		{"ResponseActions", testResponseActions},
		{"SecurityContextCanceled", testSecurityContextCanceled},
		{"ConcurrentWriters", testConcurrentWriters},
		{"ConcurrentCreate", testConcurrentCreate},
		{"ConcurrentCreateDelete", testConcurrentCreateDelete},
		{"ContextCanceled", testContextCanceled},
		{"PingClose", testPingClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// ignoreStamps compares records without their timestamps, which the tests
// check separately with checkStamp.
var ignoreStamps = cmp.Options{
	cmpopts.IgnoreFields(store.Hub{}, "CreatedAt", "UpdatedAt"),
	cmpopts.IgnoreFields(store.Rule{}, "CreatedAt", "UpdatedAt"),
	cmpopts.IgnoreFields(store.Checkpoint{}, "UpdatedAt"),
}

// clock brackets a store write: a timestamp the store set during the write
// lies in [start, end], allowing for the store's truncation to microseconds.
type clock struct{ start, end time.Time }

func tick() clock { return clock{start: time.Now()} }

func (c clock) stop() clock {
	c.end = time.Now()
	return c
}

// checkStamp reports a timestamp that is not UTC or was not set during c.
func checkStamp(t *testing.T, what string, got time.Time, c clock) {
	t.Helper()
	if got.Location() != time.UTC {
		t.Errorf("%s = %v: location %v, want UTC", what, got, got.Location())
	}
	if got.Before(c.start.Truncate(time.Microsecond)) || got.After(c.end) {
		t.Errorf("%s = %v, want within [%v, %v]", what, got, c.start, c.end)
	}
}

// wantNotFound reports an error that is not store.ErrNotFound.
func wantNotFound(t *testing.T, op string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("%s: err = %v, want store.ErrNotFound", op, err)
	}
}

// diff reports a difference between want and got, ignoring timestamps and
// nil-versus-empty slices.
func diff(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got, ignoreStamps, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

func putHub(t *testing.T, s store.Store, h store.Hub) (created bool) {
	t.Helper()
	created, err := s.PutHub(t.Context(), h)
	if err != nil {
		t.Fatalf("PutHub(%q): %v", h.Name, err)
	}
	return created
}

func getHub(t *testing.T, s store.Store, name string) store.Hub {
	t.Helper()
	h, err := s.GetHub(t.Context(), name)
	if err != nil {
		t.Fatalf("GetHub(%q): %v", name, err)
	}
	return h
}

func putRule(t *testing.T, s store.Store, r store.Rule) (created bool) {
	t.Helper()
	created, err := s.PutRule(t.Context(), r)
	if err != nil {
		t.Fatalf("PutRule(%q, %q): %v", r.Hub, r.Name, err)
	}
	return created
}

func getRule(t *testing.T, s store.Store, hub, name string) store.Rule {
	t.Helper()
	r, err := s.GetRule(t.Context(), hub, name)
	if err != nil {
		t.Fatalf("GetRule(%q, %q): %v", hub, name, err)
	}
	return r
}

func putCheckpoint(t *testing.T, s store.Store, c store.Checkpoint) {
	t.Helper()
	if err := s.PutCheckpoint(t.Context(), c); err != nil {
		t.Fatalf("PutCheckpoint(%q, %q, %d): %v", c.Hub, c.ConsumerGroup, c.Partition, err)
	}
}

func getCheckpoint(t *testing.T, s store.Store, hub, group string, partition int) store.Checkpoint {
	t.Helper()
	c, err := s.GetCheckpoint(t.Context(), hub, group, partition)
	if err != nil {
		t.Fatalf("GetCheckpoint(%q, %q, %d): %v", hub, group, partition, err)
	}
	return c
}

func listHubs(t *testing.T, s store.Store) []store.Hub {
	t.Helper()
	hubs, err := s.ListHubs(t.Context())
	if err != nil {
		t.Fatalf("ListHubs: %v", err)
	}
	return hubs
}

func listRules(t *testing.T, s store.Store, hub string) []store.Rule {
	t.Helper()
	rules, err := s.ListRules(t.Context(), hub)
	if err != nil {
		t.Fatalf("ListRules(%q): %v", hub, err)
	}
	return rules
}

func listAllRules(t *testing.T, s store.Store) []store.Rule {
	t.Helper()
	rules, err := s.ListAllRules(t.Context())
	if err != nil {
		t.Fatalf("ListAllRules: %v", err)
	}
	return rules
}

func listCheckpoints(t *testing.T, s store.Store, hub, group string) []store.Checkpoint {
	t.Helper()
	cps, err := s.ListCheckpoints(t.Context(), hub, group)
	if err != nil {
		t.Fatalf("ListCheckpoints(%q, %q): %v", hub, group, err)
	}
	return cps
}

// hub returns a valid hub named name.
func hub(name string) store.Hub {
	return store.Hub{Name: name, Partitions: 4, RetentionHours: 24}
}

// rule returns a valid rule with distinct keys.
func rule(hub, name string) store.Rule {
	return store.Rule{
		Hub:          hub,
		Name:         name,
		Rights:       []string{store.RightSend},
		PrimaryKey:   []byte("sealed-primary-" + hub + "/" + name),
		SecondaryKey: []byte("sealed-secondary-" + hub + "/" + name),
	}
}
