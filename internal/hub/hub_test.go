package hub_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/config"
	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/internal/moattest"
	"github.com/moatsec/moat/sas"
)

func reason(err error) string { return apierr.As(err).Reason }

func TestExpiryHonoursClockSkewBoundary(t *testing.T) {
	t0 := time.Unix(1_900_000_000, 0)
	clk := moattest.NewClock(t0)
	const skew = 30 * time.Second
	s := moattest.Start(t, moattest.Options{Clock: clk.Now, Config: func(c *config.Server) { c.ClockSkew = skew }})
	core := s.Core()
	tok := sas.Sign("sb://"+s.Root.Namespace()+"/", s.Root.SharedAccessKeyName, s.Root.SharedAccessKey, t0)
	cases := []struct {
		at   time.Time
		want string
	}{
		{t0.Add(-time.Hour), ""},
		{t0, ""},
		{t0.Add(skew), ""}, // the last accepted instant
		{t0.Add(skew + time.Second), hub.ReasonExpiredToken},
		{t0.Add(skew - time.Second), ""}, // clocks may go back; the cached verification is re-checked
	}
	for _, c := range cases {
		clk.Set(c.at)
		_, err := core.Authorize(tok, "/", hub.Manage)
		if got := reasonOrEmpty(err); got != c.want {
			t.Errorf("at se%+v: got %q, want %q", c.at.Sub(t0), got, c.want)
		}
	}
}

func reasonOrEmpty(err error) string {
	if err == nil {
		return ""
	}
	return reason(err)
}

func TestFutureDatedTokenWithinRights(t *testing.T) {
	// A token far in the future is valid (Event Hubs has no maximum); its
	// scope and rights still apply.
	s := moattest.Start(t, moattest.Options{})
	if _, err := s.Client.PutRule(context.Background(), "", "sender", []string{"Send"}); err != nil {
		t.Fatal(err)
	}
	r, _ := s.Client.ListKeys(context.Background(), "", "sender")
	tok := sas.Sign("sb://"+s.Root.Namespace()+"/", "sender", r.PrimaryKey, time.Now().Add(10*365*24*time.Hour))
	if _, err := s.Core().Authorize(tok, "/x", hub.Send); err != nil {
		t.Fatalf("send: %v", err)
	}
	if _, err := s.Core().Authorize(tok, "/", hub.Manage); reason(err) != hub.ReasonInsufficientRights {
		t.Fatalf("manage with a Send rule: %v", err)
	}
}

func TestCanonicalNames(t *testing.T) {
	good := map[string]string{"Telemetry": "telemetry", "a": "a", "a-b_c9": "a-b_c9"}
	for in, want := range good {
		if got, err := hub.CanonicalHub(in); err != nil || got != want {
			t.Errorf("CanonicalHub(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "-a", "a-", "a.b", "a b", "api", "METRICS", string(make([]byte, 65)), "é"} {
		if _, err := hub.CanonicalHub(bad); err == nil {
			t.Errorf("CanonicalHub(%q) accepted", bad)
		}
	}
	for _, ok := range []string{"dev1", "Dev.1:x@y", "a"} {
		if _, err := hub.CanonicalPublisher(ok); err != nil {
			t.Errorf("CanonicalPublisher(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a/b", ".a", "a b", "a%2f"} {
		if _, err := hub.CanonicalPublisher(bad); err == nil {
			t.Errorf("CanonicalPublisher(%q) accepted", bad)
		}
	}
}

func TestPartitionForIsStableAndSpread(t *testing.T) {
	counts := make([]int, 8)
	for i := range 8000 {
		p := hub.PartitionFor(fmt.Sprintf("dev-%d", i), 8)
		if p != hub.PartitionFor(fmt.Sprintf("dev-%d", i), 8) {
			t.Fatal("PartitionFor is not deterministic")
		}
		counts[p]++
	}
	for p, n := range counts {
		if n < 800 || n > 1200 { // ±20% of 1000
			t.Errorf("partition %d got %d of 8000 keys", p, n)
		}
	}
}

// BenchmarkAuthorize measures SAS authorization of a token seen before (the
// verification cache hit path), in parallel on every core.
func BenchmarkAuthorize(b *testing.B) {
	s := moattest.Start(b, moattest.Options{})
	tok := sas.Sign("sb://"+s.Root.Namespace()+"/h/publishers/dev1", s.Root.SharedAccessKeyName, s.Root.SharedAccessKey, time.Now().Add(time.Hour))
	core := s.Core()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := core.Authorize(tok, "/h/publishers/dev1", hub.Send); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkAuthorizeUncached measures first sight of a token: parse, scope,
// HMAC-SHA256 verification and the cache insert. Every 4,096 tokens the
// cache is emptied (timer stopped) by changing an unrelated rule, which
// installs a fresh rule snapshot, so every timed call misses the cache.
func BenchmarkAuthorizeUncached(b *testing.B) {
	s := moattest.Start(b, moattest.Options{})
	core := s.Core()
	const pool = 4096
	toks := make([]string, pool)
	base := time.Now().Add(time.Hour)
	for i := range toks {
		toks[i] = sas.Sign("sb://"+s.Root.Namespace()+"/h", s.Root.SharedAccessKeyName, s.Root.SharedAccessKey, base.Add(time.Duration(i)*time.Second))
	}
	flip := []string{"Send"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i%pool == 0 && i > 0 {
			b.StopTimer()
			flip = map[bool][]string{true: {"Listen"}, false: {"Send"}}[flip[0] == "Send"]
			if _, err := s.Client.PutRule(context.Background(), "", "flip", flip); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		if _, err := core.Authorize(toks[i%pool], "/h", hub.Send); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// TestSigningKeyCreatedOnce: the first token requests of a new hub come
// together; the discovery signing rule must be created once, so every
// caller gets the key that stays valid.
func TestSigningKeyCreatedOnce(t *testing.T) {
	s := moattest.Start(t, moattest.Options{})
	ctx := context.Background()
	if _, err := s.Client.PutHub(ctx, "fresh", hub.HubSpec{}); err != nil {
		t.Fatal(err)
	}
	core := s.Core()
	const n = 16
	keys := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, keys[i], errs[i] = core.SigningKey(ctx, "fresh")
		}()
	}
	close(start)
	wg.Wait()
	_, final, err := core.SigningKey(ctx, "fresh")
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if errs[i] != nil || keys[i] != final {
			t.Errorf("caller %d: key %.8q…, err %v; the rule's key is %.8q…", i, keys[i], errs[i], final)
		}
	}
}
