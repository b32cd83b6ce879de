package detect

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/moatsec/moat/internal/center"
)

// excerptFields are the fields an excerpt shows, in this order, when
// present.
var excerptFields = []string{
	"Result", "Operation", "UserName", "RemoteAddress", "reason", "result", "publisher", "sourceAddress",
	"Protocol", "LocalAddress", "LocalPort", "Executable", "CommandLine", "GroupNames",
	"ChainName", "Hook", "IsDefaultPolicy", "Action", "CheckId", "Component", "Message",
}

// maxExcerpt bounds an excerpt, in bytes.
const maxExcerpt = 200

// excerpt summarizes an event in one short line:
// "Login Result=Fail UserName=admin RemoteAddress=203.0.113.7 ×6".
func excerpt(e *center.Event) string {
	var b strings.Builder
	b.WriteString(e.Name)
	if e.Change != "" {
		b.WriteString(" (" + e.Change + ")")
	} else if e.SnapshotMode == "Full" && len(e.Fields) == 0 {
		b.WriteString(" (empty snapshot)")
	}
	for _, f := range excerptFields {
		v, ok := e.Fields[f]
		if !ok || v == "" {
			continue
		}
		b.WriteString(" " + f + "=" + v)
		if b.Len() > maxExcerpt {
			break
		}
	}
	if e.Count > 1 {
		b.WriteString(" ×" + strconv.FormatInt(e.Count, 10))
	}
	return clip(b.String(), maxExcerpt)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n - len("…")
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

func evidenceOf(e *center.Event) center.Evidence {
	return center.Evidence{EventID: e.ID, Time: e.Time, Excerpt: excerpt(e)}
}
