package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moatsec/moat/tokenclient"
)

// Kinds of sends (SendResult.Kind).
const (
	KindSnapshots     = "snapshots"      // the five Full snapshots at start
	KindTelemetry     = "telemetry"      // one telemetry event
	KindStats         = "stats"          // MessageStatistics
	KindLoginFailures = "login-failures" // one flush of the brute force's failed logins
	KindLoginSuccess  = "login-success"  // the brute force's successful login
)

// Reasons of failures that are not the server's.
const (
	ReasonUnreachable = "unreachable" // the server could not be reached or its answer was unusable
	ReasonCanceled    = "canceled"    // the run was interrupted, or ended, during the send
	ReasonTimeout     = "timeout"     // no answer within 30 s
)

// SendResult is the outcome of one send.
type SendResult struct {
	Kind     string    `json:"kind"`
	At       time.Time `json:"at"` // when the answer came
	Accepted bool      `json:"accepted"`
	// Status and Reason say why a send was refused: the discovery
	// service's refusal of a token (403 quarantined…) or the hub's (401
	// publisher_revoked…); Status 0 with ReasonUnreachable or
	// ReasonCanceled otherwise.
	Status  int    `json:"status,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

func (s SendResult) String() string {
	if s.Accepted {
		return "accepted"
	}
	out := "refused"
	if s.Status == 0 {
		out = "failed"
	}
	if s.Status != 0 {
		out += " " + strconv.Itoa(s.Status)
	}
	out += " " + s.Reason
	if s.Message != "" {
		out += ": " + s.Message
	}
	return out
}

// classify turns a send's error into its reason.
func classify(err error) (status int, reason, message string) {
	var r *tokenclient.Refusal
	var h *tokenclient.HubError
	switch {
	case err == nil:
		return 0, "", ""
	case errors.As(err, &r):
		status, reason, message = r.Status, r.Reason, r.Message
	case errors.As(err, &h):
		status, reason, message = h.Status, h.Reason, h.Message
	case errors.Is(err, context.Canceled):
		return 0, ReasonCanceled, ""
	case errors.Is(err, context.DeadlineExceeded):
		return 0, ReasonTimeout, ""
	default:
		return 0, ReasonUnreachable, truncate(err.Error(), 200)
	}
	if reason == "" {
		reason = "http_" + strconv.Itoa(status)
	}
	return status, reason, truncate(message, 200)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Progress is one send of the attack's target, from the attack's start
// until its first send after the last accepted attack event.
type Progress struct {
	Device string     `json:"device"`
	Send   SendResult `json:"send"`
	// Failures is the failed logins this send reported (login-failures);
	// Reported those accepted so far, of Planned.
	Failures int `json:"failures,omitempty"`
	Reported int `json:"reported"`
	Planned  int `json:"planned"`
	// AfterAttack marks the target's first send after its last accepted
	// attack event, Refusal its first refused one since then (the same
	// send when the device was quarantined before it sent again).
	AfterAttack bool `json:"afterAttack,omitempty"`
	Refusal     bool `json:"refusal,omitempty"`
	// AttackOver: every attack event has been sent (accepted or not).
	AttackOver bool `json:"attackOver,omitempty"`
}

// AttackReport is what became of the attack.
type AttackReport struct {
	Kind     string `json:"kind"`
	Device   string `json:"device"`
	From     string `json:"from"`
	Planned  int    `json:"planned"`  // failed logins to report
	Reported int    `json:"reported"` // failed logins the hub accepted
	Refused  int    `json:"refused"`  // failed logins in sends refused or failed
	// Success is the successful login's outcome: "accepted", the refusal,
	// or "" when none was asked for or the run ended before it.
	Success string `json:"success,omitempty"`
	// LastAccepted is when the hub accepted the last attack event.
	LastAccepted time.Time `json:"lastAccepted,omitzero"`
	// Next is the target's first send after LastAccepted, and FirstRefusal
	// its first refused send since then: reason "quarantined" or
	// "publisher_revoked" when the center quarantined it.
	Next         *SendResult `json:"next,omitempty"`
	FirstRefusal *SendResult `json:"firstRefusal,omitempty"`
}

// Result is a run's summary.
type Result struct {
	Hub      string        `json:"hub"`
	Devices  int           `json:"devices"`
	New      int           `json:"new"`    // devices the run registered
	Reused   int           `json:"reused"` // existing devices it re-imported
	Duration time.Duration `json:"duration"`
	Started  time.Time     `json:"started"`

	Requests       int64            `json:"requests"`       // sends the hub accepted
	Messages       int64            `json:"messages"`       // security messages in them
	SecurityEvents int64            `json:"securityEvents"` // security events in them
	Telemetry      int64            `json:"telemetry"`      // telemetry events in them
	Bytes          int64            `json:"bytes"`          // request bodies as sent (security ones gzip-compressed)
	Failed         int64            `json:"failed"`         // sends refused or failed
	Errors         map[string]int64 `json:"errors"`         // failed sends by reason
	// Skipped counts telemetry rounds a device skipped because the run
	// fell behind its schedule; MaxLag is how late a device acted at worst.
	Skipped int64         `json:"skipped"`
	MaxLag  time.Duration `json:"maxLag"`

	Attack *AttackReport `json:"attack,omitempty"`
}

// Print writes the summary for people.
func (r Result) Print(w io.Writer) {
	fmt.Fprintf(w, "sim: %d devices on hub %s (%d new, %d reused), %s\n", r.Devices, r.Hub, r.New, r.Reused,
		r.Duration.Round(time.Millisecond))
	fmt.Fprintf(w, "  sends: %d accepted, %d refused or failed; %d security messages (%d events), %d telemetry events, %s\n",
		r.Requests, r.Failed, r.Messages, r.SecurityEvents, r.Telemetry, byteCount(r.Bytes))
	if len(r.Errors) > 0 {
		keys := make([]string, 0, len(r.Errors))
		for k := range r.Errors {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s=%d", k, r.Errors[k])
		}
		fmt.Fprintf(w, "  errors: %s\n", strings.Join(parts, " "))
	}
	if r.Skipped > 0 {
		fmt.Fprintf(w, "  behind schedule: %d telemetry rounds skipped, lag up to %s (raise --concurrency or lower the load)\n",
			r.Skipped, r.MaxLag.Round(time.Millisecond))
	}
	if a := r.Attack; a != nil {
		fmt.Fprintf(w, "  attack %s on %s from %s: %d of %d failed logins accepted", a.Kind, a.Device, a.From, a.Reported, a.Planned)
		if a.Refused > 0 {
			fmt.Fprintf(w, ", %d not delivered", a.Refused)
		}
		if a.Success != "" {
			fmt.Fprintf(w, "; successful login %s", a.Success)
		}
		fmt.Fprintln(w)
		if !a.LastAccepted.IsZero() {
			fmt.Fprintf(w, "    last attack event accepted at %s\n", stamp(a.LastAccepted))
			if n := a.Next; n != nil {
				fmt.Fprintf(w, "    next send (%s) at %s, %s later: %s\n", n.Kind, stamp(n.At),
					n.At.Sub(a.LastAccepted).Round(time.Millisecond), n)
			} else {
				fmt.Fprintln(w, "    no send after it before the run ended")
			}
			if n := a.FirstRefusal; n != nil && *n != *a.Next { // Next is set when FirstRefusal is
				fmt.Fprintf(w, "    first refusal (%s) at %s, %s later: %s\n", n.Kind, stamp(n.At),
					n.At.Sub(a.LastAccepted).Round(time.Millisecond), n)
			} else if n == nil && a.Next != nil {
				fmt.Fprintln(w, "    no send refused after it")
			}
		}
	}
}

func stamp(t time.Time) string { return t.UTC().Format("15:04:05.000Z") }

func byteCount(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 10<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
