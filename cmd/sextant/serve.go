package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/audit"
	"github.com/sextant-dev/sextant/internal/backend"
	sxhttp "github.com/sextant-dev/sextant/internal/http"
	"github.com/sextant-dev/sextant/internal/intake"
	"github.com/sextant-dev/sextant/internal/route"
	"github.com/sextant-dev/sextant/internal/service"
	"github.com/sextant-dev/sextant/internal/triage"
)

type serveFlags struct {
	config    string
	addr      string
	database  string
	workers   int
	logFormat string
	logLevel  string
	kev, epss string
	noIntel   bool
	context   string
}

func (m *Main) serveCommand() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the API server: durable intake, finding lifecycle, actions, audit trail",
		Long: `serve runs sextant as a service. Scanners and CI pipelines push reports to it
(POST /v1/reports, or 'sextant push'), CNAPPs deliver to authenticated webhooks
(POST /v1/webhooks/{source}); each payload is committed with its job before it
is acknowledged (202), then processed by a pool of workers: findings are
upserted by fingerprint with one attribution per source, resolved when a newer
complete scan no longer reports them, reopened when they come back, and
grouped into actions whose IDs stay stable across rescans. Every intake,
status change and refusal is on the hash-chained audit trail
('sextant audit verify').

The store is one SQLite file by default; give a postgres:// URL to share one
database between several replicas (the queue is shared, each job done once).

It listens on 127.0.0.1:8080 unless told otherwise; listening beyond loopback
needs server.allow_remote in the config file. SIGTERM or Ctrl-C stops intake,
lets the jobs in hand finish, and exits.

Every request but /healthz, /readyz and /metrics needs an API token:
  sextant token create --name ci --role analyst`,
		Example: `  sextant serve
  sextant serve --database postgres://sextant@db/sextant --addr 127.0.0.1:9090
  sextant serve --config sextant.yaml --log-format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return m.runServe(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "", "config file (default: $SEXTANT_CONFIG; see docs/config.md)")
	fl.StringVar(&f.addr, "addr", "", "listen address (default 127.0.0.1:8080)")
	fl.StringVar(&f.database, "database", "", "SQLite file or postgres:// URL (default ./sextant.db)")
	fl.IntVar(&f.workers, "workers", 0, "ingest workers (default 2)")
	fl.StringVar(&f.logFormat, "log-format", "", "log format: text or json (default text)")
	fl.StringVar(&f.logLevel, "log-level", "", "log level: debug, info, warn or error (default info)")
	fl.StringVar(&f.kev, "kev", "", "CISA KEV catalog JSON file (default: the intel cache)")
	fl.StringVar(&f.epss, "epss", "", "FIRST EPSS scores CSV file (default: the intel cache)")
	fl.BoolVar(&f.noIntel, "no-intel", false, "use no threat intel beyond what the reports carry, and do not refresh it")
	fl.StringVar(&f.context, "context", "", "context file: where images run, exposure, privilege, owner")
	return cmd
}

// serveSettings loads the configuration and applies the flags given.
func (m *Main) serveSettings(cmd *cobra.Command, f serveFlags) (serveConfig, error) {
	cfg, err := loadServeConfig(f.config, m.Getenv)
	if err != nil {
		return cfg, err
	}
	fl := cmd.Flags()
	if fl.Changed("addr") {
		cfg.Server.Addr = f.addr
	}
	if fl.Changed("database") {
		cfg.Server.Database = f.database
	}
	if fl.Changed("workers") {
		cfg.Server.Workers = f.workers
	}
	if fl.Changed("log-format") {
		cfg.Log.Format = f.logFormat
	}
	if fl.Changed("log-level") {
		cfg.Log.Level = f.logLevel
	}
	if fl.Changed("context") {
		cfg.Context = f.context
	}
	if f.noIntel {
		cfg.Intel.Refresh = duration{}
	}
	return cfg, cfg.validate()
}

func newLogger(w io.Writer, format, level string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func (m *Main) runServe(cmd *cobra.Command, f serveFlags) error {
	ctx := cmd.Context()
	cfg, err := m.serveSettings(cmd, f)
	if err != nil {
		return err
	}
	log := newLogger(cmd.ErrOrStderr(), cfg.Log.Format, cfg.Log.Level)

	db, err := backend.Open(ctx, cfg.Server.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	trail := audit.NewLog(db)

	opts, err := m.serveIntakeOptions(cfg, f, log)
	if err != nil {
		return err
	}
	webhooks := map[string]sxhttp.Config{}
	for _, sc := range cfg.webhookSources() {
		c, err := sc.Load()
		if err != nil {
			return err
		}
		webhooks[c.Name] = c
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := service.NewMetrics(reg)
	svc := service.New(db, trail, opts)
	svc.Logger, svc.Metrics = log, metrics
	svc.MaxAttempts = cfg.Queue.MaxAttempts
	svc.RetryBackoff = cfg.Queue.RetryBackoff.Duration
	svc.Lease = cfg.Queue.Lease.Duration

	weights := opts.Triage.Weights
	disp, err := cfg.dispatcher(db, trail, route.Thresholds{P0: weights.Thresholds.P0, P1: weights.Thresholds.P1, P2: weights.Thresholds.P2})
	if err != nil {
		return err
	}
	// Remediate mode: approved remediations become pull requests.
	if disp, err = cfg.wireRemediate(disp, db, db, trail); err != nil {
		return err
	}
	routes := map[string]http.Handler{}
	if disp != nil {
		disp.Logger = log
		svc.Dispatch = disp
		// Tickets carry the explanation of their action (explain_serve.go).
		summaries, err := m.newServeExplainer(db, trail, log)
		if err != nil {
			return err
		}
		disp.Summary = summaries.Summary
		if len(cfg.Slack.Approvers) > 0 {
			secret, err := resolveSecret(cfg.Slack.SigningSecret)
			if err != nil {
				return sextant.Errorf(sextant.EINVALID, "config: slack.signing_secret: %v", err)
			}
			routes["POST /v1/slack/interactions"] = slackInteractions([]byte(secret), cfg.Slack.Approvers, disp)
		}
	}

	api := &sxhttp.Server{
		Service:        svc,
		Store:          db,
		Tokens:         db,
		Webhooks:       webhooks,
		MaxReportBytes: int64(cfg.Server.MaxBodyBytes),
		Ready:          db.Ping,
		Metrics:        metrics,
		Gatherer:       reg,
		Logger:         log,
		Dispatch:       disp,
		Outbox:         db,
		Routes:         routes,
	}
	ln, err := net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		return sextant.Errorf(sextant.EUNAVAILABLE, "listen on %s: %v", cfg.Server.Addr, err)
	}
	srv := &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	// The configuration in force is on the record, by digest: a change
	// between two starts shows as two different digests.
	var desc strings.Builder
	_ = cfg.describe(&desc)
	sum := sha256.Sum256([]byte(desc.String()))
	if _, err := trail.Append(ctx, sextant.SystemActor, "server.start", "", map[string]any{
		"version": sextantVersion(), "addr": ln.Addr().String(), "database": backend.Redact(cfg.Server.Database),
		"config_sha256": hex.EncodeToString(sum[:]), "webhooks": len(webhooks), "workers": cfg.Server.Workers,
		"mode": cfg.Mode, "destinations": len(cfg.Destinations),
	}); err != nil {
		ln.Close()
		return fmt.Errorf("write the audit trail: %w", err)
	}
	if toks, err := db.Tokens(ctx); err == nil && len(toks) == 0 {
		log.Warn("no API tokens yet: every request will be refused; create one with: sextant token create --name NAME --role analyst --database " + backend.Redact(cfg.Server.Database))
	}
	log.Info("listening", "addr", "http://"+ln.Addr().String(), "database", backend.Redact(cfg.Server.Database),
		"workers", cfg.Server.Workers, "webhooks", len(webhooks))

	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = svc.RunWorkers(workCtx, cfg.Server.Workers)
	}()
	// The intel and context may have changed since the findings were
	// scored: score them again, beside the intake.
	wg.Add(1)
	go func() {
		defer wg.Done()
		rescore(workCtx, svc, log)
	}()
	if disp != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			deliveryLoop(workCtx, disp, log)
		}()
	}
	if d := cfg.Retention.Payloads.Duration; d > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			purgeLoop(workCtx, db, d, log)
		}()
	}
	if d := cfg.Intel.Refresh.Duration; d > 0 && f.kev == "" && f.epss == "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.intelLoop(workCtx, svc, cfg, f, d, log)
		}()
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		log.Info("shutting down: intake stopped, finishing the jobs in hand")
	case err := <-serveErr:
		stopWork()
		wg.Wait()
		return fmt.Errorf("serve: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Server.ShutdownTimeout.Duration)
	defer cancel()
	shutErr := srv.Shutdown(sctx)
	stopWork()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-sctx.Done():
		log.Warn("shutdown timeout: jobs still in hand will be taken back after their lease")
	}
	if _, err := trail.Append(context.WithoutCancel(ctx), sextant.SystemActor, "server.stop", "", nil); err != nil {
		log.Error("audit append failed", "err", err)
	}
	log.Info("stopped")
	if shutErr != nil && !errors.Is(shutErr, context.DeadlineExceeded) {
		return shutErr
	}
	return nil
}

// serveIntakeOptions builds how payloads are read and scored: weights,
// intel and context.
func (m *Main) serveIntakeOptions(cfg serveConfig, f serveFlags, log *slog.Logger) (intake.Options, error) {
	weights, err := cfg.riskWeights()
	if err != nil {
		return intake.Options{}, err
	}
	opts := triage.Options{Parsers: intake.Parsers(), Weights: weights}
	tf := triageFlags{kev: f.kev, epss: f.epss, intelDir: cfg.Intel.Dir, noIntel: f.noIntel}
	if _, err := m.loadIntel(tf, &opts, func(format string, a ...any) { log.Warn(fmt.Sprintf(format, a...)) }); err != nil {
		return intake.Options{}, err
	}
	if cfg.Context != "" {
		ctxs, err := triage.LoadContexts(cfg.Context)
		if err != nil {
			return intake.Options{}, err
		}
		opts.Context = ctxs.Lookup
	}
	return intake.Options{Triage: opts}, nil
}

// intelLoop refreshes the KEV catalog and EPSS scores every period and hands
// the new lookups to the service.
func (m *Main) intelLoop(ctx context.Context, svc *service.Service, cfg serveConfig, f serveFlags, period time.Duration, log *slog.Logger) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		res, err := m.intelCache(cfg.Intel.Dir).Update(ctx, nil)
		if err != nil {
			log.Warn("threat-intel refresh failed; keeping the current data", "err", err)
			continue
		}
		opts, err := m.serveIntakeOptions(cfg, f, log)
		if err != nil {
			log.Warn("threat-intel reload failed; keeping the current data", "err", err)
			continue
		}
		svc.SetIntakeOptions(opts)
		log.Info("threat intel refreshed", "result", fmt.Sprintf("%+v", res))
		rescore(ctx, svc, log)
	}
}

// deliveryLoop reconciles the destinations with the actions at start and
// every hour, and delivers until ctx is done.
func deliveryLoop(ctx context.Context, d *service.Dispatcher, log *slog.Logger) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.RunDeliveries(ctx, time.Second)
	}()
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if err := d.Reconcile(ctx); err != nil && ctx.Err() == nil {
			log.Error("reconcile deliveries", "err", err)
		}
		select {
		case <-ctx.Done():
			<-done
			return
		case <-t.C:
		}
	}
}

// rescore scores the stored findings again with the service's current
// options, logging the outcome.
func rescore(ctx context.Context, svc *service.Service, log *slog.Logger) {
	res, err := svc.Rescore(ctx, sextant.SystemActor)
	switch {
	case err != nil && ctx.Err() == nil:
		log.Error("rescore findings", "err", err)
	case err == nil && res.Changed > 0:
		log.Info("findings rescored", "findings", res.Findings, "changed", res.Changed, "artifacts", res.Artifacts)
	}
}

// purgeLoop drops raw payloads older than retention, hourly.
func purgeLoop(ctx context.Context, db backend.DB, retention time.Duration, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		n, err := db.PurgePayloads(ctx, time.Now().Add(-retention))
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("purge payloads", "err", err)
		case n > 0:
			log.Info("purged raw payloads past retention", "payloads", n, "retention", retention)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
