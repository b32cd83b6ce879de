package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Kind is what a rule looks for.
type Kind string

// Rule kinds.
const (
	// KindThreshold: the count (sum of Event.Count) of matching events with
	// equal GroupBy values reaches Threshold within Window.
	KindThreshold Kind = "threshold"
	// KindSequence: its Steps happen in order, with equal By values, within
	// Within.
	KindSequence Kind = "sequence"
	// KindNewValue: a matching event carries a Value the device's baseline
	// does not hold.
	KindNewValue Kind = "newvalue"
	// KindMatch: one matching event.
	KindMatch Kind = "match"
	// KindAbsence: a device silent for longer than For (Absence "silent"),
	// or registered for longer than For without ever sending ("never").
	KindAbsence Kind = "absence"
)

// Absence conditions (Rule.Absence).
const (
	AbsenceSilent = "silent" // a device that sent matching events stopped for longer than For
	AbsenceNever  = "never"  // a registered device never sent a matching event
)

// Defaults and bounds of rule fields.
const (
	DefaultMaxAlertsPerMinute = 60
	MaxMaxAlertsPerMinute     = 100_000
	DefaultAbsenceFor         = time.Hour
	MaxWindow                 = 24 * time.Hour      // threshold window, sequence within
	MaxAbsenceFor             = 90 * 24 * time.Hour // absence for
	MaxThreshold              = 1_000_000
	MaxSteps                  = 8
	MaxGroupFields            = 8
)

// Rule is one detection rule, validated.
type Rule struct {
	ID          string `json:"id"`
	Title       string `json:"title"` // defaults to ID
	Description string `json:"description,omitempty"`
	Severity    string `json:"severity"`            // center.SeverityHigh …
	Technique   string `json:"technique,omitempty"` // MITRE ATT&CK id, T#### or T####.###
	Remediation string `json:"remediation,omitempty"`
	Enabled     bool   `json:"enabled"`
	Kind        Kind   `json:"kind"` // "" for a stub that only disables a built-in rule
	// Match selects the events the rule looks at (nil matches every event;
	// required but for sequence and absence rules).
	Match *Filter `json:"match,omitempty"`
	// MaxAlertsPerMinute bounds the detections that open an alert; the
	// excess is dropped and counted.
	MaxAlertsPerMinute int `json:"maxAlertsPerMinute"`

	// GroupBy (threshold, match): the fields whose values make the key.
	GroupBy []string `json:"groupBy,omitempty"`
	// Window and Threshold (threshold).
	Window    time.Duration `json:"window,omitempty"`
	Threshold int64         `json:"threshold,omitempty"`

	// Steps, By and Within (sequence).
	Steps  []Step        `json:"steps,omitempty"`
	By     []string      `json:"by,omitempty"`
	Within time.Duration `json:"within,omitempty"`

	// Value, Split and Changes (newvalue).
	Value   []string `json:"value,omitempty"`
	Split   *Split   `json:"split,omitempty"`
	Changes []string `json:"changes,omitempty"`

	// Absence and For (absence).
	Absence string        `json:"absence,omitempty"`
	For     time.Duration `json:"for,omitempty"`

	// Origin is where the rule was read.
	Origin Origin `json:"-"`
}

// Step is one step of a sequence: the detections of another rule, or the
// events a filter matches.
type Step struct {
	Rule  string  `json:"rule,omitempty"`
	Match *Filter `json:"match,omitempty"`
	Line  int     `json:"-"`
}

// Split makes one value per item of a comma-separated list field
// (GroupNames): the Value fields with Field replaced by each item, keeping
// only the items in Keep when Keep is set.
type Split struct {
	Field string   `json:"field"`
	Keep  []string `json:"keep,omitempty"`
}

// Origin is where a rule was read: a file and the line of its document.
type Origin struct {
	File    string
	Line    int
	Builtin bool
}

// StateKey identifies what a rule computes: two rules with the same
// StateKey count and remember alike, so an engine reloading its rules keeps
// the state of a rule whose StateKey did not change (title, description,
// severity, technique and remediation changes keep it too).
func (r *Rule) StateKey() string {
	c := *r
	c.Title, c.Description, c.Severity, c.Technique, c.Remediation = "", "", "", "", ""
	c.Enabled = true
	b, err := json.Marshal(&c)
	if err != nil { // cannot happen: every field marshals
		return r.ID
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// Horizon is how far back in event time the rule looks (the
// threshold window, the sequence's within), 0 for the other kinds.
func (r *Rule) Horizon() time.Duration {
	switch r.Kind {
	case KindThreshold:
		return r.Window
	case KindSequence:
		return r.Within
	}
	return 0
}
