package agent

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/moatsec/moat/internal/agent/snapshot/firewall"
)

// SteadyOptions configure a steady-load measurement.
type SteadyOptions struct {
	// Rate is the failed-login lines written to the auth log per second.
	Rate int
	// Warmup runs before the measurement (the first snapshots, the first
	// token); Duration is measured.
	Warmup, Duration time.Duration
	Firewall         *firewall.Options
	// StartWriter starts appending failed-login lines to path at rate per
	// second (in another process, so that its cost is not measured) and
	// returns a function counting the lines written so far.
	StartWriter func(path string, rate int) (lines func() int64, err error)
}

// SteadyResult is the agent process's cost under load.
type SteadyResult struct {
	Lines       int64         // written during the measurement
	CPU         time.Duration // user + system CPU of this process during the measurement
	CPUPercent  float64       // of one core
	RSSMaxKiB   int64         // highest resident set sampled during the measurement
	RSSPeakKiB  int64         // the process's high-water mark since start (VmHWM)
	EventsSent  int64
	MessageSent int64
}

// Steady runs the real agent on the real clock against a real server while
// a writer (StartWriter) appends failed-login lines to the auth log under
// cfg.Root at Rate per second, and measures this process's CPU and memory.
func Steady(ctx context.Context, cfg Config, o SteadyOptions) (SteadyResult, error) {
	if o.Rate <= 0 || o.Duration <= 0 {
		return SteadyResult{}, fmt.Errorf("agent: steady: rate and duration must be positive")
	}
	logPath := cfg.authLogPath()
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return SteadyResult{}, err
	}
	if f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY, 0o640); err != nil {
		return SteadyResult{}, err
	} else {
		f.Close()
	}
	b, err := Build(cfg, BuildOptions{NoAudit: true, Firewall: o.Firewall})
	if err != nil {
		return SteadyResult{}, err
	}
	defer b.Close()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- b.Run(runCtx) }()

	lines, err := o.StartWriter(logPath, o.Rate)
	if err != nil {
		cancel()
		<-done
		return SteadyResult{}, err
	}
	var res SteadyResult
	wait := func(d time.Duration) error {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := wait(o.Warmup); err != nil {
		cancel()
		<-done
		return res, err
	}
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	l0 := lines()
	for end := time.Now().Add(o.Duration); time.Now().Before(end); {
		if err := wait(min(time.Second, time.Until(end))); err != nil {
			cancel()
			<-done
			return res, err
		}
		res.RSSMaxKiB = max(res.RSSMaxKiB, procStatusKiB("VmRSS"))
	}
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	res.Lines = lines() - l0
	res.CPU = tv(ru1.Utime) + tv(ru1.Stime) - tv(ru0.Utime) - tv(ru0.Stime)
	res.CPUPercent = 100 * res.CPU.Seconds() / o.Duration.Seconds()
	res.RSSPeakKiB = procStatusKiB("VmHWM")
	cancel()
	err = <-done
	tot := b.o.Uploader.Totals()
	res.EventsSent, res.MessageSent = tot.EventsSent, tot.MessagesSent
	return res, err
}

// WriteFailedLogins appends failed-login lines to path at rate per second
// until ctx ends, counting them in n. sshd's wording; sources rotate over
// 20 addresses and PIDs vary.
func WriteFailedLogins(ctx context.Context, path string, rate int, n *atomic.Int64) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	defer f.Close()
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	var line bytes.Buffer
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			i := n.Load()
			line.Reset()
			fmt.Fprintf(&line, "%s moat-bench sshd[%d]: Failed password for invalid user admin from 203.0.113.%d port %d ssh2\n",
				now.Format(time.Stamp), 10000+i%5000, 1+i%20, 30000+i%30000)
			if _, err := f.Write(line.Bytes()); err != nil {
				return err
			}
			n.Add(1)
		}
	}
}

// procStatusKiB reads a "Name: N kB" line of /proc/self/status (0 if absent).
func procStatusKiB(name string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := bytes.Cut(sc.Bytes(), []byte(":"))
		if !ok || string(k) != name {
			continue
		}
		n, _ := strconv.ParseInt(string(bytes.Fields(v)[0]), 10, 64)
		return n
	}
	return 0
}
