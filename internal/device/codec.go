package device

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// Formats of Import and Export.
const (
	FormatCSV   = "csv"   // a header row, then one device per row
	FormatJSONL = "jsonl" // one device (as the API shows it) per line
)

// CheckFormat returns the format named by s (case-insensitive), or
// 400 invalid_query.
func CheckFormat(s string) (string, error) {
	switch f := strings.ToLower(s); f {
	case FormatCSV, FormatJSONL:
		return f, nil
	}
	return "", badQuery("format %.64q: want %s or %s", s, FormatCSV, FormatJSONL)
}

// column is one CSV column: how a device's field is written to and read
// from its cell.
type column struct {
	name string
	get  func(d *Device) (string, error)
	set  func(d *Device, cell string) error
}

// columns are every CSV column Import accepts. Export writes ExportColumns.
var columns = []column{
	{"id", func(d *Device) (string, error) { return d.ID, nil }, func(d *Device, c string) error { d.ID = c; return nil }},
	{"hub", func(d *Device) (string, error) { return d.Hub, nil }, func(d *Device, c string) error { d.Hub = c; return nil }},
	{"status", func(d *Device) (string, error) { return d.Status, nil }, func(d *Device, c string) error { d.Status = c; return nil }},
	{"statusReason", func(d *Device) (string, error) { return d.StatusReason, nil },
		func(d *Device, c string) error { d.StatusReason = c; return nil }},
	{"tags", func(d *Device) (string, error) { return FormatTags(d.Tags), nil },
		func(d *Device, c string) (err error) { d.Tags, err = parseTags(c); return err }},
	{"primaryKey", func(d *Device) (string, error) { return d.PrimaryKey, nil },
		func(d *Device, c string) error { d.PrimaryKey = c; return nil }},
	{"secondaryKey", func(d *Device) (string, error) { return d.SecondaryKey, nil },
		func(d *Device, c string) error { d.SecondaryKey = c; return nil }},
	{"certThumbprint", func(d *Device) (string, error) { return d.CertThumbprint, nil },
		func(d *Device, c string) error { d.CertThumbprint = c; return nil }},
	{"policy", formatPolicy, func(d *Device, c string) (err error) { d.Policy, err = parsePolicy(c); return err }},
}

// ExportColumns is the header Export writes. Import also accepts
// statusReason, and any subset of the columns that includes id and hub, in
// any order.
var ExportColumns = []string{"id", "hub", "status", "tags", "primaryKey", "secondaryKey", "certThumbprint", "policy"}

func columnNamed(name string) (column, bool) {
	i := slices.IndexFunc(columns, func(c column) bool { return c.name == name })
	if i < 0 {
		return column{}, false
	}
	return columns[i], true
}

// FormatTags writes tags as k=v pairs separated by ';', ordered by key, as
// the CSV format does. Keys hold neither '=' nor ';', values no ';'.
func FormatTags(tags map[string]string) string {
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(tags)) {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(k + "=" + tags[k])
	}
	return b.String()
}

// parseTags reads formatTags's form; "" is no tags.
func parseTags(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	tags := map[string]string{}
	for _, kv := range strings.Split(s, ";") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("tags: %.64q is not key=value", kv)
		}
		if _, dup := tags[k]; dup {
			return nil, fmt.Errorf("tags: key %.64q appears twice", k)
		}
		tags[k] = v
	}
	return tags, nil
}

// formatPolicy writes a policy as JSON, or "" for the zero policy.
func formatPolicy(d *Device) (string, error) {
	b, err := json.Marshal(d.Policy)
	if err != nil || string(b) == "{}" {
		return "", err
	}
	return string(b), nil
}

// parsePolicy reads a policy's JSON strictly; "" is the zero policy.
func parsePolicy(s string) (Policy, error) {
	var p Policy
	if s == "" {
		return p, nil
	}
	if err := decodeStrict([]byte(s), &p); err != nil {
		return Policy{}, fmt.Errorf("policy: %w", err)
	}
	p.normalize()
	return p, nil
}

// decodeStrict decodes one JSON value with no unknown fields and nothing
// after it.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

// rowFunc receives each device an import holds, with its line number, or
// the error that kept the line from being read as a device. Returning an
// error stops the reading.
type rowFunc func(line int, d Device, err error) error

// decodeRows reads the devices of r in format (see CheckFormat) and calls
// fn for each. When the input cannot be read any further as that format (a
// malformed CSV header or quoting, an overlong JSONL line) it returns a
// *formatError naming the line; an error of r or fn is returned as it is.
func decodeRows(format string, r io.Reader, fn rowFunc) error {
	if format == FormatCSV {
		return decodeCSV(r, fn)
	}
	return decodeJSONL(r, fn)
}

// formatError is input that is not in the format it claims.
type formatError struct{ err error }

func (e *formatError) Error() string { return e.err.Error() }
func (e *formatError) Unwrap() error { return e.err }

// maxJSONLine bounds one JSONL line.
const maxJSONLine = 1 << 20

func decodeJSONL(r io.Reader, fn rowFunc) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxJSONLine)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var d Device
		err := decodeStrict(b, &d)
		d.Policy.normalize()
		if err := fn(line, d, err); err != nil {
			return err
		}
	}
	if errors.Is(sc.Err(), bufio.ErrTooLong) {
		return &formatError{fmt.Errorf("line %d: longer than %d bytes", line+1, maxJSONLine)}
	}
	return sc.Err()
}

func decodeCSV(r io.Reader, fn rowFunc) error {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return csvErr(err)
	}
	cols, err := csvHeader(header)
	if err != nil {
		return &formatError{fmt.Errorf("line 1: %w", err)}
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
			if err := fn(pe.StartLine, Device{}, fmt.Errorf("%d fields, want %d", len(rec), len(cols))); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return csvErr(err)
		}
		line, _ := cr.FieldPos(0)
		var (
			d      Device
			rowErr error
		)
		for i, c := range cols {
			if rowErr = c.set(&d, rec[i]); rowErr != nil {
				break
			}
		}
		if err := fn(line, d, rowErr); err != nil {
			return err
		}
	}
}

// csvErr marks the csv package's syntax errors, which name the line, as
// format errors; other errors come from the reader.
func csvErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &formatError{err}
	}
	return err
}

// csvHeader resolves a header row to its columns. A UTF-8 byte-order mark
// (as spreadsheets write) is ignored.
func csvHeader(header []string) ([]column, error) {
	cols := make([]column, len(header))
	for i, name := range header {
		if i == 0 {
			name = strings.TrimPrefix(name, "\uFEFF")
		}
		c, ok := columnNamed(strings.TrimSpace(name))
		if !ok {
			return nil, fmt.Errorf("unknown column %.64q: want %s (and statusReason)", name, strings.Join(ExportColumns, ","))
		}
		if slices.ContainsFunc(cols[:i], func(o column) bool { return o.name == c.name }) {
			return nil, fmt.Errorf("column %q appears twice", c.name)
		}
		cols[i] = c
	}
	for _, need := range []string{"id", "hub"} {
		if !slices.ContainsFunc(cols, func(c column) bool { return c.name == need }) {
			return nil, fmt.Errorf("the header has no %q column", need)
		}
	}
	return cols, nil
}

// rowEncoder writes devices in an export format.
type rowEncoder interface {
	encode(d Device) error
	flush() error
}

func newEncoder(format string, w io.Writer, header []string) (rowEncoder, error) {
	if format == FormatJSONL {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return jsonlEncoder{enc}, nil
	}
	cols := make([]column, len(header))
	for i, name := range header {
		c, ok := columnNamed(name)
		if !ok {
			return nil, fmt.Errorf("device: unknown CSV column %q", name)
		}
		cols[i] = c
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return nil, err
	}
	return &csvEncoder{w: cw, cols: cols, rec: make([]string, len(cols))}, nil
}

type jsonlEncoder struct{ enc *json.Encoder }

func (e jsonlEncoder) encode(d Device) error { return e.enc.Encode(d) }
func (e jsonlEncoder) flush() error          { return nil }

type csvEncoder struct {
	w    *csv.Writer
	cols []column
	rec  []string
}

func (e *csvEncoder) encode(d Device) error {
	for i, c := range e.cols {
		v, err := c.get(&d)
		if err != nil {
			return err
		}
		e.rec[i] = v
	}
	return e.w.Write(e.rec)
}

func (e *csvEncoder) flush() error {
	e.w.Flush()
	return e.w.Error()
}
