package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/moatsec/moat/internal/device"
	"github.com/moatsec/moat/internal/discovery/geo"
	"github.com/moatsec/moat/internal/hub"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newDeviceCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "device", Short: "Manage the device registry: devices, their keys, policies and quarantine"}
	cmd.AddCommand(newDeviceCreateCmd(g), newDeviceShowCmd(g), newDeviceListCmd(g), newDeviceDeleteCmd(g),
		newDeviceRotateKeyCmd(g), newDeviceQuarantineCmd(g), newDeviceReleaseCmd(g),
		newDeviceImportCmd(g), newDeviceExportCmd(g), newDeviceTokenCmd(g), newDeviceAuditCmd(g), newDeviceAgentConfigCmd(g))
	return cmd
}

// deviceFlags are the flags of device create.
type deviceFlags struct {
	spec        device.Spec
	tags        []string
	networks    []string
	circle      string
	polygon     string
	maxSilence  time.Duration
	tokenTTL    time.Duration
	maintenance bool
	policyFile  string
}

func newDeviceCreateCmd(g *globals) *cobra.Command {
	var f deviceFlags
	cmd := &cobra.Command{
		Use:   "create ID --hub HUB",
		Short: "Register a device (or replace it: keys, status and reason left out are kept)",
		Long: `Register a device, or replace an existing one. The ID is the publisher the
device sends as in its hub. Keys left out are generated (or kept, for an
existing device), except that a device with --thumbprint and no key
authenticates with its certificate only. --policy-file gives a whole policy as
JSON; the policy flags given on the command line override its fields.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, err := f.build(cmd.Flags())
			if err != nil {
				return err
			}
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			d, err := c.PutDevice(cmd.Context(), args[0], device.Device{Spec: spec})
			if err != nil {
				return err
			}
			return g.print(d, func(w *tabwriter.Writer) { deviceTable(w, d) })
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.spec.Hub, "hub", "", "hub the device sends to (required)")
	fl.StringVar(&f.spec.Status, "status", "", "enabled, disabled, quarantined or needs_maintenance (default: enabled, or kept)")
	fl.StringVar(&f.spec.StatusReason, "reason", "", "why the status is set")
	fl.StringArrayVar(&f.tags, "tag", nil, "tag KEY=VALUE (repeatable)")
	fl.StringVar(&f.spec.PrimaryKey, "key", "", "primary key: base64 of 16-64 bytes (default: generated)")
	fl.StringVar(&f.spec.SecondaryKey, "secondary-key", "", "secondary key: base64 of 16-64 bytes (default: generated)")
	fl.StringVar(&f.spec.CertThumbprint, "thumbprint", "", "SHA-256 thumbprint of the device's client certificate (64 hex digits)")
	fl.StringArrayVar(&f.networks, "allowed-network", nil, "network token requests may come from, CIDR or address (repeatable)")
	fl.StringVar(&f.circle, "circle", "", "geofence circle: LAT,LON,RADIUS_METERS")
	fl.StringVar(&f.polygon, "polygon", "", `geofence polygon: "LAT LON;LAT LON;…" (at least 3 vertices)`)
	fl.DurationVar(&f.maxSilence, "max-silence", 0, "longest silence before the device needs maintenance (0 = unchecked)")
	fl.DurationVar(&f.tokenTTL, "token-ttl", 0, "lifetime of the device's tokens (default 5m)")
	fl.BoolVar(&f.maintenance, "maintenance-mode", false, "suspend the silence check")
	fl.StringVar(&f.policyFile, "policy-file", "", "JSON file with the whole policy")
	_ = cmd.MarkFlagRequired("hub")
	cmd.MarkFlagsMutuallyExclusive("circle", "polygon")
	return cmd
}

// build assembles the device spec from the flags: the policy file first,
// then each policy flag given on the command line.
func (f *deviceFlags) build(fl *pflag.FlagSet) (device.Spec, error) {
	spec := f.spec
	if f.policyFile != "" {
		b, err := os.ReadFile(f.policyFile)
		if err != nil {
			return device.Spec{}, fmt.Errorf("--policy-file: %w", err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&spec.Policy); err != nil {
			return device.Spec{}, fmt.Errorf("--policy-file %s: %w", f.policyFile, err)
		}
	}
	for _, kv := range f.tags {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return device.Spec{}, fmt.Errorf("--tag %q: want KEY=VALUE", kv)
		}
		if spec.Tags == nil {
			spec.Tags = map[string]string{}
		}
		spec.Tags[k] = v
	}
	p := &spec.Policy
	if fl.Changed("allowed-network") {
		p.AllowedNetworks = f.networks
	}
	var err error
	switch {
	case fl.Changed("circle"):
		p.Geofence, err = parseCircle(f.circle)
	case fl.Changed("polygon"):
		p.Geofence, err = parsePolygon(f.polygon)
	}
	if err != nil {
		return device.Spec{}, err
	}
	if fl.Changed("max-silence") {
		p.MaxSilence = device.Duration(f.maxSilence)
	}
	if fl.Changed("token-ttl") {
		p.TokenTTL = device.Duration(f.tokenTTL)
	}
	if fl.Changed("maintenance-mode") {
		p.MaintenanceMode = f.maintenance
	}
	return spec, nil
}

// parseCircle reads "LAT,LON,RADIUS".
func parseCircle(s string) (*geo.Fence, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return nil, fmt.Errorf("--circle %q: want LAT,LON,RADIUS_METERS", s)
	}
	v, err := parseFloats(parts)
	if err != nil {
		return nil, fmt.Errorf("--circle %q: %w", s, err)
	}
	return &geo.Fence{Circle: &geo.Circle{Center: geo.Point{Lat: v[0], Lon: v[1]}, RadiusMeters: v[2]}}, nil
}

// parsePolygon reads "LAT LON;LAT LON;…".
func parsePolygon(s string) (*geo.Fence, error) {
	var poly []geo.Point
	for _, vertex := range strings.Split(s, ";") {
		v, err := parseFloats(strings.Fields(vertex))
		if err != nil || len(v) != 2 {
			return nil, fmt.Errorf("--polygon: vertex %q: want LAT LON", strings.TrimSpace(vertex))
		}
		poly = append(poly, geo.Point{Lat: v[0], Lon: v[1]})
	}
	return &geo.Fence{Polygon: poly}, nil
}

func parseFloats(ss []string) ([]float64, error) {
	out := make([]float64, len(ss))
	for i, s := range ss {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", s)
		}
		out[i] = v
	}
	return out, nil
}

func newDeviceShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "show ID", Short: "Show a device with its keys", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			d, err := c.GetDevice(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.print(d, func(w *tabwriter.Writer) { deviceTable(w, d) })
		},
	}
}

func newDeviceListCmd(g *globals) *cobra.Command {
	var (
		f   device.Filter
		tag string
		all bool
	)
	cmd := &cobra.Command{
		Use: "list", Short: "List devices (without keys), one page or --all", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.TagKey, f.TagValue, _ = strings.Cut(tag, "=")
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			var out device.Page
			for {
				p, err := c.ListDevices(cmd.Context(), f)
				if err != nil {
					return err
				}
				out.Devices, out.Next = append(out.Devices, p.Devices...), p.Next
				if !all || p.Next == "" {
					break
				}
				f.After = p.Next
			}
			if out.Devices == nil {
				out.Devices = []device.Device{}
			}
			return g.print(out, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "ID\tHUB\tSTATUS\tTAGS\tUPDATED")
				for _, d := range out.Devices {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", d.ID, d.Hub, d.Status, device.FormatTags(d.Tags), d.UpdatedAt.Format(time.RFC3339))
				}
				if out.Next != "" {
					fmt.Fprintf(w, "(more: --after %s, or --all)\n", out.Next)
				}
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Status, "status", "", "only devices with this status")
	fl.StringVar(&f.Hub, "hub", "", "only devices of this hub")
	fl.StringVar(&tag, "tag", "", "only devices with tag KEY, or KEY=VALUE")
	fl.StringVar(&f.After, "after", "", "start after this device ID (the next of the previous page)")
	fl.IntVar(&f.Limit, "limit", device.DefaultPageSize, fmt.Sprintf("devices per page (1-%d)", device.MaxPageSize))
	fl.BoolVar(&all, "all", false, "follow the pages to the end")
	return cmd
}

func newDeviceDeleteCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "delete ID", Short: "Delete a device (a revoked publisher stays revoked)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			return c.DeleteDevice(cmd.Context(), args[0])
		},
	}
}

func newDeviceRotateKeyCmd(g *globals) *cobra.Command {
	var which string
	cmd := &cobra.Command{
		Use: "rotate-key ID", Short: "Replace a device's primary or secondary key", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kt, err := keyType(which)
			if err != nil {
				return err
			}
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			d, err := c.RotateDeviceKey(cmd.Context(), args[0], kt)
			if err != nil {
				return err
			}
			return g.print(d, func(w *tabwriter.Writer) { deviceTable(w, d) })
		},
	}
	cmd.Flags().StringVar(&which, "key", "primary", "which key: primary or secondary")
	return cmd
}

// keyType reads a --key flag: primary or secondary.
func keyType(which string) (hub.KeyType, error) {
	switch strings.ToLower(which) {
	case "primary", "primarykey":
		return hub.PrimaryKey, nil
	case "secondary", "secondarykey":
		return hub.SecondaryKey, nil
	}
	return "", fmt.Errorf("--key %q: want primary or secondary", which)
}

func newDeviceQuarantineCmd(g *globals) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use: "quarantine ID", Short: "Quarantine a device: its publisher is revoked at once", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			d, err := c.QuarantineDevice(cmd.Context(), args[0], reason)
			if err != nil {
				return err
			}
			return g.print(d, func(w *tabwriter.Writer) { deviceTable(w, d) })
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the device is quarantined")
	return cmd
}

func newDeviceReleaseCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "release ID", Short: "End a device's quarantine: it is enabled and its publisher restored", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			d, err := c.ReleaseDevice(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.print(d, func(w *tabwriter.Writer) { deviceTable(w, d) })
		},
	}
}

func deviceTable(w *tabwriter.Writer, d device.Device) {
	fmt.Fprintf(w, "id:\t%s\nhub:\t%s\nstatus:\t%s\n", d.ID, d.Hub, d.Status)
	for _, kv := range [][2]string{
		{"statusReason", d.StatusReason}, {"tags", device.FormatTags(d.Tags)}, {"certThumbprint", d.CertThumbprint},
		{"primaryKey", d.PrimaryKey}, {"secondaryKey", d.SecondaryKey},
	} {
		if kv[1] != "" {
			fmt.Fprintf(w, "%s:\t%s\n", kv[0], kv[1])
		}
	}
	if pol, err := json.Marshal(d.Policy); err == nil {
		fmt.Fprintf(w, "policy:\t%s\n", pol)
	}
	fmt.Fprintf(w, "created:\t%s\nupdated:\t%s\n", d.CreatedAt.Format(time.RFC3339), d.UpdatedAt.Format(time.RFC3339))
}
