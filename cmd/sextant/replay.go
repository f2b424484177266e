package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/audit"
	"github.com/sextant-dev/sextant/internal/backend"
	"github.com/sextant-dev/sextant/internal/service"
)

func (m *Main) replayCommand() *cobra.Command {
	var (
		since     string
		database  string
		config    string
		kev, epss string
		noIntel   bool
	)
	cmd := &cobra.Command{
		Use:   "replay --since TIME",
		Short: "Process stored raw payloads again (after a parser fix or new intel)",
		Long: `replay reads again every payload received since TIME whose raw body is still
kept (see retention.payloads in docs/config.md) and records what it holds,
with today's parsers, threat intel and context. It is idempotent: a scan whose
data did not change is recorded once, whatever the number of replays; a scan
that changed (a parser fix found more, intel moved a score) is recorded anew
and resolves or reopens findings as any scan would.

TIME is RFC 3339 (2026-11-01T00:00:00Z), a date (2026-11-01), or a duration
back from now (24h, 7d).`,
		Example: `  sextant replay --since 24h
  sextant replay --since 2026-11-01 --database postgres://sextant@db/sextant`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			from, err := parseSince(since, time.Now())
			if err != nil {
				return err
			}
			cfg, err := loadServeConfig(config, m.Getenv)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("database") {
				cfg.Server.Database = database
			}
			ctx := cmd.Context()
			db, err := backend.Open(ctx, cfg.Server.Database)
			if err != nil {
				return err
			}
			defer db.Close()
			sf := serveFlags{kev: kev, epss: epss, noIntel: noIntel}
			opts, err := m.serveIntakeOptions(cfg, sf, newLogger(cmd.ErrOrStderr(), "text", "warn"))
			if err != nil {
				return err
			}
			svc := service.New(db, audit.NewLog(db), opts)
			out := cmd.OutOrStdout()
			failed := 0
			n, err := svc.Replay(ctx, from, m.cliActor(), func(ing sextant.Ingest, o service.Outcome, err error) {
				switch {
				case sextant.ErrorCode(err) == sextant.ENOTFOUND:
					fmt.Fprintf(out, "%s: payload no longer kept (retention); skipped\n", ing.ID)
				case err != nil:
					failed++
					fmt.Fprintf(out, "%s: %v\n", ing.ID, err)
				default:
					fmt.Fprintf(out, "%s: %d findings, %d scans recorded, %d unchanged, %d new findings\n", ing.ID, o.Findings, o.Scans, o.Skipped, o.New)
				}
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "replayed %d payloads received since %s\n", n, from.Format(time.RFC3339))
			if failed > 0 {
				return sextant.Errorf(sextant.EINVALID, "%d payloads could not be replayed", failed)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&since, "since", "", "replay payloads received since this time (required)")
	fl.StringVar(&database, "database", "", "SQLite file or postgres:// URL (default: the config's, ./sextant.db)")
	fl.StringVar(&config, "config", "", "config file (default: $SEXTANT_CONFIG)")
	fl.StringVar(&kev, "kev", "", "CISA KEV catalog JSON file (default: the intel cache)")
	fl.StringVar(&epss, "epss", "", "FIRST EPSS scores CSV file (default: the intel cache)")
	fl.BoolVar(&noIntel, "no-intel", false, "use no threat intel beyond what the reports carry")
	_ = cmd.MarkFlagRequired("since")
	return cmd
}

// parseSince reads --since: RFC 3339, a date, or a duration back from now
// (with d for days).
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if n := len(s); n > 1 && s[n-1] == 'd' {
		var days int
		if _, err := fmt.Sscanf(s[:n-1], "%d", &days); err == nil && days >= 0 && fmt.Sprint(days) == s[:n-1] {
			return now.Add(-time.Duration(days) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, sextant.Errorf(sextant.EINVALID, "--since %q: want RFC 3339 (2026-11-01T00:00:00Z), a date (2026-11-01) or a duration (24h, 7d)", s)
}
