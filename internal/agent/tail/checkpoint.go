package tail

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Position is a place in a file: the file's device and inode, and a byte
// offset in it. Head fingerprints the file's first bytes, so that a file
// created later on a reused inode is not taken for the checkpointed one.
type Position struct {
	Dev    uint64 `json:"dev"`
	Ino    uint64 `json:"ino"`
	Offset int64  `json:"offset"`
	// Head is the FNV-1a hash of the file's first min(Offset, HeadLen)
	// bytes.
	Head uint64 `json:"head"`
}

// HeadLen is how many leading bytes of a file Position.Head covers.
const HeadLen = 256

// headHash is FNV-1a 64 of b.
func headHash(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// checkpoint is the state file's content.
type checkpoint struct {
	Path string `json:"path"`
	Position
}

// stateFile returns the checkpoint file of path in dir: readable, and
// unique per path.
func stateFile(dir, path string) string {
	sum := sha256.Sum256([]byte(path))
	base := strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r < ' ' {
			return '_'
		}
		return r
	}, filepath.Base(path))
	return filepath.Join(dir, "tail-"+base+"-"+hex.EncodeToString(sum[:6])+".json")
}

// loadCheckpoint reads the checkpoint of path; ok is false when there is
// none.
func loadCheckpoint(file, path string) (Position, bool, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return Position{}, false, nil
	}
	if err != nil {
		return Position{}, false, fmt.Errorf("tail: read checkpoint: %w", err)
	}
	if len(data) > 4096 {
		return Position{}, false, fmt.Errorf("tail: checkpoint %s: %d bytes: %w", file, len(data), ErrBadCheckpoint)
	}
	var cp checkpoint
	if err := json.Unmarshal(data, &cp); err != nil {
		return Position{}, false, fmt.Errorf("tail: checkpoint %s: %w: %w", file, ErrBadCheckpoint, err)
	}
	if cp.Path != path || cp.Offset < 0 {
		return Position{}, false, fmt.Errorf("tail: checkpoint %s is of %q offset %d: %w", file, cp.Path, cp.Offset, ErrBadCheckpoint)
	}
	return cp.Position, true, nil
}

// saveCheckpoint writes the checkpoint atomically: a temporary file,
// synced, renamed over the old one, and the directory synced.
func saveCheckpoint(file, path string, p Position) error {
	data, err := json.Marshal(checkpoint{Path: path, Position: p})
	if err != nil {
		return fmt.Errorf("tail: encode checkpoint: %w", err)
	}
	dir := filepath.Dir(file)
	tmp, err := os.CreateTemp(dir, ".tail-*.tmp")
	if err != nil {
		return fmt.Errorf("tail: write checkpoint: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename: no-op
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("tail: write checkpoint: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("tail: sync checkpoint: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("tail: write checkpoint: %w", err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("tail: commit checkpoint: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return fmt.Errorf("tail: sync state dir: %w", err)
		}
	}
	return nil
}
