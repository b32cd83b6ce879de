package sysinfo

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/moatsec/moat/internal/agent/snapshot/hostfs"
)

// Info describes a device. Empty fields were not readable; why is in
// Problems.
type Info struct {
	OSName            string           `json:"osName,omitempty"`
	OSVersionID       string           `json:"osVersionId,omitempty"`
	OSPrettyName      string           `json:"osPrettyName,omitempty"`
	Kernel            string           `json:"kernel,omitempty"`
	Hostname          string           `json:"hostname,omitempty"`
	Arch              string           `json:"arch"`
	MemTotalBytes     uint64           `json:"memTotalBytes,omitempty"`
	MemAvailableBytes uint64           `json:"memAvailableBytes,omitempty"`
	BootTime          time.Time        `json:"bootTime,omitzero"`
	Problems          []hostfs.Problem `json:"problems,omitempty"`
}

// Options tune Collect.
type Options struct {
	// Arch overrides the architecture; "" means runtime.GOARCH, the
	// architecture the agent was built for (a fixture tree of another
	// device should set it).
	Arch string
}

const (
	osReleaseFile = "etc/os-release"
	osReleaseLib  = "usr/lib/os-release" // fallback named by os-release(5)
	osrelease     = "proc/sys/kernel/osrelease"
	kernHostname  = "proc/sys/kernel/hostname"
	etcHostname   = "etc/hostname"
	meminfo       = "proc/meminfo"
	stat          = "proc/stat"
)

// Collect reads the system information under root.
func Collect(root hostfs.Root, opts Options) Info {
	info := Info{Arch: opts.Arch}
	if info.Arch == "" {
		info.Arch = runtime.GOARCH
	}
	problem := func(file string, err error) {
		info.Problems = append(info.Problems, hostfs.Problem{File: file, Reason: err.Error()})
	}

	file := osReleaseFile
	data, err := root.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		file = osReleaseLib
		data, err = root.ReadFile(file)
	}
	if err != nil {
		problem(file, err)
	} else {
		vars, bad := ParseOSRelease(data)
		for _, n := range slices.Sorted(maps.Keys(bad)) {
			info.Problems = append(info.Problems, hostfs.Problem{File: file, Line: n, Reason: bad[n]})
		}
		info.OSName, info.OSVersionID, info.OSPrettyName = vars["NAME"], vars["VERSION_ID"], vars["PRETTY_NAME"]
	}

	if s, err := readLine(root, osrelease); err != nil {
		problem(osrelease, err)
	} else {
		info.Kernel = s
	}

	// The running kernel's name is the truth; etc/hostname is what it
	// will be after a reboot, used when proc is not there.
	if s, err := readLine(root, kernHostname); err == nil && s != "" {
		info.Hostname = s
	} else if s, err2 := readLine(root, etcHostname); err2 == nil && s != "" {
		info.Hostname = s
	} else {
		problem(kernHostname+", "+etcHostname, fmt.Errorf("no hostname: %v; %v", orEmpty(err), orEmpty(err2)))
	}

	if data, err := root.ReadFile(meminfo); err != nil {
		problem(meminfo, err)
	} else {
		info.MemTotalBytes, info.MemAvailableBytes, info.Problems = parseMem(data, info.Problems)
	}

	if data, err := root.ReadFile(stat); err != nil {
		problem(stat, err)
	} else if bt, err := ParseBootTime(data); err != nil {
		problem(stat, err)
	} else {
		info.BootTime = bt
	}
	return info
}

func parseMem(data []byte, probs []hostfs.Problem) (total, avail uint64, _ []hostfs.Problem) {
	var haveTotal bool
	for n, line := range hostfs.Lines(data) {
		if !strings.HasPrefix(line, "MemTotal:") && !strings.HasPrefix(line, "MemAvailable:") {
			continue // other lines are not needed: not parsed, not judged
		}
		name, v, err := ParseMeminfoLine(line)
		if err != nil {
			probs = append(probs, hostfs.Problem{File: meminfo, Line: n, Reason: err.Error()})
			continue
		}
		if name == "MemTotal" {
			total, haveTotal = v, true
		} else {
			avail = v
		}
	}
	if !haveTotal {
		probs = append(probs, hostfs.Problem{File: meminfo, Reason: "no valid MemTotal line"})
	}
	return total, avail, probs
}

// readLine reads a one-line file such as proc/sys/kernel/osrelease.
func readLine(root hostfs.Root, name string) (string, error) {
	data, err := root.ReadFile(name)
	if err != nil {
		return "", err
	}
	s, _, _ := strings.Cut(string(data), "\n")
	return clean(strings.TrimSpace(s)), nil
}

func orEmpty(err error) string {
	if err == nil {
		return "empty"
	}
	return err.Error()
}
