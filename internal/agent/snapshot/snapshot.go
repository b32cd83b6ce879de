package snapshot

import (
	"cmp"
	"context"
	"encoding/binary"
	"io/fs"
	"time"

	"github.com/moatsec/moat/internal/agent/snapshot/baseline"
	"github.com/moatsec/moat/internal/agent/snapshot/firewall"
	"github.com/moatsec/moat/internal/agent/snapshot/hostfs"
	"github.com/moatsec/moat/internal/agent/snapshot/ports"
	"github.com/moatsec/moat/internal/agent/snapshot/sysinfo"
	"github.com/moatsec/moat/internal/agent/snapshot/users"
)

// Kind names one kind of snapshot.
type Kind string

// Kinds.
const (
	KindPorts    Kind = "ports"
	KindFirewall Kind = "firewall"
	KindUsers    Kind = "users"
	KindBaseline Kind = "baseline"
	KindSystem   Kind = "sysinfo"
)

// Kinds lists every kind in a fixed order.
func Kinds() []Kind {
	return []Kind{KindSystem, KindPorts, KindFirewall, KindUsers, KindBaseline}
}

// Options configure a Collector. The zero value snapshots the running
// device ("/") and runs nft/iptables-save for the firewall.
type Options struct {
	// Root of the device file system; "" means "/".
	Root string
	// FS, when set, replaces Root (tests use an fstest.MapFS).
	FS fs.FS
	// MaxFileSize caps every file read; 0 means hostfs.DefaultMaxFileSize.
	MaxFileSize int64
	// Firewall source. With neither File nor Run set, commands are run
	// (firewall.ExecRunner) only when the root is "/": for any other
	// root they would describe this host, not the tree.
	Firewall firewall.Options
	// PATH whose directories the baseline checks; "" means baseline.DefaultPATH.
	PATH string
	// Arch overrides the reported architecture ("" means runtime.GOARCH).
	Arch string
	// ByteOrder of the kernel that wrote ROOT/proc/net; nil means this
	// host's. Fixture trees from little-endian devices set binary.LittleEndian.
	ByteOrder binary.ByteOrder
	// PrivilegedGroups overrides users.DefaultPrivilegedGroups().
	PrivilegedGroups []string
	// Now stamps snapshots; nil means time.Now.
	Now func() time.Time
}

// Snapshot is every kind at one time.
type Snapshot struct {
	Taken    time.Time        `json:"taken"`
	System   sysinfo.Info     `json:"system"`
	Ports    ports.Snapshot   `json:"ports"`
	Firewall firewall.Ruleset `json:"firewall"`
	Users    users.Snapshot   `json:"users"`
	Baseline baseline.Report  `json:"baseline"`
}

// Collector takes snapshots; it holds no state between calls and is safe
// for concurrent use.
type Collector struct {
	root hostfs.Root
	opts Options
}

// New returns a Collector for opts.
func New(opts Options) *Collector {
	if opts.Root == "" {
		opts.Root = "/"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	root := hostfs.Dir(opts.Root)
	if opts.FS != nil {
		root = hostfs.Root{FS: opts.FS}
	}
	root.MaxFileSize = opts.MaxFileSize
	if opts.Firewall.MaxSize == 0 {
		opts.Firewall.MaxSize = opts.MaxFileSize
	}
	if opts.Firewall.File == "" && opts.Firewall.Run == nil && opts.Root == "/" && opts.FS == nil {
		opts.Firewall.Run = firewall.ExecRunner(cmp.Or(opts.MaxFileSize, hostfs.DefaultMaxFileSize))
	}
	return &Collector{root: root, opts: opts}
}

// Collect takes every kind of snapshot.
func (c *Collector) Collect(ctx context.Context) Snapshot {
	return Snapshot{
		Taken:    c.opts.Now().UTC(),
		System:   c.System(),
		Ports:    c.Ports(ctx),
		Firewall: c.Firewall(ctx),
		Users:    c.Users(),
		Baseline: c.Baseline(),
	}
}

// System collects system information.
func (c *Collector) System() sysinfo.Info {
	return sysinfo.Collect(c.root, sysinfo.Options{Arch: c.opts.Arch})
}

// Ports collects the listening sockets.
func (c *Collector) Ports(ctx context.Context) ports.Snapshot {
	return ports.Collect(ctx, c.root, ports.Options{ByteOrder: c.opts.ByteOrder})
}

// Firewall collects the firewall ruleset.
func (c *Collector) Firewall(ctx context.Context) firewall.Ruleset {
	return firewall.Collect(ctx, c.opts.Firewall)
}

// Users collects users and groups.
func (c *Collector) Users() users.Snapshot {
	return users.Collect(c.root, users.Options{PrivilegedGroups: c.opts.PrivilegedGroups})
}

// Baseline runs the baseline checks.
func (c *Collector) Baseline() baseline.Report {
	return baseline.Run(c.root, baseline.Options{PATH: c.opts.PATH})
}
