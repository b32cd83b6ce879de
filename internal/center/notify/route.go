package notify

import (
	"time"

	"github.com/moatsec/moat/internal/center"
)

// compiled is a validated Config with its defaults applied, ready to route.
type compiled struct {
	cfg        Config
	channels   map[string]Channel
	rules      []compiledRule
	perAlert   time.Duration
	perChannel int
	hour, min  int
	loc        *time.Location
	needsTags  bool
}

type compiledRule struct {
	name     string
	minRank  int
	ids      map[string]bool // nil = any rule
	tags     map[string]string
	channels []string
	digest   bool
}

// compile validates cfg and applies the defaults. The result shares
// nothing with cfg.
func compile(cfg Config) (*compiled, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.clone()
	c := &compiled{
		cfg:        cfg,
		channels:   make(map[string]Channel, len(cfg.Channels)),
		perAlert:   cfg.Throttle.PerAlert.D(),
		perChannel: cfg.Throttle.PerChannel,
		loc:        time.UTC,
	}
	if c.perAlert == 0 {
		c.perAlert = DefaultPerAlert
	}
	if c.perChannel == 0 {
		c.perChannel = DefaultPerChannel
	}
	at := cfg.DigestAt
	if at == "" {
		at = DefaultDigestAt
	}
	c.hour, c.min, _ = parseHHMM(at)
	if cfg.TimeZone != "" {
		loc, err := time.LoadLocation(cfg.TimeZone)
		if err != nil {
			return nil, &FieldError{Field: "timeZone", Message: err.Error()}
		}
		c.loc = loc
	}
	for _, ch := range cfg.Channels {
		c.channels[ch.Name] = ch
	}
	for _, r := range cfg.Rules {
		cr := compiledRule{name: r.Name, minRank: -1, tags: r.DeviceTags, channels: r.Channels, digest: r.Digest}
		if r.MinSeverity != "" {
			cr.minRank = center.SeverityRank(r.MinSeverity)
		}
		if len(r.Rules) > 0 {
			cr.ids = make(map[string]bool, len(r.Rules))
			for _, id := range r.Rules {
				cr.ids[id] = true
			}
		}
		if len(r.DeviceTags) > 0 {
			c.needsTags = true
		}
		c.rules = append(c.rules, cr)
	}
	return c, nil
}

// route returns the channels an alert goes to, each with true when it
// goes only to the digest (a channel reached by any immediate rule is
// immediate). tags is called at most once, and only when a rule that
// could otherwise match needs the device's tags; ok=false (unknown tags)
// makes such rules not match.
func (c *compiled) route(a *center.Alert, tags func() (map[string]string, bool)) map[string]bool {
	var out map[string]bool
	var devTags map[string]string
	fetched, known := false, false
	rank := center.SeverityRank(a.Severity)
	for i := range c.rules {
		r := &c.rules[i]
		if r.minRank >= 0 && rank < r.minRank {
			continue
		}
		if r.ids != nil && !r.ids[a.Rule] {
			continue
		}
		if len(r.tags) > 0 {
			if !fetched {
				devTags, known = tags()
				fetched = true
			}
			if !known || !tagsMatch(r.tags, devTags) {
				continue
			}
		}
		if out == nil {
			out = make(map[string]bool)
		}
		for _, ch := range r.channels {
			if digestOnly, seen := out[ch]; seen {
				out[ch] = digestOnly && r.digest
			} else {
				out[ch] = r.digest
			}
		}
	}
	return out
}

func tagsMatch(want, have map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}
