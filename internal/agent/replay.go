package agent

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/moatsec/moat/internal/agent/audit"
	"github.com/moatsec/moat/internal/agent/authlog"
	"github.com/moatsec/moat/internal/agent/convert"
	"github.com/moatsec/moat/internal/agent/spool"
	"github.com/moatsec/moat/internal/agentconf"
)

// ReplayOptions configure a replay.
type ReplayOptions struct {
	AuthLog  io.Reader // sshd/PAM syslog lines
	AuditLog io.Reader // audit.log lines (optional)
	// Speed > 0 waits (real time) between lines for the time between
	// their timestamps divided by Speed; 0 goes as fast as possible.
	Speed float64
	// Reference is the time that decides the year of classic syslog
	// timestamps (default now: a line of a date later than now, beyond two
	// days, is of the previous year).
	Reference time.Time
	// Sleep waits in real time (default time.Sleep with ctx); tests stub it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// ReplayStats says what a replay read and sent.
type ReplayStats struct {
	Lines, Unparsed     int
	PendingPAM          int // PAM failures without a verdict when the log ended
	FailedAttempts      int64
	SuccessfulLogins    int64
	AuditEvents         int
	First, Last         time.Time
	Requests, EventsOut int64
}

// Replay feeds logs through the agent's pipeline (parser, attempt
// counting, aggregation, spool, uploader) with their own timestamps: the
// agent's clock, which must be a *VirtualClock, follows the lines, so the
// events carry the times the lines were written and are flushed and sent
// on the configured intervals of that time. At the end everything is
// flushed and sent.
func (a *Agent) Replay(ctx context.Context, o ReplayOptions) (ReplayStats, error) {
	vc, ok := a.clock.(*VirtualClock)
	if !ok {
		return ReplayStats{}, errors.New("agent: Replay needs a VirtualClock")
	}
	if o.Sleep == nil {
		o.Sleep = func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	ref := o.Reference
	if ref.IsZero() {
		ref = time.Now()
	}
	parser := authlog.NewParser(authlog.Options{Now: func() time.Time { return ref }, Location: a.o.AuthLogLocation})
	var st ReplayStats
	type entry struct {
		t     time.Time
		login *authlog.Record
		audit []audit.Event
	}
	// Both logs are read in full first (they are bounded by the caller's
	// files) and merged by time.
	var entries []entry
	if o.AuthLog != nil {
		err := eachLine(o.AuthLog, func(line []byte) {
			st.Lines++
			r, err := parser.Parse(line)
			if err != nil {
				st.Unparsed++
				return
			}
			entries = append(entries, entry{t: r.Time, login: &r})
		})
		if err != nil {
			return st, fmt.Errorf("agent: replay auth log: %w", err)
		}
	}
	if o.AuditLog != nil {
		dec := audit.NewDecoder(audit.DecoderConfig{Now: a.clock.Now})
		var evs []audit.Event
		err := eachLine(o.AuditLog, func(line []byte) {
			st.Lines++
			evs = dec.Line(evs[:0], line)
			for _, ev := range evs {
				entries = append(entries, entry{t: ev.Meta().Time, audit: []audit.Event{ev}})
			}
		})
		if err != nil {
			return st, fmt.Errorf("agent: replay audit log: %w", err)
		}
		for _, ev := range dec.Flush(nil) {
			entries = append(entries, entry{t: ev.Meta().Time, audit: []audit.Event{ev}})
		}
	}
	sortEntries(entries, func(e entry) time.Time { return e.t })
	if len(entries) == 0 {
		return st, nil
	}
	st.First, st.Last = entries[0].t, entries[len(entries)-1].t
	vc.Set(st.First)
	cfg := a.Config()
	nextFlush := st.First.Add(cfg.HighPriorityInterval.D())
	prev := st.First
	attempts := authlog.NewAttempts(authlog.AttemptsConfig{})
	add := func(atts []authlog.Attempt) {
		for _, at := range atts {
			if at.Success {
				st.SuccessfulLogins += int64(at.Count)
			} else {
				st.FailedAttempts += int64(at.Count)
			}
			a.agg.Add(convert.Attempt(at), at.Time)
		}
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		if o.Speed > 0 && e.t.After(prev) {
			if err := o.Sleep(ctx, time.Duration(float64(e.t.Sub(prev))/o.Speed)); err != nil {
				return st, err
			}
		}
		prev = e.t
		for !e.t.Before(nextFlush) { // the intervals that passed before this line
			vc.Set(nextFlush)
			add(attempts.Flush(nil, nextFlush))
			a.flushAggregated(ctx, nextFlush)
			if err := a.replaySend(ctx, nextFlush); err != nil {
				return st, err
			}
			nextFlush = nextFlush.Add(cfg.HighPriorityInterval.D())
			if e.t.Sub(nextFlush) > time.Hour { // a long quiet gap: skip ahead
				nextFlush = e.t.Truncate(cfg.HighPriorityInterval.D()).Add(cfg.HighPriorityInterval.D())
			}
		}
		vc.AdvanceTo(e.t)
		if e.login != nil {
			add(attempts.Add(nil, e.login))
		}
		for _, ev := range e.audit {
			st.AuditEvents++
			if it, ok := convert.Audit(ev); ok && cfg.PriorityOf(it.EventName()) != agentconf.Off {
				if _, isLogin := ev.(*audit.Login); isLogin && o.AuthLog != nil {
					continue // logins are counted from the auth log
				}
				a.agg.Add(it, ev.Meta().Time)
			}
		}
		if a.agg.Full() {
			a.flushAggregated(ctx, vc.Now())
		}
	}
	// Settle the sessions that were idle long enough when the log ends, on
	// the log's own time. A session cut by the end of the file (a PAM
	// failure whose sshd verdict is not in it) stays unsettled: its
	// attempts are reported as pending, not guessed.
	add(attempts.Flush(nil, st.Last))
	st.PendingPAM = attempts.Pending()
	now := vc.Now()
	a.flushAggregated(ctx, now)
	for {
		if err := a.o.Uploader.Flush(ctx, true); err != nil {
			return st, fmt.Errorf("agent: replay: send: %w", err)
		}
		if pending, err := a.o.Uploader.Pending(spool.Low); err != nil || !pending {
			break
		}
	}
	us := a.o.Uploader.TakeStats()
	st.Requests, st.EventsOut = us.Requests, us.EventsSent
	return st, nil
}

// replaySend uploads at the end of an interval when high-priority events
// wait (low ones go along, as in Run).
func (a *Agent) replaySend(ctx context.Context, now time.Time) error {
	high, err := a.o.Uploader.Pending(spool.High)
	if err != nil || !high {
		return err
	}
	return a.o.Uploader.Flush(ctx, true)
}

// eachLine calls fn with every line of r (without its newline); lines
// longer than 64 KiB are cut.
func eachLine(r io.Reader, fn func([]byte)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			fn(line)
			for errors.Is(err, bufio.ErrBufferFull) { // skip the rest of the long line
				_, err = br.ReadSlice('\n')
			}
			continue
		}
		if len(line) > 0 {
			fn(bytes.TrimRight(line, "\r\n"))
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func sortEntries[T any](s []T, at func(T) time.Time) {
	slices.SortStableFunc(s, func(a, b T) int { return at(a).Compare(at(b)) })
}
