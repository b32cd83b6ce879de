package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/moatsec/moat"

type pkg struct {
	ImportPath   string
	Doc          string
	Name         string
	Imports      []string
	TestImports  []string
	XTestImports []string
	GoFiles      []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []pkg
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

func TestEveryPackageHasAComment(t *testing.T) {
	for _, p := range listPackages(t) {
		if len(p.GoFiles) > 0 && strings.TrimSpace(p.Doc) == "" {
			t.Errorf("%s has no package comment", p.ImportPath)
		}
	}
}

// TestEngineBoundaries: only the packages that own an engine import its
// client, in their code (tests of other packages start real servers through
// moattest, pgtest and natstest, which live under the owners).
func TestEngineBoundaries(t *testing.T) {
	rules := []struct {
		what   string
		owner  string // import path prefix allowed to import
		prefix []string
	}{
		{"NATS", module + "/internal/eventlog", []string{"github.com/nats-io/"}},
		{"SQL", module + "/internal/store", []string{"database/sql", "modernc.org/sqlite", "github.com/jackc/pgx", "github.com/pressly/goose"}},
	}
	for _, p := range listPackages(t) {
		for _, imp := range p.Imports {
			for _, r := range rules {
				for _, pre := range r.prefix {
					if strings.HasPrefix(imp, pre) && !strings.HasPrefix(p.ImportPath, r.owner) {
						t.Errorf("%s imports %s: only %s may speak %s", p.ImportPath, imp, r.owner, r.what)
					}
				}
			}
		}
	}
}

// TestAgentImportsNoServer: moat-agent runs on devices. Neither the binary
// nor any agent package (except agenttest, which tests use to start a
// server) may depend on server-side packages, NATS or SQL.
func TestAgentImportsNoServer(t *testing.T) {
	forbidden := []string{
		module + "/internal/store", module + "/internal/eventlog", module + "/internal/hub", module + "/internal/server",
		module + "/internal/center", module + "/internal/web", module + "/internal/discovery", module + "/internal/device",
		"github.com/nats-io/", "database/sql", "modernc.org/sqlite", "github.com/jackc/pgx", "github.com/pressly/goose",
	}
	roots := []string{module + "/cmd/moat-agent"}
	for _, p := range listPackages(t) {
		if strings.HasPrefix(p.ImportPath, module+"/internal/agent") && p.ImportPath != module+"/internal/agent/agenttest" {
			roots = append(roots, p.ImportPath)
		}
	}
	if len(roots) < 5 {
		t.Fatalf("found only %d agent packages", len(roots))
	}
	for _, root := range roots {
		out, err := exec.Command("go", "list", "-deps", root).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", root, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range forbidden {
				if dep == f || strings.HasPrefix(dep, f+"/") || (strings.HasSuffix(f, "/") && strings.HasPrefix(dep, f)) {
					t.Errorf("%s depends on %s: the agent must not import server-side packages", root, dep)
				}
			}
		}
	}
}
