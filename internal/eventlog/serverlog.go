package eventlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
)

// serverLog adapts the embedded server's logger to slog. The server's
// notices (startup banner, JetStream recovery) go to Debug so a healthy
// server is silent at Info; warnings and errors keep their level. Debug and
// trace output are never enabled on the server. Fatal errors are logged and
// remembered instead of exiting the process, so Open can report them.
type serverLog struct {
	log *slog.Logger

	mu       sync.Mutex
	fatalErr error
}

func (l *serverLog) emit(level slog.Level, format string, v []any) {
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	l.log.Log(context.Background(), level, fmt.Sprintf(format, v...))
}

func (l *serverLog) Noticef(format string, v ...any) { l.emit(slog.LevelDebug, format, v) }
func (l *serverLog) Warnf(format string, v ...any)   { l.emit(slog.LevelWarn, format, v) }
func (l *serverLog) Errorf(format string, v ...any)  { l.emit(slog.LevelError, format, v) }
func (l *serverLog) Debugf(format string, v ...any)  { l.emit(slog.LevelDebug-4, format, v) }
func (l *serverLog) Tracef(format string, v ...any)  { l.emit(slog.LevelDebug-8, format, v) }

func (l *serverLog) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.log.Error(msg)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fatalErr == nil {
		l.fatalErr = errors.New(msg)
	}
}

func (l *serverLog) fatal() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fatalErr
}
