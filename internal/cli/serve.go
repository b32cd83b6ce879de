package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/moatsec/moat/internal/config"
	"github.com/moatsec/moat/internal/server"
	"github.com/spf13/cobra"
)

func newServe() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a Moat node (hub, admin API) on its embedded defaults or the given configuration",
		Long: `Run a Moat node. Settings come from built-in defaults, then the YAML file
(--config or MOAT_CONFIG), then MOAT_* environment variables, then flags.
The master key comes from MOAT_MASTER_KEY or DATA/master.key (created on first start).
SIGTERM or SIGINT drains in-flight requests and exits.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cmd.Flags(), os.Getenv)
			if err != nil {
				return err
			}
			logger := newLogger(cfg, cmd.ErrOrStderr())
			srv, err := server.Start(cmd.Context(), cfg, server.Options{Logger: logger, MasterKey: os.Getenv("MOAT_MASTER_KEY")})
			if err != nil {
				return err
			}
			var serveErr error
			select {
			case <-cmd.Context().Done():
				logger.Info("shutting down: draining in-flight requests", "timeout", cfg.Drain)
			case serveErr = <-srv.Done():
				logger.Error("listener failed", "err", serveErr)
			}
			if err := srv.Close(context.Background()); err != nil {
				return fmt.Errorf("shutdown: %w", err)
			}
			if serveErr != nil {
				return fmt.Errorf("listener failed: %w", serveErr)
			}
			logger.Info("stopped")
			return nil
		},
	}
	config.RegisterFlags(cmd.Flags())
	return cmd
}

func newLogger(cfg config.Server, w interface{ Write([]byte) (int, error) }) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
