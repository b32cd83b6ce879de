package e2e_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moatsec/moat/internal/agent/agenttest"
	"github.com/moatsec/moat/internal/server"
	"github.com/moatsec/moat/secmsg"
)

// TestKill9AndRestart runs the moat-agent binary against a real server,
// appends failed logins to the auth log while it runs, kills it with
// SIGKILL at an arbitrary moment after its first events reached the hub,
// appends more while it is dead, restarts it on the same state directory
// and appends more again. Every failed attempt written appears in the hub's
// security stream exactly once: a resent event keeps its Id and the hub
// drops it, so the sum of HitCount per source equals what was written.
func TestKill9AndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the moat-agent binary")
	}
	bin := buildAgent(t)
	for _, tc := range []struct {
		name string
		tls  bool
	}{{"http", false}, {"https", true}} {
		t.Run(tc.name, func(t *testing.T) { kill9AndRestart(t, bin, tc.tls) })
	}
}

func kill9AndRestart(t *testing.T, bin string, tls bool) {
	start := agenttest.Start
	if tls {
		start = agenttest.StartTLS
	}
	env := start(t)
	// Flush and send every second instead of every 10 s, so that the test
	// takes seconds; the agent reads this at its first configuration poll.
	putAgentConfig(t, env, `{"highPriorityInterval":"1s"}`)

	root := materialize(t)
	authLog := filepath.Join(root, "var", "log", "auth.log")
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "device.key")
	if err := os.WriteFile(keyFile, []byte(env.Key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	args := []string{"run", "--server", env.S.URL(), "--device", env.Device, "--key-file", keyFile,
		"--state", state, "--root", root, "--audit", "off", "--auth-log-path", "/var/log/auth.log",
		"--config-poll", "10s", "--log-level", "debug"}
	if tls {
		args = append(args, "--ca", filepath.Join(env.S.Data, server.CertFile))
	}
	// What sshd wrote before the agent was installed is not counted.
	w := &logWriter{t: t, path: authLog, want: map[string]int64{}}
	w.write(1, false)

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	first := startAgent(t, bin, args, filepath.Join(dir, "agent-1.log"))
	first.waitLog(t, "auth log: opened")
	for got := int64(0); got == 0; got = total(failedBySource(t, env)) {
		w.write(3, true)
		time.Sleep(20 * time.Millisecond)
	}
	// Go on writing for a random while, then kill -9 wherever the agent is.
	killAfter := time.Duration(rng.IntN(1500)) * time.Millisecond
	t.Logf("first events in the hub; SIGKILL in %s", killAfter)
	for end := time.Now().Add(killAfter); time.Now().Before(end); {
		w.write(1+rng.IntN(3), true)
		time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
	}
	first.kill(t)

	// While the agent is dead.
	w.write(7, true)

	second := startAgent(t, bin, args, filepath.Join(dir, "agent-2.log"))
	second.waitLog(t, "moat-agent started")
	for range 10 {
		w.write(2, true)
		time.Sleep(30 * time.Millisecond)
	}
	want := w.written()
	deadline := time.Now().Add(60 * time.Second)
	for total(failedBySource(t, env)) < total(want) && time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
	}
	second.stop(t)

	evs := events(t, env)
	seen := map[string]bool{}
	for _, ev := range evs {
		if seen[ev.Event.ID] {
			t.Errorf("event %s stored twice", ev.Event.ID)
		}
		seen[ev.Event.ID] = true
	}
	got := failedBySource(t, env)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("failed attempts per source (-written +security stream), killed %s after the first events:\n%s\nfirst run:\n%s\nsecond run:\n%s",
			killAfter, diff, first.logTail(), second.logTail())
	}
	t.Logf("%d attempts from %d sources written, %d events stored", total(want), len(want), len(evs))
}

// buildAgent builds cmd/moat-agent into a temporary directory.
func buildAgent(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "moat-agent")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/moatsec/moat/cmd/moat-agent")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// agentProc is a running moat-agent process.
type agentProc struct {
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error
}

func startAgent(t *testing.T, bin string, args []string, logPath string) *agentProc {
	t.Helper()
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &agentProc{cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *agentProc) log() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

// logTail is the end of the process's log, for failure messages.
func (p *agentProc) logTail() string {
	s := p.log()
	if len(s) > 6000 {
		s = "…" + s[len(s)-6000:]
	}
	return s
}

// waitLog waits until the process logged msg.
func (p *agentProc) waitLog(t *testing.T, msg string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(p.log(), msg) {
		select {
		case <-p.done:
			t.Fatalf("moat-agent exited (%v) before logging %q:\n%s", p.err, msg, p.log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("moat-agent did not log %q within 30s:\n%s", msg, p.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *agentProc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

// stop sends SIGTERM and expects a clean exit.
func (p *agentProc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("moat-agent did not stop on SIGTERM:\n%s", p.logTail())
	}
	if p.err != nil {
		t.Errorf("moat-agent exited with %v:\n%s", p.err, p.logTail())
	}
}

// logWriter appends sshd's failed-password lines, stamped with the real
// time as sshd would, from a few sources; each sshd connection (PID) tries
// up to three passwords. It counts what it wrote per source.
type logWriter struct {
	t    *testing.T
	path string
	mu   sync.Mutex
	pid  int
	n    int
	want map[string]int64
}

var sources = []string{"203.0.113.9", "198.51.100.7", "192.0.2.200"}

// write appends n lines; count says whether they are to be counted (the
// lines written before the agent's first start are not).
func (w *logWriter) write(n int, count bool) {
	w.t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	var b strings.Builder
	for range n {
		if w.n%3 == 0 {
			w.pid++
		}
		src := sources[w.pid%len(sources)]
		fmt.Fprintf(&b, "%s gw01 sshd[%d]: Failed password for root from %s port %d ssh2\n",
			time.Now().Format(time.Stamp), 20000+w.pid, src, 40000+w.pid)
		w.n++
		if count {
			w.want[src]++
		}
	}
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		w.t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		w.t.Fatal(err)
	}
}

func (w *logWriter) written() map[string]int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]int64, len(w.want))
	for k, v := range w.want {
		out[k] = v
	}
	return out
}

// failedBySource counts the failed attempts (HitCount included) per
// source address of the Login events the hub stored.
func failedBySource(t *testing.T, env *agenttest.Env) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, ev := range events(t, env) {
		if ev.Event.Name != secmsg.NameLogin {
			continue
		}
		for _, it := range ev.Event.Payload {
			if l := it.(secmsg.Login); l.Result == secmsg.ResultFail {
				out[l.RemoteAddress] += l.Hits()
			}
		}
	}
	return out
}

func total(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// putAgentConfig sets the device's layer of the agent configuration.
func putAgentConfig(t *testing.T, env *agenttest.Env, body string) {
	t.Helper()
	if _, err := env.S.Client.PutAgentConfig(context.Background(), env.Device, []byte(body)); err != nil {
		t.Fatalf("PUT agent-config %s: %v", body, err)
	}
}

// materialize writes the iotdevice fixture into a fresh directory.
func materialize(t testing.TB) string { t.Helper(); return agenttest.Fixture(t) }
