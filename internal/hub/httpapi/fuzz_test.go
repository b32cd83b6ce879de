package httpapi

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/moatsec/moat/internal/apierr"
)

// FuzzParseBatch: any input either parses into events whose count matches
// the array, or fails with a 400 malformed_batch/empty_batch — never a panic
// or another kind of error.
func FuzzParseBatch(f *testing.F) {
	for _, s := range []string{
		`[{"Body":"x"}]`,
		`[{"Body":"a","UserProperties":{"n":1,"b":true,"s":"x","f":1.5}},{"Body":{"json":1},"BrokerProperties":{"PartitionKey":"k"}}]`,
		`[]`, `[{}]`, `{"Body":"x"}`, `[{"Body":null}]`, `[{"Body":"\u00e9\ud83d\ude00"}]`, `[1,2]`, `[{"Body":"x"}]]`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, err := ParseBatch(data)
		if err != nil {
			var e *apierr.Error
			if !errors.As(err, &e) || e.Status != 400 || (e.Reason != "malformed_batch" && e.Reason != "empty_batch") {
				t.Fatalf("unexpected error kind: %#v", err)
			}
			return
		}
		var arr []json.RawMessage
		if json.Unmarshal(data, &arr) != nil {
			t.Fatalf("ParseBatch accepted input encoding/json rejects as an array: %q", data)
		}
		if len(evs) != len(arr) || len(evs) == 0 {
			t.Fatalf("%d events from an array of %d", len(evs), len(arr))
		}
		for i, e := range evs {
			if e.Body == nil {
				t.Fatalf("event %d has a nil body", i)
			}
		}
	})
}
