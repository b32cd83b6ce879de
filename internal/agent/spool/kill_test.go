package spool

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Environment of the child process of TestKill9.
const (
	helperDirEnv  = "SPOOL_TEST_HELPER_DIR"
	helperModeEnv = "SPOOL_TEST_HELPER_MODE"
	helperSeedEnv = "SPOOL_TEST_HELPER_SEED"
)

// killOptions are the options of both the child and the parent's reopen:
// large enough that nothing is dropped for lack of room.
func killOptions(mode string) Options {
	o := Options{Capacity: 256 << 20}
	if mode == "group" {
		o.SyncInterval = 20 * time.Millisecond
	}
	return o
}

// TestHelperProcess is not a test: TestKill9 runs the test binary again
// with only this function and the environment set. It puts numbered
// records (1, 2, 3, ...; every third Put is High, one to three records per
// Put) and prints each number once the Put that stored it has returned,
// until it is killed.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(helperDirEnv)
	if dir == "" {
		t.Skip("helper process of TestKill9")
	}
	seed, _ := strconv.ParseUint(os.Getenv(helperSeedEnv), 10, 64)
	rng := rand.New(rand.NewPCG(seed, 1))
	s, err := Open(dir, killOptions(os.Getenv(helperModeEnv)))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	n := 0
	for put := 0; n < 1_000_000; put++ {
		prio := Low
		if put%3 == 0 {
			prio = High
		}
		recs := make([][]byte, 1+rng.IntN(3))
		for i := range recs {
			n++
			recs[i] = fmt.Appendf(nil, "%d|%s", n, bytes.Repeat([]byte("x"), rng.IntN(2000)))
		}
		if err := s.Put(prio, recs...); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		for i := range recs {
			fmt.Printf("%d\n", n-len(recs)+1+i) // os.Stdout is unbuffered
		}
	}
	os.Exit(0)
}

// TestKill9 kills a process that is putting records at an arbitrary point
// with SIGKILL, then checks that every record whose Put had returned is in
// the spool, once, in order.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	for _, mode := range []string{"fsync", "group"} {
		for round := range 3 {
			t.Run(fmt.Sprintf("%s/%d", mode, round), func(t *testing.T) {
				dir := t.TempDir()
				killAfter := 1 + rng.IntN(400)
				printed := runAndKill(t, dir, mode, rng.Uint64(), killAfter)
				if printed < killAfter {
					t.Fatalf("child printed %d numbers, fewer than the %d awaited", printed, killAfter)
				}
				checkKilledSpool(t, dir, mode, printed)
			})
		}
	}
}

// runAndKill starts the child, kills it once it has printed killAfter
// numbers, and returns how many numbers it printed in all (they are 1..n).
func runAndKill(t *testing.T, dir, mode string, seed uint64, killAfter int) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperDirEnv+"="+dir, helperModeEnv+"="+mode,
		helperSeedEnv+"="+strconv.FormatUint(seed, 10))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		v, err := strconv.Atoi(sc.Text())
		if err != nil || v != n+1 {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("child printed %q after %d; stderr: %s", sc.Text(), n, stderr.String())
		}
		n = v
		if n == killAfter {
			if err := cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
		}
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !strings.Contains(exit.String(), "killed") {
		t.Fatalf("child ended with %v, want killed; stderr: %s", err, stderr.String())
	}
	return n
}

// checkKilledSpool reopens the spool of a killed child that printed 1..n.
func checkKilledSpool(t *testing.T, dir, mode string, n int) {
	t.Helper()
	s := mustOpen(t, dir, killOptions(mode))
	defer mustClose(t, s)
	items, err := s.Peek(1<<30, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	var last [numPrio]int
	seen := map[int]bool{}
	for _, it := range items {
		num, _, ok := strings.Cut(string(it.Data), "|")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			t.Fatalf("record %q is not one the child wrote", it.Data)
		}
		if seen[v] {
			t.Fatalf("record %d twice", v)
		}
		seen[v] = true
		if v <= last[it.Prio] {
			t.Fatalf("%s record %d after %d", it.Prio, v, last[it.Prio])
		}
		last[it.Prio] = v
	}
	for v := 1; v <= n; v++ {
		if !seen[v] {
			t.Fatalf("record %d was acknowledged by Put but is missing (child printed 1..%d)", v, n)
		}
	}
	// Beyond n: at most the records of a Put that returned (or was cut
	// short) before its numbers were printed.
	extra := len(seen) - n
	for v := n + 1; v <= n+extra; v++ {
		if !seen[v] {
			t.Fatalf("records beyond %d are not contiguous: %d missing", n, v)
		}
	}
	if extra > 3 {
		t.Fatalf("%d records stored beyond the last printed one, want at most 3", extra)
	}
	st := mustStats(t, s)
	if st.High.DroppedFull+st.Low.DroppedFull != 0 || st.High.DroppedCorrupt+st.Low.DroppedCorrupt > 1 {
		t.Fatalf("stats = %+v: want nothing dropped for room, at most one torn record", st)
	}
	t.Logf("printed %d, stored %d, torn %d", n, len(seen), st.High.DroppedCorrupt+st.Low.DroppedCorrupt)
}
