package firewall

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/moatsec/moat/internal/agent/snapshot/hostfs"
)

// Options say where the ruleset comes from.
type Options struct {
	// File, when set, is read instead of running commands: a host path
	// (not under the snapshot root) holding `nft -j list ruleset` JSON or
	// iptables-save text (told apart by a leading '{').
	File string
	// Run runs nft and iptables-save when File is empty. nil runs
	// nothing and the status is unknown.
	Run Runner
	// MaxSize caps File and command outputs; 0 means hostfs.DefaultMaxFileSize.
	MaxSize int64
}

// Collect reads the ruleset. From commands it tries nft first; when nft is
// missing, fails or shows no tables, it reads iptables-save and
// ip6tables-save (iptables-legacy rules are invisible to nft). Status is
// unknown only when no source could be read.
func Collect(ctx context.Context, opts Options) Ruleset {
	var rs Ruleset
	if opts.File != "" {
		rs = fromFile(opts.File, opts.max())
	} else if opts.Run == nil {
		rs.Problems = append(rs.Problems, hostfs.Problem{File: "firewall", Reason: "no firewall source: no file given and commands are not run for this root"})
	} else {
		rs = fromCommands(ctx, opts.Run)
	}
	if rs.Backend == "" {
		rs.Status = StatusUnknown
		rs.StatusReason = "no firewall source could be read"
		return rs
	}
	rs.Assess()
	return rs
}

func (o Options) max() int64 {
	return cmp.Or(o.MaxSize, hostfs.DefaultMaxFileSize)
}

// Parse reads nft JSON (data starting with '{') or iptables-save text.
func Parse(source string, data []byte) Ruleset {
	rs := Ruleset{Source: source}
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
		tables, chains, probs, err := ParseNFTJSON(source, data)
		if err != nil {
			rs.Problems = append(rs.Problems, hostfs.Problem{File: source, Reason: err.Error()})
			return rs
		}
		rs.Backend, rs.Tables, rs.Chains, rs.Problems = BackendNftables, tables, chains, probs
		return rs
	}
	rs.Backend = BackendIptables
	rs.Tables, rs.Chains, rs.Problems = ParseIptablesSave(source, data, "")
	return rs
}

func fromFile(path string, max int64) Ruleset {
	source := "file " + path
	data, err := readCapped(path, max)
	if err != nil {
		return Ruleset{Source: source, Problems: []hostfs.Problem{{File: path, Reason: err.Error()}}}
	}
	rs := Parse(source, data)
	rs.Source = source
	return rs
}

func readCapped(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("read %s: %w (%d bytes)", path, hostfs.ErrTooLarge, max)
	}
	return data, nil
}

func fromCommands(ctx context.Context, run Runner) Ruleset {
	nftCommand := []string{"nft", "-j", "list", "ruleset"}
	var probs []hostfs.Problem
	nftLine := strings.Join(nftCommand, " ")
	out, err := run(ctx, nftCommand[0], nftCommand[1:]...)
	var nft Ruleset
	if err != nil {
		probs = append(probs, hostfs.Problem{File: nftLine, Reason: err.Error()})
	} else {
		tables, chains, p, err := ParseNFTJSON(nftLine, out)
		if err != nil {
			probs = append(probs, hostfs.Problem{File: nftLine, Reason: err.Error()})
		} else {
			nft = Ruleset{Backend: BackendNftables, Source: nftLine, Tables: tables, Chains: chains}
			probs = append(probs, p...)
			if len(tables) > 0 {
				nft.Problems = probs
				return nft
			}
		}
	}
	ipt := Ruleset{}
	var sources []string
	for _, c := range [][]string{{"iptables-save"}, {"ip6tables-save"}} {
		line := strings.Join(c, " ")
		out, err := run(ctx, c[0], c[1:]...)
		if err != nil {
			probs = append(probs, hostfs.Problem{File: line, Reason: err.Error()})
			continue
		}
		family := "ip"
		if c[0] == "ip6tables-save" {
			family = "ip6"
		}
		tables, chains, p := ParseIptablesSave(line, out, family)
		ipt.Backend = BackendIptables
		ipt.Tables = append(ipt.Tables, tables...)
		ipt.Chains = append(ipt.Chains, chains...)
		probs = append(probs, p...)
		sources = append(sources, line)
	}
	if len(ipt.Tables) > 0 || nft.Backend == "" {
		ipt.Source = strings.Join(sources, ", ")
		ipt.Problems = probs
		return ipt
	}
	nft.Problems = probs // nft answered, with an empty ruleset
	return nft
}
