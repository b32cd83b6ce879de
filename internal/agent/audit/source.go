package audit

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	libaudit "github.com/elastic/go-libaudit/v2"
	"github.com/elastic/go-libaudit/v2/auparse"
)

// Source delivers raw audit records.
type Source interface {
	// Name says where records come from ("netlink", "file:/var/log/audit/audit.log").
	Name() string
	// Read returns the records available, waiting up to wait for the first
	// one; it returns early, with ctx.Err(), when ctx ends.
	Read(ctx context.Context, wait time.Duration) ([]Raw, error)
	Close() error
}

// NetlinkSource reads the kernel's audit multicast group. It needs
// CAP_AUDIT_READ, and sees the same records auditd does, whether or not
// auditd runs.
type NetlinkSource struct {
	client *libaudit.AuditClient
	report func(Diagnostic)
	batch  int
	idle   time.Duration // current back-off while the socket is empty
}

const (
	netlinkMinIdle = 5 * time.Millisecond
	netlinkMaxIdle = 200 * time.Millisecond
)

// OpenNetlink joins the audit multicast group. Its error says why it could
// not (EPERM: no CAP_AUDIT_READ; EPROTONOSUPPORT: kernel without audit; in
// a container the kernel refuses audit sockets outside the initial network
// namespace).
func OpenNetlink(report func(Diagnostic)) (*NetlinkSource, error) {
	c, err := libaudit.NewMulticastAuditClient(nil)
	if err != nil {
		return nil, fmt.Errorf("join audit multicast group: %w", err)
	}
	if report == nil {
		report = func(Diagnostic) {}
	}
	return &NetlinkSource{client: c, report: report, batch: 1024, idle: netlinkMinIdle}, nil
}

// Name implements Source.
func (s *NetlinkSource) Name() string { return "netlink" }

// Close implements Source.
func (s *NetlinkSource) Close() error { return s.client.Close() }

// Read implements Source. go-libaudit does not expose the socket for
// polling, so an empty socket is retried with a back-off of 5 to 200 ms.
func (s *NetlinkSource) Read(ctx context.Context, wait time.Duration) ([]Raw, error) {
	deadline := time.Now().Add(wait)
	for {
		out, err := s.drain()
		if len(out) > 0 || err != nil {
			s.idle = netlinkMinIdle
			return out, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, nil
		}
		timer := time.NewTimer(min(left, s.idle))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-timer.C:
		}
		s.idle = min(2*s.idle, netlinkMaxIdle)
	}
}

// drain receives what the socket holds, up to a batch.
func (s *NetlinkSource) drain() ([]Raw, error) {
	var out []Raw
	for len(out) < s.batch {
		msg, err := s.client.Receive(true)
		switch {
		case err == nil:
		case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.EINTR):
			return out, nil
		case errors.Is(err, syscall.ENOBUFS):
			s.report(Diagnostic{Code: DiagNetlinkLost, Severity: SeverityWarning,
				Message: "the kernel dropped audit records: the agent read too slowly", Err: err})
			return out, nil
		case errors.Is(err, syscall.EBADF):
			return out, fmt.Errorf("receive audit records: %w", err)
		default:
			// Malformed or spoofed datagram: report it and back off.
			s.report(Diagnostic{Code: DiagNetlinkError, Severity: SeverityWarning,
				Message: "receiving an audit record failed", Err: err})
			return out, nil
		}
		if msg.Type < auparse.AUDIT_USER_AUTH { // 1100, the first record type
			continue // control replies, not records
		}
		out = append(out, Raw{Type: uint16(msg.Type), Text: string(msg.Data)})
	}
	return out, nil
}
