package audit

import (
	"time"

	"github.com/elastic/go-libaudit/v2/auparse"
)

// Defaults of DecoderConfig.
const (
	DefaultTimeout        = 2 * time.Second
	DefaultMaxPending     = 1024
	DefaultMaxRecords     = 64
	DefaultMaxLineBytes   = 64 << 10
	DefaultMaxArgs        = 1024
	DefaultMaxCommandLine = 32 << 10
)

// DecoderConfig tunes a Decoder. Zero fields take the defaults above.
type DecoderConfig struct {
	// Now is the clock incomplete events are timed with (default time.Now).
	Now func() time.Time
	// Timeout is how long an event without its EOE record waits for more
	// records before it is decoded as it is.
	Timeout time.Duration
	// MaxPending bounds the events waiting for records; past it the oldest
	// is decoded as it is.
	MaxPending int
	// MaxRecords bounds the records kept for one event.
	MaxRecords int
	// MaxLineBytes bounds one record; longer ones are skipped.
	MaxLineBytes int
	// MaxArgs and MaxCommandLine bound the argument vector of an execve.
	MaxArgs        int
	MaxCommandLine int
	// UserName resolves a UID to a name when the record does not name it
	// (auditd's ENRICHED format does). Optional.
	UserName func(uid int64) (string, bool)
}

func (c DecoderConfig) withDefaults() DecoderConfig {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxPending <= 0 {
		c.MaxPending = DefaultMaxPending
	}
	if c.MaxRecords <= 0 {
		c.MaxRecords = DefaultMaxRecords
	}
	if c.MaxLineBytes <= 0 {
		c.MaxLineBytes = DefaultMaxLineBytes
	}
	if c.MaxArgs <= 0 {
		c.MaxArgs = DefaultMaxArgs
	}
	if c.MaxCommandLine <= 0 {
		c.MaxCommandLine = DefaultMaxCommandLine
	}
	return c
}

// Stats counts what a Decoder did with its input.
type Stats struct {
	Records  uint64                // records parsed and kept
	Ignored  uint64                // records of types or syscalls this package does not map
	Events   uint64                // events produced
	Expired  uint64                // events decoded after Timeout, without EOE
	Evicted  uint64                // events decoded early because MaxPending was reached
	Dropped  uint64                // complete events that mapped to nothing (failed syscall, unix socket…)
	Skipped  map[SkipReason]uint64 // input skipped, by reason
	Warnings uint64                // aucoalesce warnings on produced events
}

// Decoder turns audit records into events. Feed it lines of audit.log
// (Line) or netlink messages (Message), call Expire regularly so events that
// never see their EOE record come out, and Flush at the end of input. A
// Decoder is not safe for concurrent use.
type Decoder struct {
	cfg     DecoderConfig
	pending map[eventKey]*group
	queue   []*group // pending groups in arrival order; done ones are skipped
	stats   Stats
}

// group gathers the records of one event.
type group struct {
	key     eventKey
	first   time.Time
	records []*record
	ignored bool // its SYSCALL is not one this package maps: drop the rest
	done    bool
}

// NewDecoder returns a Decoder.
func NewDecoder(cfg DecoderConfig) *Decoder {
	return &Decoder{
		cfg:     cfg.withDefaults(),
		pending: make(map[eventKey]*group),
		stats:   Stats{Skipped: make(map[SkipReason]uint64)},
	}
}

// Stats returns a copy of the counters.
func (d *Decoder) Stats() Stats {
	s := d.stats
	s.Skipped = make(map[SkipReason]uint64, len(d.stats.Skipped))
	for k, v := range d.stats.Skipped {
		s.Skipped[k] = v
	}
	return s
}

// Pending is the number of events waiting for more records.
func (d *Decoder) Pending() int { return len(d.pending) }

func (d *Decoder) skip(r SkipReason) { d.stats.Skipped[r]++ }

// Line decodes one line of audit.log (with or without its newline) and
// appends the events it completes to dst.
func (d *Decoder) Line(dst []Event, line []byte) []Event {
	if len(line) > d.cfg.MaxLineBytes {
		d.skip(SkipTooLong)
		return dst
	}
	return d.line(dst, string(line))
}

func (d *Decoder) line(dst []Event, s string) []Event {
	if len(s) > d.cfg.MaxLineBytes {
		d.skip(SkipTooLong)
		return dst
	}
	s = trimEOL(s)
	if s == "" {
		return dst
	}
	node, typName, body, reason := splitLine(s)
	if reason != "" {
		d.skip(reason)
		return dst
	}
	t, err := auparse.GetAuditMessageType(typName)
	if err != nil {
		d.skip(SkipUnknownType)
		return dst
	}
	return d.add(dst, t, body, node)
}

// Message decodes one netlink audit message: its type from the netlink
// header and its data ("audit(TIME:SERIAL): …").
func (d *Decoder) Message(dst []Event, typ uint16, data []byte) []Event {
	if len(data) > d.cfg.MaxLineBytes {
		d.skip(SkipTooLong)
		return dst
	}
	return d.message(dst, typ, string(data))
}

func (d *Decoder) message(dst []Event, typ uint16, s string) []Event {
	if len(s) > d.cfg.MaxLineBytes {
		d.skip(SkipTooLong)
		return dst
	}
	return d.add(dst, auparse.AuditMessageType(typ), trimEOL(s), "")
}

func trimEOL(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r' || s[len(s)-1] == 0) {
		s = s[:len(s)-1]
	}
	return s
}

func (d *Decoder) add(dst []Event, t auparse.AuditMessageType, body, node string) []Event {
	class := classify(t)
	if class == classIgnore {
		d.stats.Ignored++
		return dst
	}
	rec, reason := parseRecord(t, body, node)
	if reason != "" {
		d.skip(reason)
		return dst
	}
	if class == classStandalone {
		d.stats.Records++
		ev, reason := d.convertLogin(rec)
		return d.emit(dst, ev, reason)
	}
	k := rec.key()
	g := d.pending[k]
	if class == classEnd {
		if g == nil {
			return dst // the rest of this event was ignored
		}
		return d.complete(dst, g)
	}
	if g == nil {
		dst = d.makeRoom(dst)
		g = &group{key: k, first: d.cfg.Now()}
		d.pending[k] = g
		d.queue = append(d.queue, g)
	}
	if g.ignored {
		d.stats.Ignored++
		return dst
	}
	if t == auparse.AUDIT_SYSCALL && !watchedSyscalls[syscallOf(rec.msg.RawData)] {
		g.ignored = true
		d.stats.Records -= uint64(len(g.records)) // recounted as ignored
		d.stats.Ignored += uint64(len(g.records)) + 1
		g.records = nil
		return dst
	}
	if len(g.records) >= d.cfg.MaxRecords {
		d.skip(SkipTooManyRecords)
		return dst
	}
	d.stats.Records++
	g.records = append(g.records, rec)
	return dst
}

// makeRoom decodes the oldest pending event when MaxPending is reached.
func (d *Decoder) makeRoom(dst []Event) []Event {
	for len(d.pending) >= d.cfg.MaxPending {
		g := d.oldest()
		if g == nil {
			break
		}
		if !g.ignored {
			d.stats.Evicted++
		}
		dst = d.complete(dst, g)
	}
	return dst
}

// oldest returns the first pending group of the queue, dropping done ones.
func (d *Decoder) oldest() *group {
	for len(d.queue) > 0 {
		g := d.queue[0]
		if !g.done {
			return g
		}
		d.queue[0] = nil
		d.queue = d.queue[1:]
	}
	return nil
}

// complete decodes a group and forgets it.
func (d *Decoder) complete(dst []Event, g *group) []Event {
	g.done = true
	delete(d.pending, g.key)
	if len(d.queue) > 64 && len(d.pending) < len(d.queue)/4 {
		d.compact()
	}
	if g.ignored {
		return dst
	}
	ev, reason := d.convertGroup(g.records)
	return d.emit(dst, ev, reason)
}

func (d *Decoder) compact() {
	q := d.queue[:0]
	for _, g := range d.queue {
		if !g.done {
			q = append(q, g)
		}
	}
	clear(d.queue[len(q):])
	d.queue = q
}

func (d *Decoder) emit(dst []Event, ev Event, reason SkipReason) []Event {
	switch {
	case ev != nil:
		d.stats.Events++
		return append(dst, ev)
	case reason != "":
		d.skip(reason)
	default:
		d.stats.Dropped++
	}
	return dst
}

// Expire decodes the events that have waited Timeout or longer for their
// EOE record, and appends them to dst.
func (d *Decoder) Expire(dst []Event) []Event {
	deadline := d.cfg.Now().Add(-d.cfg.Timeout)
	for {
		g := d.oldest()
		if g == nil || g.first.After(deadline) {
			return dst
		}
		if !g.ignored {
			d.stats.Expired++
		}
		dst = d.complete(dst, g)
	}
}

// Flush decodes every pending event (end of input) and appends them to dst.
func (d *Decoder) Flush(dst []Event) []Event {
	for {
		g := d.oldest()
		if g == nil {
			return dst
		}
		if !g.ignored {
			d.stats.Expired++
		}
		dst = d.complete(dst, g)
	}
}

// Raw decodes one record delivered by a Source.
func (d *Decoder) Raw(dst []Event, r Raw) []Event {
	switch {
	case r.TooLong:
		d.skip(SkipTooLong)
		return dst
	case r.Type == 0:
		return d.line(dst, r.Text)
	default:
		return d.message(dst, r.Type, r.Text)
	}
}
