package agent_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/moatsec/moat/internal/agent/agenttest"
	"github.com/moatsec/moat/internal/config"
	"github.com/moatsec/moat/internal/device"
	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/internal/moattest"
)

// switchProxy is a TCP forwarder on a fixed local port that the test takes
// down (connections refused, open ones cut) and brings up again, possibly
// in front of another server: the agent sees the hub disappear and come
// back at the same address.
type switchProxy struct {
	addr string

	mu     sync.Mutex
	ln     net.Listener
	target string
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

// newSwitchProxy reserves a port and leaves the proxy down.
func newSwitchProxy(t testing.TB) *switchProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &switchProxy{addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}}
	_ = ln.Close()
	t.Cleanup(p.down)
	return p
}

// URL is the proxy's base URL.
func (p *switchProxy) URL() string { return "http://" + p.addr }

// up listens again and forwards every connection to target (host:port).
func (p *switchProxy) up(t testing.TB, target string) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		t.Fatal("proxy already up")
	}
	ln, err := net.Listen("tcp", p.addr) // Go sets SO_REUSEADDR: the port is free again at once
	if err != nil {
		t.Fatalf("proxy: listen again on %s: %v", p.addr, err)
	}
	p.ln, p.target = ln, target
	p.wg.Add(1)
	go p.accept(ln, target)
}

func (p *switchProxy) accept(ln net.Listener, target string) {
	defer p.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		if p.ln != ln { // went down meanwhile
			p.mu.Unlock()
			_ = c.Close()
			_ = s.Close()
			return
		}
		p.conns[c], p.conns[s] = struct{}{}, struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, s)
		go p.pipe(s, c)
	}
}

func (p *switchProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	_ = dst.Close()
	_ = src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}

// down stops listening and cuts every forwarded connection.
func (p *switchProxy) down() {
	p.mu.Lock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// startBehindProxy starts a server whose public URL (the endpoint its
// tokens name) is the proxy's, so that every request of the agent, token,
// configuration and send, goes through the proxy; the server is
// registered as agenttest.Start does (hub "fleet", device "dev-1").
func startBehindProxy(t *testing.T) (*agenttest.Env, *switchProxy) {
	t.Helper()
	p := newSwitchProxy(t)
	s := moattest.Start(t, moattest.Options{Config: func(c *config.Server) { c.PublicURL = p.URL() }})
	ctx := context.Background()
	if _, err := s.Client.PutHub(ctx, "fleet", hub.HubSpec{Partitions: 2}); err != nil {
		t.Fatal(err)
	}
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	key := base64.StdEncoding.EncodeToString(k)
	if _, err := s.Client.PutDevice(ctx, "dev-1", device.Device{Spec: device.Spec{Hub: "fleet", PrimaryKey: key}}); err != nil {
		t.Fatal(err)
	}
	p.up(t, s.Addr().String())
	return &agenttest.Env{S: s, Hub: "fleet", Device: "dev-1", Key: key}, p
}
