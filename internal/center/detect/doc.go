// Package detect is the security center's detection engine: it runs the
// rules of a rules.Set on center.Events and reports center.Detections,
// which the alert store turns into alerts.
//
// The engine keeps the state of each rule in memory: sliding windows of
// threshold rules (by event time, tolerating events that arrive out of
// order), partial sequences, the learning state of new-value rules, the
// last event of each device for absence rules. The state is bounded (keys
// per rule, entries per key; the oldest are evicted and counted) and can be
// rebuilt after a restart by Warm with the events of the last window.
//
// Process, Tick and Warm must be called from one goroutine; SetRules and
// Stats may be called from any. See docs/detections.md.
package detect
