package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/center"
	"github.com/moatsec/moat/internal/center/centerapi"
	"github.com/moatsec/moat/internal/center/detect"
	"github.com/moatsec/moat/internal/center/notify"
	"github.com/moatsec/moat/internal/center/posture"
	"github.com/moatsec/moat/internal/center/respond"
	"github.com/moatsec/moat/internal/center/rules"
	"github.com/moatsec/moat/internal/device"
	"github.com/moatsec/moat/internal/eventlog"
	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/internal/hub/httpapi"
	"github.com/moatsec/moat/internal/store"
	"github.com/prometheus/client_golang/prometheus"
)

// centerParts is the running security center of this node.
type centerParts struct {
	svc       *center.Service
	engine    *detect.Engine
	watcher   *rules.Watcher
	notifier  *notify.Notifier
	responder *respond.Responder
	cancel    context.CancelFunc
	done      chan struct{}
}

// centerChangesTopic tells every node that response policies or the
// notification settings changed.
const centerChangesTopic = "center-changes"

// notificationsKey is the setting holding the notification settings,
// sealed (they hold SMTP passwords and webhook secrets).
const notificationsKey = "center/notifications"

// startCenter builds the center and starts its pipeline; its routes are
// returned whether or not the center runs on this node.
func (s *Server) startCenter(ctx context.Context, clock func() time.Time, manage func(*http.Request) error, reg prometheus.Registerer) ([]httpapi.Route, error) {
	if clock == nil {
		clock = time.Now
	}
	// Every node serves the API; a change made on a node without the
	// center reaches the node that runs it through the notification.
	opts := centerapi.Options{Store: s.store, Authorize: manage, Clock: clock, Logger: s.logger,
		Posture: &postureSource{s: s, clock: clock, config: s.cfg.Posture()}, Settings: notificationSettings{s: s}, PoliciesChanged: s.centerChanged}
	if !s.cfg.Center {
		return centerapi.Routes(opts), nil
	}
	builtin, err := rules.Builtin()
	if err != nil {
		return nil, fmt.Errorf("server: built-in rules: %w", err)
	}
	w, err := rules.NewWatcher(s.cfg.RulesDir, builtin)
	if err != nil {
		return nil, fmt.Errorf("server: rules: %w", err)
	}
	if _, _, err := w.Reload(); err != nil {
		s.logger.Error("detection rules refused; the built-in rules run", "dir", s.cfg.RulesDir, "err", err)
	}
	// The baseline's memory forgets a device on any change to it, here or
	// (through the device-change notifications) on another node: deleting
	// a device deletes its stored baseline.
	bl := center.NewStoreBaseline(s.store, 0)
	eng := detect.New(w.Current(), detect.Options{Clock: clock, Baseline: bl, Devices: &registered{s: s}, Logger: s.logger.With("component", "detect")})
	ncfg, err := s.loadNotifications(ctx)
	if err != nil {
		s.logger.Error("notification settings unreadable; none sent until they are set again", "err", err)
	}
	n, err := notify.New(ncfg, notify.Options{Logger: s.logger.With("component", "notify"), Tags: deviceTags{s.devices},
		Link: func(id string) string { return s.publicURL() + "/api/v1/alerts/" + id }})
	if err != nil {
		return nil, err
	}
	resp := respond.New(s.store, respondDevices{s.devices}, s.logger.With("component", "respond"))
	svc, err := center.New(center.Options{Store: s.store, Stream: stream{s.log}, Detector: eng, Alerts: center.StoreAlerts{Store: s.store},
		Notifier: n, Responder: resp, Retention: s.cfg.SecurityRetention, AlertRetention: s.cfg.AlertRetention, Clock: clock, Logger: s.logger.With("component", "center"), Registerer: reg})
	if err != nil {
		return nil, err
	}
	// A change to a device, here or (through the device-change
	// notifications) on another node, makes the baseline's memory and the
	// detector forget it: deleting a device deletes its stored baseline,
	// and the device registered again learns a new one.
	forget := func(id string) {
		bl.Forget(id)
		svc.ForgetDevice(id)
	}
	s.devices.OnChange(forget)
	if _, err := s.log.OnNotify(deviceChangesTopic, func(id []byte) { forget(string(id)) }); err != nil {
		return nil, fmt.Errorf("server: subscribe to device changes: %w", err)
	}
	cctx, cancel := context.WithCancel(context.Background())
	cp := &centerParts{svc: svc, engine: eng, watcher: w, notifier: n, responder: resp, cancel: cancel, done: make(chan struct{})}
	s.center = cp
	if _, err := s.log.OnNotify(centerChangesTopic, func([]byte) {
		resp.Reload()
		if c, err := s.loadNotifications(cctx); err == nil {
			_ = n.SetConfig(c)
		}
	}); err != nil {
		cancel()
		return nil, err
	}
	go w.Run(cctx, 5*time.Second, eng.SetRules, func(err error) {
		s.logger.Error("detection rules refused; the previous ones keep running", "err", err)
	})
	go func() {
		defer close(cp.done)
		if err := svc.Run(cctx); err != nil {
			s.logger.Error("security center stopped", "err", err)
		}
	}()
	opts.Rules = ruleList{w}
	opts.PoliciesChanged = func() { resp.Reload(); s.centerChanged() }
	return centerapi.Routes(opts), nil
}

func (s *Server) centerChanged() {
	if err := s.log.Notify(centerChangesTopic, nil); err != nil {
		s.logger.Warn("center change not shared with other nodes", "err", err)
	}
}

func (s *Server) stopCenter(ctx context.Context) {
	cp := s.center
	if cp == nil {
		return
	}
	cp.cancel()
	select {
	case <-cp.done:
	case <-ctx.Done():
	}
	_ = cp.notifier.Close(ctx)
}

// stream adapts the security stream to the center.
type stream struct{ l *eventlog.Log }

func (st stream) Consume(ctx context.Context, durable string, maxBatch int, handle func(context.Context, []center.Record) error) error {
	return st.l.ConsumeSecurity(ctx, durable, maxBatch, 0, func(ctx context.Context, batch []eventlog.SecurityEntry) error {
		recs := make([]center.Record, len(batch))
		for i, e := range batch {
			recs[i] = center.Record{Sequence: e.Sequence, Time: e.Time, Hub: e.Hub, Source: e.Source, Device: e.Device, Data: e.Data}
		}
		return handle(ctx, recs)
	})
}

// registered lists the registry's devices for absence rules. The engine
// asks from its processing goroutine, so the answer comes from a copy that
// a background refresh renews (listing a large registry takes a while and
// must not hold the pipeline); only the first answer waits for the list.
type registered struct {
	s *Server

	mu         sync.Mutex
	list       []detect.RegisteredDevice
	have       bool
	refreshing bool
}

func (r *registered) Registered(ctx context.Context) ([]detect.RegisteredDevice, error) {
	r.mu.Lock()
	if r.have {
		list := r.list
		if !r.refreshing {
			r.refreshing = true
			go r.refresh(context.WithoutCancel(ctx))
		}
		r.mu.Unlock()
		return list, nil
	}
	r.mu.Unlock()
	return r.refresh(ctx)
}

func (r *registered) refresh(ctx context.Context) ([]detect.RegisteredDevice, error) {
	list, err := r.load(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refreshing = false
	if err != nil {
		return r.list, err
	}
	r.list, r.have = list, true
	return list, nil
}

func (r *registered) load(ctx context.Context) ([]detect.RegisteredDevice, error) {
	seen, err := r.s.store.ListAgentSeen(ctx)
	if err != nil {
		return nil, err
	}
	last := make(map[string]time.Time, len(seen))
	for _, a := range seen {
		last[a.Device] = a.LastSeen
	}
	var out []detect.RegisteredDevice
	err = r.s.eachDevice(ctx, func(d device.Device) {
		out = append(out, detect.RegisteredDevice{ID: d.ID, Hub: d.Hub, Created: d.CreatedAt, LastAgentEvent: last[d.ID]})
	})
	return out, err
}

// eachDevice calls fn with every registered device.
func (s *Server) eachDevice(ctx context.Context, fn func(device.Device)) error {
	f := device.Filter{Limit: device.MaxPageSize}
	for {
		p, err := s.devices.List(ctx, f)
		if err != nil {
			return err
		}
		for _, d := range p.Devices {
			fn(d)
		}
		if p.Next == "" || len(p.Devices) == 0 {
			return nil
		}
		f.After = p.Next
	}
}

// deviceTags gives notification rules a device's tags.
type deviceTags struct{ d *device.Service }

func (t deviceTags) Tags(ctx context.Context, id string) (map[string]string, error) {
	d, err := t.d.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return d.Tags, nil
}

// respondDevices is the registry for responses.
type respondDevices struct{ d *device.Service }

func (r respondDevices) Quarantine(ctx context.Context, id, reason string) error {
	_, err := r.d.Quarantine(ctx, id, reason)
	return err
}

func (r respondDevices) State(ctx context.Context, id string) (string, map[string]string, error) {
	d, err := r.d.Get(ctx, id)
	if err != nil {
		var ae *apierr.Error
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
			return "", nil, store.ErrNotFound
		}
		return "", nil, err
	}
	return d.Status, d.Tags, nil
}

// ruleList lists the rules for GET /api/v1/rules.
type ruleList struct{ w *rules.Watcher }

func (r ruleList) Rules() (any, []string) {
	set := r.w.Current()
	var problems []string
	if err := r.w.Err(); err != nil {
		problems = append(problems, strings.Split(err.Error(), "\n")...)
	}
	problems = append(problems, set.Warnings...)
	type view struct {
		*rules.Rule
		Active bool `json:"active"`
	}
	var out []view
	for _, ru := range set.All() {
		out = append(out, view{Rule: ru, Active: set.Active(ru.ID)})
	}
	return out, problems
}

// notificationSettings stores the notification settings sealed.
type notificationSettings struct{ s *Server }

func (s *Server) loadNotifications(ctx context.Context) (notify.Config, error) {
	sealed, _, err := s.store.GetSetting(ctx, notificationsKey)
	if errors.Is(err, store.ErrNotFound) {
		return notify.Config{}, nil
	} else if err != nil {
		return notify.Config{}, err
	}
	raw, err := base64.StdEncoding.DecodeString(string(sealed))
	if err != nil {
		return notify.Config{}, err
	}
	plain, err := s.box.Open(raw, notificationsKey)
	if err != nil {
		return notify.Config{}, err
	}
	return notify.Parse(plain)
}

func (n notificationSettings) Notifications(ctx context.Context) (json.RawMessage, error) {
	c, err := n.s.loadNotifications(ctx)
	if err != nil {
		return nil, hub.StoreError(err)
	}
	return json.Marshal(c.View())
}

func (n notificationSettings) PutNotifications(ctx context.Context, data []byte) (json.RawMessage, error) {
	// Secrets shown redacted ("********") keep the stored ones, so a
	// document read with GET can be changed and put back.
	var c notify.Config
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, apierr.Wrap(err, http.StatusBadRequest, "invalid_notifications", "notifications: %v", err)
	}
	prev, err := n.s.loadNotifications(ctx)
	if err != nil {
		// Unreadable (say, sealed with another master key): replace them.
		n.s.logger.Warn("stored notification settings unreadable; replacing them", "err", err)
		prev = notify.Config{}
	}
	if err := c.KeepSecrets(prev); err != nil {
		return nil, apierr.Wrap(err, http.StatusBadRequest, "invalid_notifications", "%v", err)
	}
	if err := c.Validate(); err != nil {
		return nil, apierr.Wrap(err, http.StatusBadRequest, "invalid_notifications", "%v", err)
	}
	plain, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	sealed := base64.StdEncoding.EncodeToString(n.s.box.Seal(plain, notificationsKey))
	if err := n.s.store.PutSetting(ctx, notificationsKey, []byte(sealed)); err != nil {
		return nil, hub.StoreError(err)
	}
	if cp := n.s.center; cp != nil {
		if err := cp.notifier.SetConfig(c); err != nil {
			return nil, apierr.Wrap(err, http.StatusBadRequest, "invalid_notifications", "%v", err)
		}
	}
	n.s.centerChanged()
	return json.Marshal(c.View())
}

// postureSource computes recommendations from the store and the registry.
type postureSource struct {
	s      *Server
	clock  func() time.Time
	config posture.Config
	mu     sync.Mutex // one computation at a time: it reads every device
}

func (p *postureSource) Recommendations(ctx context.Context) (any, map[string]int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.s
	in := posture.Input{Now: p.clock(), Items: map[string][]store.DeviceItem{}, Agents: map[string]store.AgentSeen{}, Config: p.config}
	if err := s.eachDevice(ctx, func(d device.Device) {
		in.Devices = append(in.Devices, posture.Device{ID: d.ID, Hub: d.Hub, Tags: d.Tags, Status: d.Status, CreatedAt: d.CreatedAt})
	}); err != nil {
		return nil, nil, err
	}
	ids, err := s.store.ListDevicesWithItems(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, id := range ids {
		items, err := s.store.ListDeviceItems(ctx, id, "")
		if err != nil {
			return nil, nil, err
		}
		in.Items[id] = items
	}
	seen, err := s.store.ListAgentSeen(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, a := range seen {
		in.Agents[a.Device] = a
	}
	all, err := s.store.ListAllRules(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, r := range all {
		// Send keys devices could share; Manage keys are the operators'.
		if slices.Contains(r.Rights, "Send") && !slices.Contains(r.Rights, "Manage") && !strings.HasPrefix(r.Name, "moat-") {
			in.SharedSendRules = append(in.SharedSendRules, posture.SharedRule{Hub: r.Hub, Name: r.Name})
		}
	}
	recs := posture.Compute(in)
	scores := map[string]int{}
	for id, sc := range posture.Scores(in, recs) {
		scores[id] = sc.Score
	}
	return recs, scores, nil
}
