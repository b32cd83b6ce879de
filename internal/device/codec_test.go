package device

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/moatsec/moat/internal/discovery/geo"
)

// row is what decodeRows reports for one line.
type row struct {
	Line int
	Dev  Device
	Err  string
}

func decodeAll(t *testing.T, format, in string) ([]row, error) {
	t.Helper()
	var rows []row
	err := decodeRows(format, strings.NewReader(in), func(line int, d Device, err error) error {
		r := row{Line: line, Dev: d}
		if err != nil {
			r.Err = err.Error()
		}
		rows = append(rows, r)
		return nil
	})
	return rows, err
}

func TestDecodeCSV(t *testing.T) {
	in := "\uFEFFhub,id,tags,policy,statusReason\n" + // any order, BOM, statusReason
		"h,dev-1,site=berlin;floor=2,\"{\"\"maxSilence\"\":\"\"1h\"\"}\",why\n" +
		"\n" + // blank lines are skipped
		"h,dev-2,,,\n" +
		"h,dev-3,novalue,,\n" +
		"h,dev-4,,\"{\"\"bogus\"\":1}\",\n" +
		"h,dev-5\n" +
		"h,\"dev\n6\",,,\n" + // a quoted field spanning lines: the row starts on line 8
		"h,dev-7,a=1;a=2,,\n"
	rows, err := decodeAll(t, FormatCSV, in)
	if err != nil {
		t.Fatal(err)
	}
	want := []row{
		{Line: 2, Dev: Device{ID: "dev-1", Spec: Spec{Hub: "h", StatusReason: "why",
			Tags: map[string]string{"site": "berlin", "floor": "2"}, Policy: Policy{MaxSilence: Duration(3600e9)}}}},
		{Line: 4, Dev: Device{ID: "dev-2", Spec: Spec{Hub: "h"}}},
		{Line: 5, Err: `tags: "novalue" is not key=value`},
		{Line: 6, Err: `policy: json: unknown field "bogus"`},
		{Line: 7, Err: "2 fields, want 5"},
		{Line: 8, Dev: Device{ID: "dev\n6", Spec: Spec{Hub: "h"}}},
		{Line: 10, Err: `tags: key "a" appears twice`},
	}
	// Failed rows carry whatever was read before the error; compare the error only.
	for i := range rows {
		if rows[i].Err != "" {
			rows[i].Dev = Device{}
		}
	}
	if d := cmp.Diff(want, rows, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}
}

func TestDecodeCSVFormatErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"id,hub,color\n", `line 1: unknown column "color"`},
		{"id,hub,id\n", `line 1: column "id" appears twice`},
		{"id,status\n", `line 1: the header has no "hub" column`},
		{"id,hub\nx,\"unterminated\n", `line 2`},
	} {
		_, err := decodeAll(t, FormatCSV, tc.in)
		var fe *formatError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("decode %q: err = %v, want a format error containing %q", tc.in, err, tc.want)
		}
	}
	if rows, err := decodeAll(t, FormatCSV, ""); err != nil || len(rows) != 0 {
		t.Errorf("empty CSV: %v, %v; want no rows and no error", rows, err)
	}
}

func TestDecodeJSONL(t *testing.T) {
	in := `{"id":"dev-1","hub":"h","tags":{"a":"1"},"createdAt":"2026-11-23T18:31:10Z"}` + "\n" +
		"   \n" +
		`{"id":"dev-2","hub":"h","color":"red"}` + "\n" +
		`{"id":"dev-3","hub":"h"} {"id":"dev-4"}` + "\n" +
		`not json` + "\n" +
		`{"id":"dev-5","hub":"h","policy":{"tokenTTL":300}}`
	rows, err := decodeAll(t, FormatJSONL, in)
	if err != nil {
		t.Fatal(err)
	}
	lines := []int{}
	for _, r := range rows {
		lines = append(lines, r.Line)
	}
	if !slices.Equal(lines, []int{1, 3, 4, 5, 6}) {
		t.Fatalf("lines %v, want 1 3 4 5 6", lines)
	}
	if rows[0].Err != "" || rows[0].Dev.ID != "dev-1" || rows[0].Dev.Tags["a"] != "1" {
		t.Errorf("line 1: %+v", rows[0])
	}
	for _, r := range rows[1:] {
		if r.Err == "" {
			t.Errorf("line %d: no error for %+v", r.Line, r.Dev)
		}
	}

	_, err = decodeAll(t, FormatJSONL, strings.Repeat("x", maxJSONLine+1))
	var fe *formatError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("overlong line: err = %v, want a format error naming line 1", err)
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	devs := []Device{
		{ID: "dev-1", Spec: Spec{Hub: "h", Status: "quarantined", StatusReason: "port scan, then \"ssh\"",
			Tags: map[string]string{"site": "berlin", "x": "a=b"}, PrimaryKey: "a2V5", SecondaryKey: "a2V5Mg==",
			CertThumbprint: strings.Repeat("ab", 32),
			Policy: Policy{AllowedNetworks: []string{"10.0.0.0/8"}, MaxSilence: Duration(90e9), TokenTTL: Duration(300e9),
				Geofence: &geo.Fence{Circle: &geo.Circle{Center: geo.Point{Lat: 52.5, Lon: 13.4}, RadiusMeters: 500}}}}},
		{ID: "dev-2", Spec: Spec{Hub: "h"}},
	}
	header := append(slices.Clone(ExportColumns), "statusReason")
	for _, format := range []string{FormatCSV, FormatJSONL} {
		var buf bytes.Buffer
		enc, err := newEncoder(format, &buf, header)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range devs {
			if err := enc.encode(d); err != nil {
				t.Fatal(err)
			}
		}
		if err := enc.flush(); err != nil {
			t.Fatal(err)
		}
		rows, err := decodeAll(t, format, buf.String())
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		var got []Device
		for _, r := range rows {
			if r.Err != "" {
				t.Fatalf("%s line %d: %s", format, r.Line, r.Err)
			}
			got = append(got, r.Dev)
		}
		if d := cmp.Diff(devs, got, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("%s round trip (-want +got):\n%s\n%s", format, d, buf.String())
		}
	}
}

func TestDurationText(t *testing.T) {
	for _, tc := range []struct {
		d    Duration
		want string
	}{
		{Duration(5 * 60e9), "5m"}, {Duration(3600e9), "1h"}, {Duration(5400e9), "1h30m"},
		{Duration(3601e9), "1h0m1s"}, {Duration(10e9), "10s"}, {Duration(1.5e9), "1.5s"}, {0, "0s"},
	} {
		b, err := tc.d.MarshalText()
		if err != nil || string(b) != tc.want {
			t.Errorf("MarshalText(%d) = %q, %v; want %q", tc.d, b, err, tc.want)
		}
		var back Duration
		if err := back.UnmarshalText(b); err != nil || back != tc.d {
			t.Errorf("UnmarshalText(%q) = %d, %v; want %d", b, back, err, tc.d)
		}
	}
	var d Duration
	if err := d.UnmarshalText([]byte("soon")); err == nil {
		t.Error(`UnmarshalText("soon"): err = nil`)
	}
}

// FuzzDecodeCSV and FuzzDecodeJSONL: any input either fails as a whole with
// a format error, or yields rows; nothing panics, validation included. A
// row that is a valid device encodes to text that decodes to the same
// encoding. (Invalid ones need not: the csv package reads a quoted "\r\n"
// back as "\n", but no valid device has a control character.)
func FuzzDecodeCSV(f *testing.F) {
	for _, s := range []string{
		"id,hub,status,tags,primaryKey,secondaryKey,certThumbprint,policy\nd,h,enabled,a=1;b=2,k,k2,ab,\"{\"\"tokenTTL\"\":\"\"5m\"\"}\"\n",
		"hub,id\nh,d\nh\n", "id,hub\n\"x\ny\",h\n", "id,hub,policy\nd,h,{\"geofence\":{\"polygon\":[{\"lat\":1,\"lon\":2}]}}\n",
		"", "\uFEFFid,hub\n", "id,hub,tags\nd,h,=\n", "a,b\n\"",
		"id,hub,status,tags,primaryKey,secondaryKey,certThumbprint,policy,statusReason\n" +
			"dev-1,h,quarantined,site=x;f=2,MDEyMzQ1Njc4OWFiY2RlZg==,," + strings.Repeat("ab", 32) +
			",\"{\"\"tokenTTL\"\":\"\"10m\"\",\"\"allowedNetworks\"\":[\"\"10.0.0.0/8\"\"]}\",why\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) { fuzzCodec(t, FormatCSV, in) })
}

func FuzzDecodeJSONL(f *testing.F) {
	for _, s := range []string{
		`{"id":"d","hub":"h","tags":{"a":"1"},"policy":{"maxSilence":"1h","maintenance":{"windows":[{"days":["mon"],"start":"01:00","duration":"1h"}]}}}`,
		"{}\n\n{\"id\":1}\n", `{"id":"d"} x`, "null", `{"policy":{"geofence":{"circle":{"center":{"lat":1e400}}}}}`,
		`{"id":"dev-1","hub":"h","status":"disabled","primaryKey":"MDEyMzQ1Njc4OWFiY2RlZg==","policy":{"geofence":` +
			`{"polygon":[{"lat":1,"lon":2},{"lat":1,"lon":3},{"lat":2,"lon":3}]},"maintenance":{"ranges":` +
			`[{"from":"2026-01-01T00:00:00+01:00","to":"2026-01-02T00:00:00Z"}]},"maxSilence":"1h"}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) { fuzzCodec(t, FormatJSONL, in) })
}

func fuzzCodec(t *testing.T, format, in string) {
	header := append(slices.Clone(ExportColumns), "statusReason")
	err := decodeRows(format, strings.NewReader(in), func(line int, d Device, err error) error {
		if line < 1 {
			t.Fatalf("line %d", line)
		}
		if err != nil {
			return nil
		}
		if _, err := fuzzService.check(d.ID, d); err != nil {
			return nil
		}
		first := encodeOne(t, format, header, d)
		if second := encodeOne(t, format, header, decodeOne(t, format, first)); second != first {
			t.Fatalf("unstable encoding:\n%q\n%q", first, second)
		}
		return nil
	})
	var fe *formatError
	if err != nil && !errors.As(err, &fe) {
		t.Fatalf("error that is not a format error: %v", err)
	}
}

// fuzzService validates devices (check needs no store).
var fuzzService = &Service{maxTTL: DefaultMaxTokenTTL}

// decodeOne decodes the one device an encoding holds.
func decodeOne(t *testing.T, format, encoded string) Device {
	t.Helper()
	var out []Device
	err := decodeRows(format, strings.NewReader(encoded), func(_ int, d Device, err error) error {
		if err != nil {
			t.Fatalf("decoding %q: %v", encoded, err)
		}
		out = append(out, d)
		return nil
	})
	if err != nil || len(out) != 1 {
		t.Fatalf("%q decodes to %d devices, err %v; want 1", encoded, len(out), err)
	}
	return out[0]
}

func encodeOne(t *testing.T, format string, header []string, d Device) string {
	t.Helper()
	var buf bytes.Buffer
	enc, err := newEncoder(format, &buf, header)
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.encode(d); err != nil {
		t.Fatalf("encode %+v: %v", d, err)
	}
	if err := enc.flush(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}
