// Package secret seals key material at rest with AES-256-GCM under a master
// key, and loads or creates that master key.
//
// A sealed value is version byte 0x01 || 12-byte random nonce || ciphertext+tag.
// The additional data binds a ciphertext to the record it belongs to (for
// example "rule/<hub>/<name>/primary"), so a sealed key copied into another
// row does not open.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the master key length in bytes (AES-256).
const KeySize = 32

const version1 = 0x01

// ErrOpen is returned when a sealed value cannot be opened: wrong master key,
// wrong record, or a corrupted value.
var ErrOpen = errors.New("secret: cannot open sealed value (wrong master key or corrupted data)")

// Box seals and opens values under one master key. It is safe for concurrent use.
type Box struct {
	aead cipher.AEAD
}

// New returns a Box for a 32-byte master key.
func New(masterKey []byte) (*Box, error) {
	if len(masterKey) != KeySize {
		return nil, fmt.Errorf("secret: master key must be %d bytes, got %d", KeySize, len(masterKey))
	}
	block, err := aes.NewCipher(masterKey)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext, bound to the additional data ad.
func (b *Box) Seal(plaintext []byte, ad string) []byte {
	ns := b.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plaintext)+b.aead.Overhead())
	out[0] = version1
	if _, err := rand.Read(out[1 : 1+ns]); err != nil {
		panic("secret: crypto/rand failed: " + err.Error()) // crypto/rand never fails on supported platforms
	}
	return b.aead.Seal(out, out[1:1+ns], plaintext, []byte(ad))
}

// Open decrypts a value made by Seal with the same additional data.
func (b *Box) Open(sealed []byte, ad string) ([]byte, error) {
	ns := b.aead.NonceSize()
	if len(sealed) < 1+ns+b.aead.Overhead() || sealed[0] != version1 {
		return nil, ErrOpen
	}
	pt, err := b.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], []byte(ad))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// LoadMasterKey returns the master key from env (standard base64 of 32 bytes)
// when env is non-empty, otherwise from the file at path, creating the file
// (mode 0600, parent 0700) with a fresh random key if it does not exist.
// created reports whether a new key file was written.
func LoadMasterKey(env, path string) (key []byte, created bool, err error) {
	if env != "" {
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(env))
		if err != nil || len(key) != KeySize {
			return nil, false, fmt.Errorf("secret: MOAT_MASTER_KEY must be the standard base64 of %d bytes", KeySize)
		}
		return key, false, nil
	}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
		if err != nil || len(key) != KeySize {
			return nil, false, fmt.Errorf("secret: %s does not hold the base64 of a %d-byte key", path, KeySize)
		}
		return key, false, nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, false, fmt.Errorf("secret: read master key: %w", err)
	}
	key = make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, false, fmt.Errorf("secret: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("secret: %w", err)
	}
	// O_EXCL: two processes racing on first start must not overwrite each other's key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return LoadMasterKey("", path)
		}
		return nil, false, fmt.Errorf("secret: create master key: %w", err)
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("secret: write master key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("secret: write master key: %w", err)
	}
	return key, true, f.Close()
}

// NewKey returns a fresh 256-bit random key, standard base64 encoded, as used
// for SAS rule keys and device keys.
func NewKey() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("secret: crypto/rand failed: " + err.Error())
	}
	return base64.StdEncoding.EncodeToString(b)
}
