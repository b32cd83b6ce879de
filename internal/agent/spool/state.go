package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
)

// State file layout (little endian), 76 bytes:
//
//	0  magic    [4]byte "MSPS"
//	4  version  uint32  1
//	8  High: head, lostThrough, droppedFull, droppedCorrupt  4 × uint64
//	40 Low:  same
//	72 crc      uint32  CRC-32C of bytes 0..71
const (
	stateName    = "state"
	stateTmpName = "state.tmp"
	stateSize    = 76
	stateVersion = 1
)

var stateMagic = [4]byte{'M', 'S', 'P', 'S'}

// queueState is what the state file keeps per priority.
type queueState struct {
	// head is the sequence number of the oldest record not yet acknowledged
	// or dropped: every record with a smaller one is gone for good.
	head uint64
	// lostThrough: lost records (sequence gaps found on Open) below it were
	// already counted, so that reopening does not count them again.
	lostThrough uint64
	// droppedFull and droppedCorrupt count records dropped since the last
	// TakeDropped: evicted or refused because the spool was full, and found
	// corrupt or torn.
	droppedFull    uint64
	droppedCorrupt uint64
}

type persisted struct {
	q [numPrio]queueState
}

func (p persisted) encode() []byte {
	b := make([]byte, 0, stateSize)
	b = append(b, stateMagic[:]...)
	b = binary.LittleEndian.AppendUint32(b, stateVersion)
	for _, prio := range []Priority{High, Low} {
		q := p.q[prio]
		for _, v := range []uint64{q.head, q.lostThrough, q.droppedFull, q.droppedCorrupt} {
			b = binary.LittleEndian.AppendUint64(b, v)
		}
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// errBadState reports a state file that is not one this code wrote.
var errBadState = errors.New("invalid state file")

func decodeState(b []byte) (persisted, error) {
	var p persisted
	if len(b) != stateSize || [4]byte(b[0:4]) != stateMagic {
		return p, errBadState
	}
	if binary.LittleEndian.Uint32(b[72:76]) != crc32.Checksum(b[:72], castagnoli) {
		return p, fmt.Errorf("%w: checksum mismatch", errBadState)
	}
	if v := binary.LittleEndian.Uint32(b[4:8]); v != stateVersion {
		return p, fmt.Errorf("%w: version %d", errBadState, v)
	}
	off := 8
	for _, prio := range []Priority{High, Low} {
		var v [4]uint64
		for i := range v {
			v[i] = binary.LittleEndian.Uint64(b[off:])
			off += 8
		}
		if v[0] >= maxSeq || v[1] >= maxSeq {
			return p, fmt.Errorf("%w: sequence out of range", errBadState)
		}
		p.q[prio] = queueState{head: v[0], lostThrough: v[1], droppedFull: v[2], droppedCorrupt: v[3]}
	}
	return p, nil
}

// readState reads the state file. A missing file gives ok == false and no
// error; an unreadable one gives the error; an invalid one gives ok == false
// and errBadState (the caller starts over: every record is delivered again).
func readState(dir string) (p persisted, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, stateName))
	if errors.Is(err, fs.ErrNotExist) {
		return p, false, nil
	}
	if err != nil {
		return p, false, fmt.Errorf("spool: read state: %w", err)
	}
	p, err = decodeState(b)
	if err != nil {
		return persisted{}, false, err
	}
	return p, true, nil
}

// writeState replaces the state file atomically and durably: write a
// temporary file, fsync it, rename it over the old one, fsync the directory.
func (s *Spool) writeState(p persisted) error {
	tmp := filepath.Join(s.dir, stateTmpName)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("spool: write state: %w", err)
	}
	_, werr := f.Write(p.encode())
	serr := s.fsync(f)
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("spool: write state: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, stateName)); err != nil {
		return fmt.Errorf("spool: write state: %w", err)
	}
	return s.syncDir()
}

// syncDir fsyncs a directory so that file creations, renames and removals in
// it survive a power cut.
func (s *Spool) syncDir() error {
	d, err := os.Open(s.dir)
	if err != nil {
		return fmt.Errorf("spool: sync dir: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("spool: sync dir: %w", err)
	}
	return nil
}

// fsync flushes f to stable storage.
func (s *Spool) fsync(f *os.File) error {
	return f.Sync()
}
