package discovery

import (
	"context"
	"errors"
	"hash/maphash"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/sas"
	"golang.org/x/time/rate"
)

// authenticate identifies the device from its proof. A request carrying a
// SAS proof is judged by it even when a client certificate is also present.
func (s *Service) authenticate(ctx context.Context, req Request, now time.Time) (Device, error) {
	if req.Authorization == "" {
		if req.Thumbprint == "" {
			return Device{}, badProof("no proof: send a device SharedAccessSignature or a registered client certificate")
		}
		dev, err := s.o.Registry.LookupByThumbprint(ctx, req.Thumbprint)
		if errors.Is(err, ErrUnknownDevice) {
			return Device{}, badProof("the client certificate is not registered to any device")
		} else if err != nil {
			return Device{}, err
		}
		return dev, nil
	}
	t, err := sas.Parse(req.Authorization)
	if err != nil {
		return Device{}, badProof("%v", err)
	}
	path, err := t.Scope(s.o.Namespace)
	if err != nil {
		return Device{}, badProof("proof resource: %v", err)
	}
	id, ok := strings.CutPrefix(path, "/devices/")
	if !ok || id == "" || strings.Contains(id, "/") {
		return Device{}, badProof("a device proof is scoped to %s/devices/{id}", s.o.Namespace)
	}
	dev, err := s.o.Registry.Lookup(ctx, id)
	if errors.Is(err, ErrUnknownDevice) {
		return Device{ID: id}, apierr.New(http.StatusNotFound, CodeUnknownDevice, "no device %q is registered", id)
	} else if err != nil {
		return Device{ID: id}, err
	}
	if t.VerifyIoTHub(dev.PrimaryKey, dev.SecondaryKey) < 0 {
		return dev, badProof("the proof's signature does not match device %q's keys", id)
	}
	if t.Expired(now, s.o.ClockSkew) {
		return dev, refuse(http.StatusUnauthorized, CodeExpiredProof, "the proof expired")
	}
	if time.Unix(t.Expiry, 0).After(now.Add(s.o.MaxProofLifetime + s.o.ClockSkew)) {
		return dev, badProof("the proof expires more than %s ahead; proofs are short-lived", s.o.MaxProofLifetime)
	}
	if !s.replays.firstUse(t.Signature, t.Expiry, now) {
		return dev, badProof("the proof was already used; sign a new one for every request")
	}
	return dev, nil
}

// replayCache remembers the signatures of accepted proofs until they expire,
// so a captured proof cannot be replayed. It is per node: a proof replayed
// against another node of a cluster within its (at most five-minute)
// lifetime is not caught.
type replayCache struct {
	seed   maphash.Seed
	shards [16]replayShard
}

type replayShard struct {
	mu     sync.Mutex
	seen   map[string]int64 // signature → expiry (Unix seconds)
	sweepT int64
}

func newReplayCache() *replayCache {
	c := &replayCache{seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].seen = map[string]int64{}
	}
	return c
}

// firstUse records sig and reports whether it had not been seen before.
func (c *replayCache) firstUse(sig string, expiry int64, now time.Time) bool {
	s := &c.shards[maphash.String(c.seed, sig)%uint64(len(c.shards))]
	n := now.Unix()
	s.mu.Lock()
	defer s.mu.Unlock()
	if n-s.sweepT > 60 { // drop expired entries about once a minute
		for k, exp := range s.seen {
			if exp+int64(sas.DefaultSkew/time.Second) < n {
				delete(s.seen, k)
			}
		}
		s.sweepT = n
	}
	if _, dup := s.seen[sig]; dup {
		return false
	}
	s.seen[sig] = expiry
	return true
}

// limiter keeps a token bucket (golang.org/x/time/rate) per device. Times
// come from the service's clock, so tests control them.
type limiter struct {
	every rate.Limit
	burst int
	mu    sync.Mutex
	b     map[string]*rate.Limiter
}

func newLimiter(perMinute, burst int) *limiter {
	return &limiter{every: rate.Limit(float64(perMinute) / 60), burst: burst, b: map[string]*rate.Limiter{}}
}

// allow takes one token for id; when none is left it reports how long until one is.
func (l *limiter) allow(id string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	lim := l.b[id]
	if lim == nil {
		lim = rate.NewLimiter(l.every, l.burst)
		l.b[id] = lim
	}
	l.mu.Unlock()
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}
