package rules

import (
	"fmt"
	"slices"
	"strings"
)

// Set is a validated set of rules: the built-in ones, overridden or
// disabled by the user's, plus the user's own.
type Set struct {
	all      []*Rule // by id, disabled ones included
	byID     map[string]*Rule
	inactive map[string]string // id → why an enabled rule cannot run
	// Warnings are problems that do not refuse the set: a sequence that
	// follows a disabled rule is inactive.
	Warnings []string
}

// NewSet merges the built-in rules and the user's (each list already
// parsed, e.g. from several files). A user rule with a built-in's id
// replaces it; a stub ("id: x, enabled: false" without kind) disables it.
// It refuses (an ErrorList) two user rules with one id, a stub naming no
// built-in rule, a sequence step naming no rule, and cycles of sequences.
func NewSet(builtin, user []*Rule) (*Set, error) {
	var errs ErrorList
	byID := make(map[string]*Rule, len(builtin)+len(user))
	for _, r := range builtin {
		if _, dup := byID[r.ID]; dup {
			errs = append(errs, &Error{File: r.Origin.File, Line: r.Origin.Line, Field: "id", Msg: fmt.Sprintf("duplicate built-in id %q", r.ID)})
			continue
		}
		byID[r.ID] = r
	}
	userAt := map[string]*Rule{}
	for _, r := range user {
		if first, dup := userAt[r.ID]; dup {
			errs = append(errs, &Error{File: r.Origin.File, Line: r.Origin.Line, Field: "id",
				Msg: fmt.Sprintf("duplicate id %q (first at %s:%d)", r.ID, first.Origin.File, first.Origin.Line)})
			continue
		}
		userAt[r.ID] = r
		if r.Kind == "" { // a stub
			b, ok := byID[r.ID]
			if !ok {
				errs = append(errs, &Error{File: r.Origin.File, Line: r.Origin.Line, Field: "id",
					Msg: fmt.Sprintf("no built-in rule %q to disable (a rule of your own needs a kind)", r.ID)})
				continue
			}
			off := *b
			off.Enabled = false
			off.Origin = r.Origin
			byID[r.ID] = &off
			continue
		}
		byID[r.ID] = r
	}
	s := &Set{byID: byID, inactive: map[string]string{}}
	for _, r := range byID {
		s.all = append(s.all, r)
	}
	slices.SortFunc(s.all, func(a, b *Rule) int { return strings.Compare(a.ID, b.ID) })
	for _, r := range s.all {
		for i, st := range r.Steps {
			if st.Rule == "" {
				continue
			}
			if _, ok := byID[st.Rule]; !ok {
				errs = append(errs, &Error{File: r.Origin.File, Line: st.Line, Field: fmt.Sprintf("steps[%d].rule", i),
					Msg: fmt.Sprintf("no rule %q", st.Rule)})
			}
		}
	}
	if len(errs) == 0 {
		errs = append(errs, s.cycles()...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	s.markInactive()
	return s, nil
}

// cycles refuses sequences that follow themselves through other sequences.
func (s *Set) cycles() ErrorList {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var errs ErrorList
	var visit func(r *Rule, path []string)
	visit = func(r *Rule, path []string) {
		color[r.ID] = grey
		for i, st := range r.Steps {
			next := s.byID[st.Rule]
			if next == nil {
				continue
			}
			switch color[next.ID] {
			case grey:
				errs = append(errs, &Error{File: r.Origin.File, Line: st.Line, Field: fmt.Sprintf("steps[%d].rule", i),
					Msg: fmt.Sprintf("sequences follow each other in a cycle: %s", strings.Join(append(path, r.ID, next.ID), " → "))})
			case white:
				visit(next, append(path, r.ID))
			}
		}
		color[r.ID] = black
	}
	for _, r := range s.all {
		if color[r.ID] == white {
			visit(r, nil)
		}
	}
	return errs
}

// markInactive finds the enabled sequences that follow a disabled or
// inactive rule: they can never complete.
func (s *Set) markInactive() {
	for changed := true; changed; {
		changed = false
		for _, r := range s.all {
			if !r.Enabled || s.inactive[r.ID] != "" {
				continue
			}
			for _, st := range r.Steps {
				if st.Rule == "" {
					continue
				}
				if dep := s.byID[st.Rule]; !dep.Enabled || s.inactive[dep.ID] != "" {
					s.inactive[r.ID] = fmt.Sprintf("rule %q follows %q, which is disabled or inactive: it is inactive", r.ID, dep.ID)
					s.Warnings = append(s.Warnings, s.inactive[r.ID])
					changed = true
					break
				}
			}
		}
	}
}

// Rules returns the rules that run: enabled and not inactive, by id.
func (s *Set) Rules() []*Rule {
	out := make([]*Rule, 0, len(s.all))
	for _, r := range s.all {
		if r.Enabled && s.inactive[r.ID] == "" {
			out = append(out, r)
		}
	}
	return out
}

// All returns every rule, disabled ones included, by id.
func (s *Set) All() []*Rule { return slices.Clone(s.all) }

// Rule returns the rule id, enabled or not.
func (s *Set) Rule(id string) (*Rule, bool) {
	r, ok := s.byID[id]
	return r, ok
}

// Active reports whether the rule id runs.
func (s *Set) Active(id string) bool {
	r, ok := s.byID[id]
	return ok && r.Enabled && s.inactive[id] == ""
}
