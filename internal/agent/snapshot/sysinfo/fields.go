package sysinfo

import (
	"strconv"
	"time"
)

// Field is one named value of Info, the unit the differ compares.
type Field struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Fields lists the stable fields of Info, sorted by name. Free memory
// (MemAvailableBytes) is left out: it changes on every read and would
// make every snapshot a change.
func (i Info) Fields() []Field {
	bt := ""
	if !i.BootTime.IsZero() {
		bt = i.BootTime.UTC().Format(time.RFC3339)
	}
	return []Field{
		{"arch", i.Arch},
		{"boot_time", bt},
		{"hostname", i.Hostname},
		{"kernel", i.Kernel},
		{"mem_total_bytes", strconv.FormatUint(i.MemTotalBytes, 10)},
		{"os_name", i.OSName},
		{"os_pretty_name", i.OSPrettyName},
		{"os_version_id", i.OSVersionID},
	}
}
