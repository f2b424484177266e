package service

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/intake"
)

// Defaults of the queue settings.
const (
	DefaultMaxAttempts  = 5
	DefaultRetryBackoff = 2 * time.Second
	DefaultLease        = 5 * time.Minute
	DefaultPollInterval = time.Second
)

// Outcome is what processing one payload did.
type Outcome struct {
	Findings int
	// Scans is how many scans were recorded; Skipped how many were already
	// recorded (a retry or a replay of unchanged data).
	Scans, Skipped int
	New            int
	Resolved       []string
	Reopened       []string
	Actions        sextant.ActionChanges
}

// Process reads the payload of ing, records its scans and re-derives the
// actions of every artifact it touched. It is idempotent: scans recorded by
// an earlier attempt are skipped (their IDs are derived from the payload),
// so a payload processed twice changes nothing the second time. It does not
// change the ingest's status; RunWorkers and Replay do.
func (s *Service) Process(ctx context.Context, ing sextant.Ingest) (Outcome, error) {
	var out Outcome
	rc, err := s.Store.IngestPayload(ctx, ing.ID)
	if err != nil {
		return out, err
	}
	defer rc.Close()
	opts := s.intakeOptions()
	rep, err := intake.Read("ingest "+ing.ID, rc, ing.ID, opts)
	if err != nil {
		return out, err
	}
	out.Findings = rep.Findings
	owners := map[string]string{}
	var order []string
	for _, sc := range rep.Scans {
		key := sc.Record.Artifact.Key()
		if opts.Triage.Context != nil {
			if c := opts.Triage.Context(sc.Record.Artifact); c != nil {
				sc.Record.Owner = c.Owner
			}
		}
		res, err := s.Store.RecordScan(ctx, sc.Record, sc.Findings)
		switch {
		case sextant.ErrorCode(err) == sextant.ECONFLICT:
			out.Skipped++
		case err != nil:
			return out, fmt.Errorf("record scan %s: %w", sc.Record.ID, err)
		default:
			out.Scans++
			out.New += res.New
			out.Resolved = append(out.Resolved, res.Resolved...)
			out.Reopened = append(out.Reopened, res.Reopened...)
		}
		if _, ok := owners[key]; !ok {
			order = append(order, key)
		}
		owners[key] = sc.Record.Owner
	}
	for _, key := range order {
		ch, err := s.deriveActions(ctx, key, owners[key])
		if err != nil {
			return out, err
		}
		out.Actions.Opened = append(out.Actions.Opened, ch.Opened...)
		out.Actions.Updated = append(out.Actions.Updated, ch.Updated...)
		out.Actions.Resolved = append(out.Actions.Resolved, ch.Resolved...)
		out.Actions.Reopened = append(out.Actions.Reopened, ch.Reopened...)
	}
	s.dispatch(ctx, out.Actions)
	return out, nil
}

// permanent reports whether a processing error will not go away by trying
// again: the payload itself is bad.
func permanent(err error) bool {
	return sextant.ErrorCode(err) == sextant.EINVALID
}

// RunWorkers processes queued payloads on n workers until ctx is done, then
// lets the payloads in hand finish (their own contexts are not cancelled:
// drain) and returns. A transient failure puts the payload back in the
// queue with exponential backoff and jitter; after MaxAttempts, or at once
// for a bad payload, it is failed (the dead letter, visible in
// GET /v1/ingests?status=failed). A separate loop takes back payloads
// whose worker died (the lease) and purges old payloads when retention is
// set.
func (s *Service) RunWorkers(ctx context.Context, n int) error {
	if n < 1 {
		return sextant.Errorf(sextant.EINVALID, "run workers: %d workers", n)
	}
	if s.wake == nil {
		s.wake = make(chan struct{}, n)
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.work(ctx, i)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.reap(ctx)
	}()
	wg.Wait()
	return nil
}

func (s *Service) pollInterval() time.Duration {
	if s.PollInterval > 0 {
		return s.PollInterval
	}
	return DefaultPollInterval
}

func (s *Service) lease() time.Duration {
	if s.Lease > 0 {
		return s.Lease
	}
	return DefaultLease
}

// work is one worker: claim, process, finish, until ctx is done.
func (s *Service) work(ctx context.Context, id int) {
	log := s.log().With("worker", id)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		if ctx.Err() != nil {
			return
		}
		// The claim and the processing run on a context that is not
		// cancelled by shutdown: a payload in hand is finished.
		work := context.WithoutCancel(ctx)
		ing, ok, err := s.Store.ClaimIngest(work, s.now())
		if err != nil {
			log.Error("claim ingest", "err", err)
			s.Metrics.error("claim")
		}
		if ok {
			s.handle(work, log, ing)
			continue
		}
		timer.Reset(s.pollInterval())
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-timer.C:
		}
	}
}

// handle processes one claimed ingest and records how it went.
func (s *Service) handle(ctx context.Context, log interface {
	Info(string, ...any)
	Warn(string, ...any)
	Error(string, ...any)
}, ing sextant.Ingest) {
	start := s.now()
	s.Metrics.jobStarted()
	defer s.Metrics.jobFinished()
	maxAttempts := s.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxAttempts
	}
	var (
		out Outcome
		err error
	)
	if ing.Attempts > maxAttempts {
		// Earlier attempts never returned (their worker died, taken back
		// after the lease): a payload that kills its worker must not be
		// tried forever.
		err = sextant.Errorf(sextant.EINTERNAL, "the worker stopped during each of %d attempts", ing.Attempts-1)
	} else {
		out, err = s.Process(ctx, ing)
	}
	took := s.now().Sub(start)
	// The audit entry is appended before the ingest is finished: a crash in
	// between leaves it processing, to be taken back after its lease and
	// audited again, where the other order would leave an ingest done (or
	// failed) that the trail never shows processed.
	switch {
	case err == nil:
		s.audit(ctx, sextant.SystemActor, "ingest.process", ing.ID, map[string]any{
			"findings": out.Findings, "scans": out.Scans, "skipped_scans": out.Skipped, "new": out.New,
			"resolved": len(out.Resolved), "reopened": len(out.Reopened),
			"actions_opened": len(out.Actions.Opened), "actions_resolved": len(out.Actions.Resolved),
		})
		if ferr := s.Store.FinishIngest(ctx, ing.ID, out.Findings, ""); ferr != nil {
			log.Error("finish ingest", "ingest", ing.ID, "err", ferr)
			return
		}
		s.Metrics.job("done", took)
		log.Info("ingest processed", "ingest", ing.ID, "source", ing.Source, "findings", out.Findings,
			"new", out.New, "resolved", len(out.Resolved), "reopened", len(out.Reopened), "skipped_scans", out.Skipped, "took", took)
	case permanent(err) || ing.Attempts >= maxAttempts:
		// Permanent, or out of attempts: the dead letter.
		msg := sextant.ErrorMessage(err)
		if !permanent(err) {
			msg = fmt.Sprintf("gave up after %d attempts: %s", ing.Attempts, msg)
		}
		s.audit(ctx, sextant.SystemActor, "ingest.fail", ing.ID, map[string]any{"attempts": ing.Attempts, "error": msg})
		if ferr := s.Store.FinishIngest(ctx, ing.ID, 0, msg); ferr != nil {
			log.Error("fail ingest", "ingest", ing.ID, "err", ferr)
			return
		}
		s.Metrics.job("failed", took)
		s.Metrics.error(sextant.ErrorCode(err))
		log.Warn("ingest failed", "ingest", ing.ID, "attempts", ing.Attempts, "err", err)
	default:
		next := s.now().Add(s.backoff(ing.Attempts))
		if ferr := s.Store.RetryIngest(ctx, ing.ID, sextant.ErrorMessage(err), next); ferr != nil {
			log.Error("retry ingest", "ingest", ing.ID, "err", ferr)
			return
		}
		s.Metrics.job("retried", took)
		s.Metrics.error(sextant.ErrorCode(err))
		log.Warn("ingest will be retried", "ingest", ing.ID, "attempt", ing.Attempts, "next_attempt_at", next, "err", err)
	}
}

// backoff is the wait before attempt+1: RetryBackoff·2^(attempt-1), capped
// at an hour, with ±25% jitter so that replicas do not retry in step.
func (s *Service) backoff(attempt int) time.Duration {
	base := s.RetryBackoff
	if base <= 0 {
		base = DefaultRetryBackoff
	}
	d := base
	for i := 1; i < attempt && d < time.Hour; i++ {
		d *= 2
	}
	d = min(d, time.Hour)
	jitter := time.Duration(rand.Int64N(int64(d)/2+1)) - d/4
	return d + jitter
}

// reap takes back payloads whose worker's lease expired, every half lease,
// and refreshes the queue gauges.
func (s *Service) reap(ctx context.Context) {
	t := time.NewTicker(min(s.lease()/2, 30*time.Second))
	defer t.Stop()
	for {
		s.refreshGauges(ctx)
		if n, err := s.Store.RequeueStale(ctx, s.now().Add(-s.lease())); err != nil && !errors.Is(err, context.Canceled) {
			s.log().Error("requeue stale ingests", "err", err)
		} else if n > 0 {
			s.log().Warn("took back ingests whose worker stopped", "ingests", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Service) refreshGauges(ctx context.Context) {
	if s.Metrics == nil {
		return
	}
	counts, err := s.Store.IngestCounts(ctx)
	if err != nil {
		return
	}
	s.Metrics.queue(counts)
}

// Replay processes again every payload received since since that still has
// its payload, in the order received, calling progress after each. Scans
// whose data has not changed are skipped, so a replay is idempotent; a
// parser fix or new intelligence records new scans. It does not change the
// ingests' statuses.
func (s *Service) Replay(ctx context.Context, since time.Time, actor string, progress func(sextant.Ingest, Outcome, error)) (int, error) {
	var todo []sextant.Ingest
	filter := sextant.IngestFilter{Limit: sextant.MaxPageSize}
	for {
		page, err := s.Store.Ingests(ctx, filter)
		if err != nil {
			return 0, err
		}
		stop := false
		for _, ing := range page.Items {
			if ing.ReceivedAt.Before(since) {
				stop = true
				break
			}
			todo = append(todo, ing)
		}
		if stop || page.Next == "" {
			break
		}
		filter.Cursor = page.Next
	}
	n := 0
	for i := len(todo) - 1; i >= 0; i-- {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		ing := todo[i]
		out, err := s.Process(ctx, ing)
		if sextant.ErrorCode(err) == sextant.ENOTFOUND {
			// The payload was purged by retention: nothing to replay.
			progress(ing, out, err)
			continue
		}
		progress(ing, out, err)
		if err == nil {
			n++
			s.audit(ctx, actor, "ingest.replay", ing.ID, map[string]any{"scans": out.Scans, "skipped_scans": out.Skipped, "new": out.New})
		}
	}
	return n, nil
}
