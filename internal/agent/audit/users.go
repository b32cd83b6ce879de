package audit

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// PasswdNames resolves UIDs from a passwd file, for records that do not
// name their users (netlink records, auditd's RAW log format). It re-reads
// the file when its size or modification time changed, checking at most once
// per interval of its clock. It is safe for concurrent use.
type PasswdNames struct {
	path     string
	now      func() time.Time
	interval time.Duration

	mu      sync.Mutex
	checked time.Time
	size    int64
	mtime   time.Time
	names   map[int64]string
}

// NewPasswdNames returns a resolver reading path (e.g. root+"/etc/passwd").
func NewPasswdNames(path string, now func() time.Time) *PasswdNames {
	if now == nil {
		now = time.Now
	}
	return &PasswdNames{path: path, now: now, interval: 10 * time.Second}
}

// Lookup returns the name of uid; it fits DecoderConfig.UserName.
func (p *PasswdNames) Lookup(uid int64) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if now := p.now(); p.names == nil || now.Sub(p.checked) >= p.interval {
		p.checked = now
		p.reload()
	}
	name, ok := p.names[uid]
	return name, ok
}

func (p *PasswdNames) reload() {
	info, err := os.Stat(p.path)
	if err != nil {
		p.names = map[int64]string{}
		return
	}
	if p.names != nil && info.Size() == p.size && info.ModTime().Equal(p.mtime) {
		return
	}
	f, err := os.Open(p.path)
	if err != nil {
		p.names = map[int64]string{}
		return
	}
	defer f.Close()
	p.names = parsePasswd(bufio.NewScanner(f))
	p.size, p.mtime = info.Size(), info.ModTime()
}

// parsePasswd reads name:x:uid:… lines; malformed ones are passed over.
func parsePasswd(sc *bufio.Scanner) map[int64]string {
	names := make(map[int64]string)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		parts := strings.SplitN(line, ":", 4)
		if len(parts) < 4 || parts[0] == "" {
			continue
		}
		uid, err := strconv.ParseUint(parts[2], 10, 32)
		if err != nil {
			continue
		}
		if _, dup := names[int64(uid)]; !dup {
			names[int64(uid)] = parts[0]
		}
	}
	return names
}
