package secmsg_test

import (
	"errors"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/moatsec/moat/secmsg"
)

// FuzzParse: Parse never panics, refuses only with *ValidationError, and
// what it accepts encodes and parses back to an equal message.
func FuzzParse(f *testing.F) {
	golden, err := os.ReadFile(goldenFull)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	b, err := fullMessage().Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(loginMessage))
	for _, tt := range parseTests {
		if len(tt.data) < 4096 {
			f.Add([]byte(tt.data))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := secmsg.Parse(data)
		if err != nil {
			var ve *secmsg.ValidationError
			if !errors.As(err, &ve) || m != nil {
				t.Fatalf("Parse refused with %T %v and message %v", err, err, m)
			}
			return
		}
		out, err := m.Marshal()
		if err != nil {
			var ve *secmsg.ValidationError
			// Escaping can make the encoding longer than the input
			// (U+2028 is written \u2028), past MaxMessageSize.
			if errors.As(err, &ve) && ve.Reason == secmsg.ReasonTooLarge && ve.Path == "" {
				return
			}
			t.Fatalf("Marshal of a parsed message: %v", err)
		}
		again, err := secmsg.Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal(Parse(data))): %v\n%s", err, out)
		}
		if diff := cmp.Diff(m, again); diff != "" {
			t.Fatalf("re-parsed message differs (-first +again):\n%s", diff)
		}
	})
}
