package firewall

import "fmt"

// Assess sets Status, StatusReason and InputPolicy from the chains.
func (r *Ruleset) Assess() {
	r.InputPolicy = ""
	if len(r.Chains) == 0 {
		r.Status = StatusNone
		if len(r.Tables) == 0 {
			r.StatusReason = "empty ruleset: no tables"
		} else {
			r.StatusReason = fmt.Sprintf("%d tables but no chains", len(r.Tables))
		}
		return
	}
	dropPolicies, blocking := 0, 0
	for _, c := range r.Chains {
		if c.Hook == "input" && c.Policy != "" {
			if c.Policy == "drop" {
				r.InputPolicy = "drop"
			} else if r.InputPolicy == "" {
				r.InputPolicy = c.Policy
			}
		}
		if c.Policy == "drop" {
			dropPolicies++
		}
		for _, rule := range c.Rules {
			if rule.Action == "drop" || rule.Action == "reject" {
				blocking++
			}
		}
	}
	if dropPolicies == 0 && blocking == 0 {
		r.Status = StatusOpen
		r.StatusReason = fmt.Sprintf("%d chains, every policy accept and no drop or reject rule: everything is accepted", len(r.Chains))
		return
	}
	r.Status = StatusFiltering
	r.StatusReason = fmt.Sprintf("%d chains with policy drop, %d drop or reject rules", dropPolicies, blocking)
}
