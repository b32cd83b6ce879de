package cli

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// cliDoc is the command-line reference these tests keep in step with the
// command tree.
var cliDoc = filepath.Join("..", "..", "docs", "cli.md")

// docSection is one heading of cli.md that names a command ("## `moat
// alerts list`"): the command path and the text up to the next heading of
// the same or a higher level.
type docSection struct {
	path string
	text string
}

var headingRe = regexp.MustCompile("^(#{2,4}) `(moat(?: [a-z][a-z0-9-]*)*)`")

// docSections returns cli.md's command sections by command path.
func docSections(t *testing.T) map[string]docSection {
	t.Helper()
	b, err := os.ReadFile(cliDoc)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	out := map[string]docSection{}
	inFence := false
	type open struct {
		path  string
		level int
		start int
	}
	var stack []open
	closeTo := func(level, end int) {
		for len(stack) > 0 && stack[len(stack)-1].level >= level {
			o := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			out[o.path] = docSection{path: o.path, text: strings.Join(lines[o.start:end], "\n")}
		}
	}
	for i, l := range lines {
		if strings.HasPrefix(l, "```") {
			inFence = !inFence
			continue
		}
		if inFence || !strings.HasPrefix(l, "#") {
			continue
		}
		level := len(l) - len(strings.TrimLeft(l, "#"))
		closeTo(level, i)
		if m := headingRe.FindStringSubmatch(l); m != nil {
			stack = append(stack, open{path: m[2], level: len(m[1]), start: i})
		}
	}
	closeTo(0, len(lines))
	return out
}

// visibleCommands returns every command of the tree under root that is not
// hidden (nor under a hidden one), root excluded.
func visibleCommands(root *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			out = append(out, sub)
			walk(sub)
		}
	}
	walk(root)
	return out
}

// TestDocsNameEveryCommand: every command and subcommand of moat has a
// section in docs/cli.md (a parent is covered by its own section or by
// those of its subcommands), and appears in the command index at the top.
func TestDocsNameEveryCommand(t *testing.T) {
	sections := docSections(t)
	b, err := os.ReadFile(cliDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	index, _, _ := strings.Cut(doc, "\n## ")
	cmds := visibleCommands(newRoot(io.Discard, io.Discard))
	if len(cmds) < 20 {
		t.Fatalf("found %d commands; the walk is broken", len(cmds))
	}
	for _, c := range cmds {
		path := c.CommandPath()
		if _, ok := sections[path]; !ok && !c.HasSubCommands() {
			t.Errorf("%s: no section (a heading \"## `%s`\") in docs/cli.md", path, path)
		}
		if c.HasSubCommands() {
			covered := false
			for p := range sections {
				covered = covered || p == path || strings.HasPrefix(p, path+" ")
			}
			if !covered {
				t.Errorf("%s: neither it nor a subcommand has a section in docs/cli.md", path)
			}
		}
		// The index names each top-level command, and each subcommand
		// either in full or in the "moat parent a|b|c" form.
		top := strings.Fields(path)[1]
		if !regexp.MustCompile("`moat " + regexp.QuoteMeta(top) + "[ `]").MatchString(index) {
			t.Errorf("%s: not in the command index at the top of docs/cli.md", path)
		}
	}
}

// TestDocsNameEveryFlag: every flag of a command without subcommands is
// named (--flag) in that command's section of docs/cli.md.
func TestDocsNameEveryFlag(t *testing.T) {
	sections := docSections(t)
	for _, c := range visibleCommands(newRoot(io.Discard, io.Discard)) {
		if c.HasSubCommands() {
			continue
		}
		s, ok := sections[c.CommandPath()]
		if !ok {
			continue // reported by TestDocsNameEveryCommand
		}
		c.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
			if f.Hidden || f.Name == "help" {
				return
			}
			if !regexp.MustCompile("--" + regexp.QuoteMeta(f.Name) + `\b`).MatchString(s.text) {
				t.Errorf("%s --%s: not in its section of docs/cli.md", c.CommandPath(), f.Name)
			}
		})
	}
}

// TestDocSections checks the section parser on a small document.
func TestDocSections(t *testing.T) {
	dir := t.TempDir()
	old := cliDoc
	cliDoc = filepath.Join(dir, "cli.md")
	t.Cleanup(func() { cliDoc = old })
	doc := "# title\n\n## `moat a`\n\nabout a\n\n### `moat a b`\n\n```\n## `moat fake`\n```\n--flag\n\n## Other\n\ntext\n"
	if err := os.WriteFile(cliDoc, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	got := docSections(t)
	if len(got) != 2 {
		t.Fatalf("sections %v, want moat a and moat a b", got)
	}
	if s := got["moat a b"].text; !strings.Contains(s, "--flag") || strings.Contains(s, "## Other") {
		t.Errorf("moat a b section = %q", s)
	}
	if s := got["moat a"].text; !strings.Contains(s, "about a") || !strings.Contains(s, "--flag") || strings.Contains(s, "text") {
		t.Errorf("moat a section = %q", s)
	}
}
