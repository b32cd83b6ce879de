package secret

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func testBox(t *testing.T) *Box {
	t.Helper()
	b, err := New(bytes.Repeat([]byte{7}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealOpenRoundTrip(t *testing.T) {
	b := testBox(t)
	for _, pt := range [][]byte{nil, {}, []byte("k"), bytes.Repeat([]byte{0, 1, 2}, 1000)} {
		s := b.Seal(pt, "rule//root/primary")
		got, err := b.Open(s, "rule//root/primary")
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if !bytes.Equal(got, pt) {
			t.Fatalf("round trip: got %q want %q", got, pt)
		}
		if bytes.Contains(s, pt) && len(pt) > 1 {
			t.Fatalf("sealed value contains the plaintext")
		}
	}
}

func TestSealIsRandomized(t *testing.T) {
	b := testBox(t)
	if bytes.Equal(b.Seal([]byte("x"), "a"), b.Seal([]byte("x"), "a")) {
		t.Fatal("two seals of the same value are equal: nonce not random")
	}
}

func TestOpenRejects(t *testing.T) {
	b := testBox(t)
	other, _ := New(bytes.Repeat([]byte{8}, KeySize))
	s := b.Seal([]byte("secret"), "ad")
	flipped := bytes.Clone(s)
	flipped[len(flipped)-1] ^= 1
	badVersion := bytes.Clone(s)
	badVersion[0] = 2
	cases := map[string]struct {
		box    *Box
		sealed []byte
		ad     string
	}{
		"wrong ad":    {b, s, "other"},
		"wrong key":   {other, s, "ad"},
		"tampered":    {b, flipped, "ad"},
		"bad version": {b, badVersion, "ad"},
		"truncated":   {b, s[:10], "ad"},
		"empty":       {b, nil, "ad"},
	}
	for name, c := range cases {
		if _, err := c.box.Open(c.sealed, c.ad); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: err = %v, want ErrOpen", name, err)
		}
	}
}

func TestNewRejectsShortKey(t *testing.T) {
	if _, err := New(make([]byte, 16)); err == nil {
		t.Fatal("New accepted a 16-byte key")
	}
}

func TestLoadMasterKeyCreatesThenReuses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "master.key")
	k1, created, err := LoadMasterKey("", path)
	if err != nil || !created || len(k1) != KeySize {
		t.Fatalf("first load: key=%d created=%v err=%v", len(k1), created, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v, want 0600", fi.Mode().Perm())
	}
	k2, created, err := LoadMasterKey("", path)
	if err != nil || created || !bytes.Equal(k1, k2) {
		t.Fatalf("second load: created=%v err=%v equal=%v", created, err, bytes.Equal(k1, k2))
	}
}

func TestLoadMasterKeyFromEnv(t *testing.T) {
	want := bytes.Repeat([]byte{9}, KeySize)
	got, created, err := LoadMasterKey(base64.StdEncoding.EncodeToString(want), "/nonexistent/never-created")
	if err != nil || created || !bytes.Equal(got, want) {
		t.Fatalf("env load: created=%v err=%v", created, err)
	}
	for _, bad := range []string{"not base64!", base64.StdEncoding.EncodeToString([]byte("short"))} {
		if _, _, err := LoadMasterKey(bad, ""); err == nil {
			t.Errorf("LoadMasterKey(%q) accepted a bad key", bad)
		}
	}
}

func TestLoadMasterKeyRejectsCorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	os.WriteFile(path, []byte("garbage"), 0o600)
	if _, _, err := LoadMasterKey("", path); err == nil {
		t.Fatal("corrupt key file accepted")
	}
}

func TestNewKey(t *testing.T) {
	k := NewKey()
	raw, err := base64.StdEncoding.DecodeString(k)
	if err != nil || len(raw) != 32 {
		t.Fatalf("NewKey() = %q: %d bytes, err %v", k, len(raw), err)
	}
	if NewKey() == k {
		t.Fatal("NewKey returned the same key twice")
	}
}
