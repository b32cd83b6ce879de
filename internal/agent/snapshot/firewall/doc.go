// Package firewall reads a device's packet filter: the JSON of
// `nft -j list ruleset` or the text of iptables-save/ip6tables-save, from a
// command (through an injectable Runner) or a file. It reports chains with
// their hook, priority and default policy, rules with their action and
// simple matches, and whether the device filters at all (Status).
package firewall
