package device

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/internal/store"
)

// importChunk is how many devices one store write of an import holds. Each
// chunk is one transaction; between chunks other writers get the database
// (SQLite has a single writer).
const importChunk = 10_000

// maxImportErrors is how many invalid rows an import error lists.
const maxImportErrors = 10

// ErrReadImport marks an error reading an import's input (wrapped with the
// reader's own error, such as an *http.MaxBytesError).
var ErrReadImport = errors.New("device: read import")

// importRow is a validated row of an import.
type importRow struct {
	line int
	dr   draft
}

// Import creates or replaces the devices read from r in format (csv or
// jsonl) and returns how many it wrote. Each row is treated as Put treats a
// device (what a row leaves out is kept, status changes revoke and restore
// publishers).
//
// Every row is read and validated before anything is written: IDs and
// thumbprints must be unique in the import and hubs must exist. Invalid rows
// are 400 invalid_import, listing up to ten of them by line number. The
// devices are then written in chunks of 10,000, each atomic: should a write
// fail (a thumbprint registered to a device outside the import, 409
// thumbprint_in_use; the store unavailable, 503), the chunks before it stay
// written, and running the same import again is safe.
//
// An error reading r is returned wrapping both ErrReadImport and the
// reader's error.
func (s *Service) Import(ctx context.Context, format string, r io.Reader) (int, error) {
	format, err := CheckFormat(format)
	if err != nil {
		return 0, err
	}
	rows, err := s.readImport(ctx, format, r)
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	olds, err := s.existingAmong(ctx, rows)
	if err != nil {
		return 0, err
	}
	n := 0
	for chunk := range slices.Chunk(rows, importChunk) {
		if err := s.writeChunk(ctx, chunk, olds); err != nil {
			return n, err
		}
		n += len(chunk)
	}
	s.logger.Info("devices imported", "devices", n, "format", format)
	return n, nil
}

// readImport reads and validates every row.
func (s *Service) readImport(ctx context.Context, format string, r io.Reader) ([]importRow, error) {
	hubs, err := s.store.ListHubs(ctx)
	if err != nil {
		return nil, hub.StoreError(err)
	}
	hubSet := make(map[string]bool, len(hubs))
	for _, h := range hubs {
		hubSet[h.Name] = true
	}
	var (
		rows   []importRow
		bad    []string
		nBad   int
		idLine = map[string]int{}
		tpLine = map[string]int{}
		reject = func(line int, format string, args ...any) {
			nBad++
			if len(bad) < maxImportErrors {
				bad = append(bad, fmt.Sprintf("line %d: ", line)+fmt.Sprintf(format, args...))
			}
		}
	)
	err = decodeRows(format, r, func(line int, d Device, err error) error {
		if err != nil {
			reject(line, "%v", err)
			return nil
		}
		dr, err := s.check(d.ID, d)
		switch {
		case err != nil:
			reject(line, "%s", apierr.As(err).Message)
		case !hubSet[dr.hub]:
			reject(line, "device %q: hub %q does not exist", dr.id, dr.hub)
		case idLine[dr.id] > 0:
			reject(line, "device %q is also on line %d", dr.id, idLine[dr.id])
		case dr.thumbprint != "" && tpLine[dr.thumbprint] > 0:
			reject(line, "device %q: certificate thumbprint %s is also on line %d", dr.id, dr.thumbprint, tpLine[dr.thumbprint])
		default:
			idLine[dr.id] = line
			if dr.thumbprint != "" {
				tpLine[dr.thumbprint] = line
			}
			rows = append(rows, importRow{line, dr})
		}
		return nil
	})
	var fe *formatError
	switch {
	case errors.As(err, &fe):
		return nil, apierr.BadRequest("invalid_import", "not valid %s: %v", format, fe)
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrReadImport, err)
	case nBad > 0:
		more := ""
		if nBad > len(bad) {
			more = fmt.Sprintf("; and %d more", nBad-len(bad))
		}
		rows := "rows"
		if nBad == 1 {
			rows = "row"
		}
		return nil, apierr.BadRequest("invalid_import", "%d invalid %s, nothing imported: %s%s", nBad, rows, strings.Join(bad, "; "), more)
	}
	return rows, nil
}

// existingAmong returns the stored devices that the import replaces, read
// page by page over the range of IDs the import spans.
func (s *Service) existingAmong(ctx context.Context, rows []importRow) (map[string]store.Device, error) {
	want := make(map[string]bool, len(rows))
	lo, hi := rows[0].dr.id, rows[0].dr.id
	for _, r := range rows {
		want[r.dr.id] = true
		lo, hi = min(lo, r.dr.id), max(hi, r.dr.id)
	}
	out := map[string]store.Device{}
	f := store.DeviceFilter{After: lo[:len(lo)-1], Limit: MaxPageSize} // a prefix sorts before lo
	for {
		page, err := s.store.ListDevices(ctx, f)
		if err != nil {
			return nil, hub.StoreError(err)
		}
		for _, d := range page {
			if want[d.ID] {
				out[d.ID] = d
			}
		}
		if len(page) < f.Limit || page[len(page)-1].ID >= hi {
			return out, nil
		}
		f.After = page[len(page)-1].ID
	}
}

// writeChunk writes one chunk of an import in one store call, with the
// publisher side effects of Put around it.
func (s *Service) writeChunk(ctx context.Context, chunk []importRow, olds map[string]store.Device) error {
	sds := make([]store.Device, len(chunk))
	oldOf := func(id string) *store.Device {
		if d, ok := olds[id]; ok {
			return &d
		}
		return nil
	}
	for i, r := range chunk {
		old := oldOf(r.dr.id)
		sd, err := s.build(r.dr, old)
		if err != nil {
			return err
		}
		if err := s.block(ctx, old, sd); err != nil {
			return err
		}
		sds[i] = sd
	}
	if err := s.store.PutDevices(ctx, sds); err != nil {
		return s.importWriteErr(ctx, err, chunk)
	}
	for _, sd := range sds {
		s.changed(sd.ID)
	}
	for _, sd := range sds {
		if err := s.unblock(ctx, oldOf(sd.ID), sd); err != nil {
			return err
		}
	}
	return nil
}

// importWriteErr explains a failed chunk write. For a thumbprint conflict
// it looks for the row whose thumbprint another device holds.
func (s *Service) importWriteErr(ctx context.Context, err error, chunk []importRow) error {
	first := chunk[0].line
	if !errors.Is(err, store.ErrConflict) {
		return hub.StoreError(err)
	}
	inChunk := make(map[string]bool, len(chunk))
	for _, r := range chunk {
		inChunk[r.dr.id] = true
	}
	for _, r := range chunk {
		if r.dr.thumbprint == "" {
			continue
		}
		if holder, gerr := s.store.GetDeviceByThumbprint(ctx, r.dr.thumbprint); gerr == nil && !inChunk[holder.ID] {
			return apierr.Wrap(err, http.StatusConflict, "thumbprint_in_use",
				"line %d: certificate thumbprint %s is registered to device %q; the rows from line %d on were not imported",
				r.line, r.dr.thumbprint, holder.ID, first)
		}
	}
	return apierr.Wrap(err, http.StatusConflict, "thumbprint_in_use",
		"a certificate thumbprint of the import is registered to another device; the rows from line %d on were not imported", first)
}

// Export writes every device, with its keys, in format (csv or jsonl) to
// w. The devices are read page by page in ID order, so devices changed
// during a long export may appear as they were before or after the change.
// Nothing is written when the first page cannot be read; an error after
// that leaves w with a partial export.
func (s *Service) Export(ctx context.Context, format string, w io.Writer) error {
	format, err := CheckFormat(format)
	if err != nil {
		return err
	}
	var enc rowEncoder
	f := store.DeviceFilter{Limit: MaxPageSize}
	for {
		page, err := s.store.ListDevices(ctx, f)
		if err != nil {
			return hub.StoreError(err)
		}
		if enc == nil {
			if enc, err = newEncoder(format, w, ExportColumns); err != nil {
				return fmt.Errorf("device: export: %w", err)
			}
		}
		for _, sd := range page {
			v, err := s.view(sd, true)
			if err != nil {
				return err
			}
			if err := enc.encode(v); err != nil {
				return fmt.Errorf("device: export: %w", err)
			}
		}
		if err := enc.flush(); err != nil {
			return fmt.Errorf("device: export: %w", err)
		}
		if len(page) < f.Limit {
			return nil
		}
		f.After = page[len(page)-1].ID
	}
}
