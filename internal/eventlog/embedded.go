package eventlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// embeddedStartTimeout bounds how long Open waits for the embedded server,
// including JetStream recovering its store from DataDir.
const embeddedStartTimeout = 2 * time.Minute

// startEmbedded runs nats-server in-process with JetStream on a file store
// under cfg.DataDir. It opens no TCP port: clients reach it through
// nats.InProcessServer.
func startEmbedded(ctx context.Context, cfg Config) (*server.Server, error) {
	opts := &server.Options{
		ServerName:         "moat",
		DontListen:         true,
		NoSigs:             true,
		MaxPayload:         embeddedMaxPayload,
		JetStream:          true,
		StoreDir:           cfg.DataDir, // the server appends "/jetstream"
		JetStreamMaxStore:  cfg.MaxStore,
		JetStreamMaxMemory: embeddedMaxMemory,
		SyncAlways:         cfg.SyncAlways,
		SyncInterval:       cfg.SyncInterval,
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("eventlog: embedded server: %w", err)
	}
	sl := &serverLog{log: cfg.Logger.With(slog.String("component", "nats-server"))}
	srv.SetLoggerV2(sl, false, false, false)

	go srv.Start()
	// A fatal error (say, an unusable DataDir) stops Start without ever
	// becoming ready, so poll for it while waiting.
	deadline := time.Now().Add(embeddedStartTimeout)
	ready := false
	for !ready && sl.fatal() == nil && ctx.Err() == nil && time.Now().Before(deadline) {
		ready = srv.ReadyForConnections(50 * time.Millisecond)
	}
	if fatal := sl.fatal(); fatal != nil || !ready || !srv.JetStreamEnabled() {
		srv.Shutdown()
		srv.WaitForShutdown()
		switch {
		case fatal != nil:
		case ctx.Err() != nil:
			return nil, unavailable("embedded server start", ctx.Err())
		default:
			fatal = errors.New("not ready (JetStream did not start)")
		}
		return nil, fmt.Errorf("eventlog: embedded server: %w", fatal)
	}
	return srv, nil
}
