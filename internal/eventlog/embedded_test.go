package eventlog

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestEmbeddedPersistsAcrossRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir, prefix := t.TempDir(), randomPrefix()

	l := openEmbeddedAt(t, dir, prefix)
	ensureHub(t, l, "keep", 2)
	seqs := mustAppend(t, l, "keep",
		Event{Partition: 1, Publisher: "p", Properties: map[string]any{"k": "v"}, Body: []byte("one")},
		Event{Partition: 1, Body: []byte("two")})
	kv, err := l.KV(ctx, "revocations")
	if err != nil {
		t.Fatal(err)
	}
	if err := kv.Put(ctx, "pub-1", []byte("revoked")); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	l = openEmbeddedAt(t, dir, prefix)
	evs, next := mustRead(t, l, "keep", 1, 1, 10)
	if !slices.Equal(seqsOf(evs), seqs) || evs[0].Publisher != "p" || evs[0].Properties["k"] != "v" {
		t.Fatalf("after restart read %v %q, want sequences %v", seqsOf(evs), bodies(evs), seqs)
	}
	more := mustAppend(t, l, "keep", Event{Partition: 1, Body: []byte("three")})
	if more[0] < next {
		t.Errorf("sequence after restart = %d, want >= %d", more[0], next)
	}
	if evs, _ := mustRead(t, l, "keep", 1, next, 10); !slices.Equal(seqsOf(evs), more) || string(evs[0].Body) != "three" {
		t.Errorf("read from %d after restart = %v %q, want %v", next, seqsOf(evs), bodies(evs), more)
	}
	if info, err := l.PartitionInfo(ctx, "keep", 1); err != nil || info.FirstSequence != seqs[0] || info.LastSequence != more[0] {
		t.Errorf("PartitionInfo after restart = %+v, %v", info, err)
	}
	kv, err = l.KV(ctx, "revocations")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := kv.Get(ctx, "pub-1"); err != nil || string(v) != "revoked" {
		t.Errorf("KV after restart = %q, %v", v, err)
	}
}

func TestEmbeddedOpenErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if _, err := Open(ctx, Config{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("no DataDir: err = %v, want ErrInvalid", err)
	}
	for _, p := range []string{"a_b", "a.b", strings.Repeat("x", 33)} {
		if _, err := Open(ctx, Config{DataDir: t.TempDir(), Prefix: p}); !errors.Is(err, ErrInvalid) {
			t.Errorf("prefix %q: err = %v, want ErrInvalid", p, err)
		}
	}
	// A data dir that is a file cannot hold a store.
	file := t.TempDir() + "/file"
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if l, err := Open(ctx, Config{DataDir: file, Logger: testLogger(t)}); err == nil {
		l.Close()
		t.Error("Open on a file: no error")
	}
}

// Acknowledged events must survive kill -9 of the process (they are written
// to the store's files before the ack). The helper process appends, prints
// the sequences and waits to be killed.
const killHelperEnv = "MOAT_EVENTLOG_KILL_HELPER_DIR"

func TestEmbeddedSurvivesKill(t *testing.T) {
	t.Parallel()
	dir, prefix := t.TempDir(), randomPrefix()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), killHelperEnv+"="+dir, "MOAT_EVENTLOG_KILL_HELPER_PREFIX="+prefix)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe() // the helper exits if we die without killing it
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []uint64
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "ACKED ")
		if !ok {
			continue
		}
		for _, f := range strings.Fields(line) {
			s, err := strconv.ParseUint(f, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			acked = append(acked, s)
		}
		break
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if len(acked) == 0 {
		t.Fatal("helper acknowledged nothing")
	}

	l := openEmbeddedAt(t, dir, prefix)
	evs, _ := mustRead(t, l, "crash", 0, 1, 10_000)
	if diff := slices.Compare(seqsOf(evs), acked); diff != 0 || len(evs) != len(acked) {
		t.Fatalf("after kill -9: read %d events, %d were acknowledged", len(evs), len(acked))
	}
}

func TestKillHelper(t *testing.T) {
	dir := os.Getenv(killHelperEnv)
	if dir == "" {
		t.Skip("helper process for TestEmbeddedSurvivesKill")
	}
	l, err := Open(context.Background(), Config{DataDir: dir, Prefix: os.Getenv("MOAT_EVENTLOG_KILL_HELPER_PREFIX")})
	if err != nil {
		t.Fatal(err)
	}
	ensureHub(t, l, "crash", 1)
	var acked []string
	for b := range 10 {
		batch := make([]Event, 100)
		for i := range batch {
			batch[i] = Event{Body: fmt.Appendf(nil, "batch %d event %d", b, i)}
		}
		for _, s := range mustAppend(t, l, "crash", batch...) {
			acked = append(acked, strconv.FormatUint(s, 10))
		}
	}
	fmt.Println("ACKED", strings.Join(acked, " "))
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent kills us (or dies)
	os.Exit(1)
}
