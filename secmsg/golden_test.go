package secmsg_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/moatsec/moat/secmsg"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const goldenFull = "testdata/full_message.json"

// TestGoldenEncode: the message with one event of each name encodes, indented,
// to the golden file byte for byte.
func TestGoldenEncode(t *testing.T) {
	b, err := fullMessage().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, b, "", "  "); err != nil {
		t.Fatal(err)
	}
	indented.WriteByte('\n')
	if *update {
		if err := os.WriteFile(goldenFull, indented.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(goldenFull)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), indented.String()); diff != "" {
		t.Errorf("encoding differs from %s (-golden +got), rerun with -update if intended:\n%s", goldenFull, diff)
	}
}

// TestGoldenParse: the golden file parses back to the message it was made
// from, and re-encodes to the same compact bytes.
func TestGoldenParse(t *testing.T) {
	data, err := os.ReadFile(goldenFull)
	if err != nil {
		t.Fatal(err)
	}
	got, err := secmsg.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	want := fullMessage()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse(golden) (-want +got):\n%s", diff)
	}
	if len(got.Events) != len(secmsg.Names()) {
		t.Fatalf("%d events, want one per name (%d)", len(got.Events), len(secmsg.Names()))
	}
	for i, name := range secmsg.Names() {
		if got.Events[i].Name != name {
			t.Errorf("Events[%d].Name = %s, want %s", i, got.Events[i].Name, name)
		}
	}
	again, err := got.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, data); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, compact.Bytes()) {
		t.Errorf("re-encoding differs from the compacted golden file:\n%s\n%s", again, compact.Bytes())
	}
}

// TestDocExample: every JSON example of docs/security-message.md that is a
// whole message parses, and the last one, the full example, is the golden
// file.
func TestDocExample(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "security-message.md"))
	if os.IsNotExist(err) {
		t.Skip("docs/security-message.md absent")
	} else if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```json\n(.*?)```").FindAllSubmatch(doc, -1)
	n := 0
	for _, b := range blocks {
		if !bytes.Contains(b[1], []byte(`"MessageSchemaVersion"`)) {
			continue
		}
		n++
		if _, err := secmsg.Parse(b[1]); err != nil {
			t.Errorf("example %d: %v\n%s", n, err, b[1])
		}
	}
	if n == 0 {
		t.Fatal("no message example found in the doc")
	}
	golden, err := os.ReadFile(goldenFull)
	if err != nil {
		t.Fatal(err)
	}
	if last := blocks[len(blocks)-1][1]; !bytes.Equal(last, golden) {
		t.Errorf("the doc's full example is not %s: copy it over", goldenFull)
	}
}
