package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moatsec/moat/internal/client"
	"github.com/moatsec/moat/sas"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// moatBinary builds cmd/moat once per test run.
func moatBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "moat-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "moat")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/moatsec/moat/cmd/moat").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is a moat serve process.
type proc struct {
	cmd  *exec.Cmd
	addr string
	data string
	logs *strings.Builder
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, valid after done is closed
}

// wait blocks until the process exits and returns its exit status.
func (p *proc) wait() error {
	<-p.done
	return p.err
}

func startServe(t *testing.T, data, addr string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"serve", "--data", data, "--listen", addr, "--no-tls", "--log-level", "debug"}, extra...)
	cmd := exec.Command(moatBinary(t), args...)
	logs := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = &syncWriter{w: logs}, &syncWriter{w: logs}
	cmd.Env = append(os.Environ(), "MOAT_MASTER_KEY=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, addr: addr, data: data, logs: logs, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	// Wait until /healthz answers 200 (or the process dies).
	for {
		select {
		case <-p.done:
			t.Fatalf("moat serve exited: %v\n%s", p.err, logs)
		default:
		}
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *proc) client(t *testing.T) *client.Client {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(p.data, "root-connection-string"))
	if err != nil {
		t.Fatal(err)
	}
	cs, err := sas.ParseConnectionString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Options{Server: "http://" + p.addr, Tokens: client.NewTokens(cs, time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type syncWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

// readAll returns every event body of a hub, counted.
func readAll(t *testing.T, c *client.Client, hubName string, partitions int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for p := range partitions {
		from := uint64(1)
		for {
			resp, err := c.Read(context.Background(), hubName, p, from, 1000, 0)
			if err != nil {
				t.Fatalf("read partition %d: %v", p, err)
			}
			for _, e := range resp.Events {
				got[string(e.Body)]++
			}
			if len(resp.Events) == 0 {
				break
			}
			from = resp.Next
		}
	}
	return got
}

// cliRunner runs the moat CLI against a server with its data directory.
type cliRunner struct {
	t          *testing.T
	addr, data string
}

// run runs moat with args (stdin as given) and returns its standard output;
// a non-zero exit is an error carrying standard error.
func (c cliRunner) run(stdin string, args ...string) (string, error) {
	cmd := exec.Command(moatBinary(c.t), append([]string{"--server", "http://" + c.addr, "--data", c.data}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("moat %v: %v: %s", args, err, errb.String())
	}
	return out.String(), nil
}

// must is run that fails the test on error.
func (c cliRunner) must(stdin string, args ...string) string {
	c.t.Helper()
	out, err := c.run(stdin, args...)
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}
