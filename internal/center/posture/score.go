package posture

import "github.com/moatsec/moat/internal/center"

// Points a failing recommendation takes off a device's score, by severity.
var penalty = map[string]int{
	center.SeverityHigh:          25,
	center.SeverityMedium:        10,
	center.SeverityLow:           5,
	center.SeverityInformational: 0,
}

// Score is a device's posture: 100 when nothing is to fix, down to 0.
type Score struct {
	Score  int    `json:"score"`
	Failed Counts `json:"failed"` // failing recommendations by severity
}

// Counts are numbers of recommendations by severity.
type Counts struct {
	High          int `json:"high"`
	Medium        int `json:"medium"`
	Low           int `json:"low"`
	Informational int `json:"informational"`
}

// Scores returns every device's score: each device of in.Devices (100
// when no recommendation applies to it) and each device named by a
// recommendation. A recommendation takes its points off once per device,
// whatever the number of its details; an unknown severity takes none.
func Scores(in Input, recs []Recommendation) map[string]Score {
	out := make(map[string]Score, len(in.Devices))
	for _, d := range in.Devices {
		out[d.ID] = Score{Score: 100}
	}
	for _, r := range recs {
		seen := make(map[string]bool, len(r.Devices))
		for _, a := range r.Devices {
			if seen[a.Device] {
				continue
			}
			seen[a.Device] = true
			s, ok := out[a.Device]
			if !ok {
				s.Score = 100
			}
			s.Score = max(s.Score-penalty[r.Severity], 0)
			switch r.Severity {
			case center.SeverityHigh:
				s.Failed.High++
			case center.SeverityMedium:
				s.Failed.Medium++
			case center.SeverityLow:
				s.Failed.Low++
			case center.SeverityInformational:
				s.Failed.Informational++
			}
			out[a.Device] = s
		}
	}
	return out
}
