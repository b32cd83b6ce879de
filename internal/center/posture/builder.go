package posture

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/moatsec/moat/internal/center"
)

// Bounds on the detail of one affected device, whatever the device sent.
const (
	maxDetails     = 10  // details listed per device; the rest are counted
	maxDetailBytes = 256 // bytes of one detail
)

// builder gathers the affected devices of each recommendation.
type builder struct {
	recs map[string]*draft
}

type draft struct {
	rec     Recommendation
	details map[string][]string // device → its details
}

func newBuilder() *builder { return &builder{recs: map[string]*draft{}} }

// add records that the recommendation tmpl applies to a device. The first
// template of an ID gives the texts; the severity is the highest given.
func (b *builder) add(tmpl Recommendation, device, detail string) {
	d, ok := b.recs[tmpl.ID]
	if !ok {
		d = &draft{rec: tmpl, details: map[string][]string{}}
		d.rec.Devices = nil
		b.recs[tmpl.ID] = d
	} else if center.SeverityRank(tmpl.Severity) > center.SeverityRank(d.rec.Severity) {
		d.rec.Severity = tmpl.Severity
	}
	list := d.details[device]
	if detail != "" {
		list = append(list, clip(detail, maxDetailBytes))
	}
	d.details[device] = list
}

// result returns the recommendations, sorted, each device once.
func (b *builder) result() []Recommendation {
	out := make([]Recommendation, 0, len(b.recs))
	for _, d := range b.recs {
		r := d.rec
		r.Devices = make([]Affected, 0, len(d.details))
		for dev, details := range d.details {
			r.Devices = append(r.Devices, Affected{Device: dev, Detail: joinDetails(details)})
		}
		slices.SortFunc(r.Devices, func(a, b Affected) int { return strings.Compare(a.Device, b.Device) })
		out = append(out, r)
	}
	sortRecommendations(out)
	return out
}

// joinDetails sorts and deduplicates details and joins at most maxDetails
// of them with "; ".
func joinDetails(details []string) string {
	slices.Sort(details)
	details = slices.Compact(details)
	if len(details) <= maxDetails {
		return strings.Join(details, "; ")
	}
	return strings.Join(details[:maxDetails], "; ") + fmt.Sprintf("; … and %d more", len(details)-maxDetails)
}

// clip cuts s to at most n bytes (and an ellipsis) without splitting a
// UTF-8 sequence, and replaces invalid bytes.
func clip(s string, n int) string {
	if len(s) > n {
		s = s[:n]
		for range utf8.UTFMax - 1 {
			if r, size := utf8.DecodeLastRuneInString(s); r != utf8.RuneError || size != 1 {
				break
			}
			s = s[:len(s)-1]
		}
		s += "…"
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
