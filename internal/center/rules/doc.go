// Package rules reads the security center's detection rules: YAML
// documents describing what the detection engine looks for (a threshold of
// events in a sliding window, a sequence, a value new to a device, one
// matching event, a device gone silent).
//
// Built-in rules are embedded in the binary (builtin/*.yaml); operators add
// or override rules in a directory of YAML files, which a Watcher reloads
// when it changes, keeping the last good set when a file is bad. Every
// error names the file, the line and the field: "rules.yaml:12: window:
// bad duration". See docs/detections.md.
package rules
