package sim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/moatsec/moat/internal/client"
	"github.com/moatsec/moat/internal/device"
	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/internal/store"
)

// TagKey tags every simulated device with the run's prefix, so that they can
// be listed (moat device list --tag moat-sim) and removed.
const TagKey = "moat-sim"

// identity is a simulated device's ID and its freshly generated key.
type identity struct{ id, key string }

// ensureHub creates the hub unless it exists.
func ensureHub(ctx context.Context, admin *client.Client, name string, partitions int) error {
	_, err := admin.GetHub(ctx, name)
	var ce *client.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce) && ce.Status == http.StatusNotFound:
		if _, err := admin.PutHub(ctx, name, hub.HubSpec{Partitions: partitions}); err != nil {
			return fmt.Errorf("sim: create hub %s: %w", name, err)
		}
		return nil
	}
	return fmt.Errorf("sim: hub %s: %w", name, err)
}

// register imports the run's devices with new keys in one bulk import. A
// device that exists is replaced: it gets the new primary key, moves to
// the hub if it was elsewhere and is enabled (released from a quarantine a
// previous run or the center left it in). It returns the identities and how
// many of them existed before.
func register(ctx context.Context, admin *client.Client, o Options) ([]identity, int, error) {
	ids := make([]identity, o.Devices)
	var jsonl bytes.Buffer
	enc := json.NewEncoder(&jsonl)
	for i := range ids {
		k := make([]byte, 32)
		_, _ = rand.Read(k)
		ids[i] = identity{id: deviceID(o.Prefix, i+1, o.Devices), key: base64.StdEncoding.EncodeToString(k)}
		row := device.Device{ID: ids[i].id, Spec: device.Spec{Hub: o.Hub, Status: store.DeviceEnabled,
			StatusReason: "moat sim", Tags: map[string]string{TagKey: o.Prefix}, PrimaryKey: ids[i].key}}
		if err := enc.Encode(row); err != nil {
			return nil, 0, err
		}
	}
	existing, err := countExisting(ctx, admin, o.Prefix, ids)
	if err != nil {
		return nil, 0, err
	}
	n, err := admin.ImportDevices(ctx, device.FormatJSONL, &jsonl)
	if err != nil {
		return nil, 0, fmt.Errorf("sim: import %d devices: %w", o.Devices, err)
	}
	if n != o.Devices {
		return nil, 0, fmt.Errorf("sim: imported %d devices of %d", n, o.Devices)
	}
	return ids, existing, nil
}

// countExisting counts the run's devices that are registered already,
// listing the registry from PREFIX- up to the run's last ID (IDs are
// zero-padded, so their order is their number's).
func countExisting(ctx context.Context, admin *client.Client, prefix string, ids []identity) (int, error) {
	want := make(map[string]bool, len(ids))
	for _, d := range ids {
		want[d.id] = true
	}
	last := ids[len(ids)-1].id
	n := 0
	after := prefix + "-"
	for {
		page, err := admin.ListDevices(ctx, device.Filter{After: after, Limit: device.MaxPageSize})
		if err != nil {
			return 0, fmt.Errorf("sim: list devices: %w", err)
		}
		for _, d := range page.Devices {
			if d.ID > last || !strings.HasPrefix(d.ID, prefix+"-") {
				return n, nil
			}
			if want[d.ID] {
				n++
			}
		}
		if page.Next == "" || len(page.Devices) == 0 {
			return n, nil
		}
		after = page.Next
	}
}
