package center_test

import (
	"context"
	"testing"
	"time"

	"github.com/moatsec/moat/internal/client"
	"github.com/moatsec/moat/internal/device"
	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/internal/moattest"
	"github.com/moatsec/moat/secmsg"
)

// TestDeletedDeviceStartsANewBaseline: a device's new listening port is
// reported; deleted and registered again, the device learns a new
// baseline from its first snapshot, and the same port, added again, is new
// again (the center's memory of the baseline forgets the deleted device).
func TestDeletedDeviceStartsANewBaseline(t *testing.T) {
	s := moattest.Start(t, moattest.Options{})
	ctx := context.Background()
	c := s.Client
	if _, err := c.PutHub(ctx, "fleet", hub.HubSpec{Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	register := func() {
		t.Helper()
		if _, err := c.PutDevice(ctx, "dev-1", device.Device{Spec: device.Spec{Hub: "fleet"}}); err != nil {
			t.Fatal(err)
		}
	}
	send := func(mode string, ports ...int) {
		t.Helper()
		items := make([]secmsg.Item, len(ports))
		for i, p := range ports {
			items[i] = secmsg.ListeningPort{Protocol: "tcp", LocalAddress: "0.0.0.0", LocalPort: p}
			if mode == secmsg.SnapshotDiff {
				items[i] = secmsg.ListeningPort{Protocol: "tcp", LocalAddress: "0.0.0.0", LocalPort: p, Change: secmsg.ChangeAdded}
			}
		}
		ev := secmsg.NewEvent(secmsg.NameListeningPorts, time.Now(), items...)
		ev.SnapshotMode = mode
		body, err := secmsg.NewMessage("test", secmsg.NewID(), ev).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Send(ctx, client.Target{Hub: "fleet", Publisher: "dev-1"},
			client.Event{Body: body, Properties: map[string]any{hub.SecurityProperty: hub.SecurityMarker}}); err != nil {
			t.Fatal(err)
		}
	}
	openAlert := func() (id string) {
		page, err := c.Alerts(ctx, client.AlertFilter{Rule: "new-listening-port", Device: "dev-1", Status: "open"})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Alerts) == 1 {
			return page.Alerts[0].ID
		}
		return ""
	}

	register()
	send(secmsg.SnapshotFull, 22)
	send(secmsg.SnapshotDiff, 8080)
	var first string
	waitFor(t, "a new-port alert", func() bool { first = openAlert(); return first != "" })
	if _, err := c.SetAlertStatus(ctx, first, "resolve", "closed the port"); err != nil {
		t.Fatal(err)
	}

	if err := c.DeleteDevice(ctx, "dev-1"); err != nil {
		t.Fatal(err)
	}
	register()
	send(secmsg.SnapshotFull, 22) // learned, not reported
	send(secmsg.SnapshotDiff, 8080)
	var second string
	waitFor(t, "a new-port alert for the device registered again", func() bool { second = openAlert(); return second != "" })
	if second == first {
		t.Fatalf("the resolved alert %s came back", first)
	}
	// Exactly that one: port 22 of the first snapshot was learned.
	page, err := c.Alerts(ctx, client.AlertFilter{Rule: "new-listening-port", Device: "dev-1", Status: "open"})
	if err != nil || len(page.Alerts) != 1 || page.Alerts[0].Key != "tcp|8080" {
		t.Fatalf("open new-port alerts: %+v, %v", page.Alerts, err)
	}
}
