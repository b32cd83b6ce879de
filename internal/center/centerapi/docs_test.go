package centerapi

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// restDoc is the HTTP API reference this test keeps in step with Routes.
var restDoc = filepath.Join("..", "..", "..", "docs", "rest.md")

// TestDocsNameEveryRoute: every route of the center's API is documented in
// docs/rest.md: its "METHOD /path" opens a line (the request of its
// section) and it has a row in the endpoint summary table.
func TestDocsNameEveryRoute(t *testing.T) {
	b, err := os.ReadFile(restDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	_, summary, ok := strings.Cut(doc, "\n## Endpoint summary\n")
	if !ok {
		t.Fatal(`docs/rest.md has no "## Endpoint summary" section`)
	}
	summary, _, _ = strings.Cut(summary, "\n## ")
	routes := Routes(Options{})
	if len(routes) == 0 {
		t.Fatal("Routes returned nothing")
	}
	for _, r := range routes {
		method, path, ok := strings.Cut(r.Pattern, " ")
		if !ok || !strings.HasPrefix(path, "/") {
			t.Errorf("route %q: want \"METHOD /path\"", r.Pattern)
			continue
		}
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(r.Pattern) + `\s*$`).MatchString(doc) {
			t.Errorf("%s: no line \"%s\" in docs/rest.md (the request of the endpoint's section)", r.Pattern, r.Pattern)
		}
		// A summary row: | `GET` | `/path` | … or | `GET`, `POST` | `/path` | …
		row := `(?m)^\|[^|\n]*` + "`" + method + "`" + `[^|\n]*\|\s*` + "`" + regexp.QuoteMeta(path) + "`" + `\s*\|`
		if !regexp.MustCompile(row).MatchString(summary) {
			t.Errorf("%s: no row in the endpoint summary of docs/rest.md", r.Pattern)
		}
	}
}
