// Package service is sextant's orchestration when it runs as a server: it
// takes payloads in (validated, stored with their job in one commit),
// processes them on a bounded pool of workers (parse, score, record the
// scans, derive the actions), and puts every step on the audit trail. The
// HTTP layer (internal/http) and the CLI (cmd/sextant) drive it; the stores
// (internal/sqlite, internal/postgres) keep its state.
package service

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/audit"
	"github.com/sextant-dev/sextant/internal/intake"
)

// Store is what the service keeps its state in.
type Store interface {
	sextant.Store
	sextant.IngestStore
	sextant.ActionStore
}

// Auditor appends to the audit trail; *audit.Log is one.
type Auditor interface {
	Append(ctx context.Context, actor, action, subject string, details any) (sextant.AuditEntry, error)
}

// ingestAuditor is a store that commits an ingest and its audit entry in
// one transaction (both stores are).
type ingestAuditor interface {
	CreateIngestAudited(ctx context.Context, ing sextant.Ingest, payload io.Reader,
		next func(last *sextant.AuditEntry) sextant.AuditEntry) (sextant.Ingest, sextant.AuditEntry, error)
}

// Service is the server's core. Set its fields, then call Start-less
// methods directly (Submit, Process) or RunWorkers. It is safe for
// concurrent use.
type Service struct {
	Store Store
	Audit Auditor
	// Logger receives operational logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Metrics, if set, counts what the service does.
	Metrics *Metrics
	// Dispatch, if set, is told of every change of actions, to keep the
	// destinations (tickets, chats) in step.
	Dispatch *Dispatcher

	// MaxAttempts is how many times a payload is tried before it is
	// dead-lettered (failed); 0 means 5.
	MaxAttempts int
	// RetryBackoff is the base of the exponential backoff between attempts;
	// 0 means 2s.
	RetryBackoff time.Duration
	// Lease is how long a claimed payload may stay processing before it is
	// taken back from a worker presumed dead; 0 means 5m.
	Lease time.Duration
	// PollInterval is how often idle workers look for payloads that other
	// replicas received; 0 means 1s.
	PollInterval time.Duration

	opts atomic.Pointer[intake.Options]
	wake chan struct{}
}

// New returns a Service over store that records to log, reading payloads
// with opts.
func New(store Store, log Auditor, opts intake.Options) *Service {
	s := &Service{Store: store, Audit: log}
	s.SetIntakeOptions(opts)
	return s
}

// SetIntakeOptions replaces how payloads are read and scored, as when the
// threat intelligence is refreshed. Payloads processed after the call use
// the new options.
func (s *Service) SetIntakeOptions(opts intake.Options) {
	o := opts
	s.opts.Store(&o)
}

func (s *Service) intakeOptions() intake.Options {
	if o := s.opts.Load(); o != nil {
		return *o
	}
	return intake.Options{}
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (s *Service) wakeup() chan struct{} {
	// Made lazily so that a zero Service works; RunWorkers makes it first.
	return s.wake
}

// Submission is one payload offered for intake.
type Submission struct {
	// Source is the webhook source's name, or "api" for POST /v1/reports.
	Source string
	// Format is the expected format, or "" to detect it.
	ContentType string
	// Actor is who submitted it (an API token's name, a webhook source),
	// for the audit trail.
	Actor string
	// Body is the payload as received.
	Body []byte
}

// Receipt is what Submit returns: the stored ingest and how many findings
// the payload holds.
type Receipt struct {
	IngestID string `json:"ingest_id"`
	Status   string `json:"status"`
	Findings int    `json:"findings"`
	Format   string `json:"format"`
}

// Submit validates a payload by reading it in full (any format intake reads),
// then stores it and its job in one commit and audits the intake. It returns
// only after that commit, so a Receipt means the payload will be processed.
// A payload that does not parse is an EINVALID error saying where, and
// nothing is stored but an audit entry of the refusal.
func (s *Service) Submit(ctx context.Context, sub Submission) (Receipt, error) {
	start := s.now()
	check := s.intakeOptions()
	check.CountOnly = true
	rep, err := intake.Read("payload", bytes.NewReader(sub.Body), "check", check)
	if err != nil {
		s.Metrics.intakeRefused(sextant.ErrorCode(err))
		s.audit(ctx, sub.Actor, "ingest.refuse", "", map[string]any{
			"source": sub.Source, "size": len(sub.Body), "error": sextant.ErrorMessage(err),
		})
		return Receipt{}, err
	}
	// The receipt is audited in the ingest's own transaction when the store
	// can (both can); otherwise before the commit, under the ID the ingest
	// will have, so that a crash in between leaves an entry for a payload
	// never acknowledged, never an acknowledged payload missing from the
	// trail.
	id := newIngestID()
	sum := sha256.Sum256(sub.Body)
	actor := sub.Actor
	if actor == "" {
		actor = sextant.SystemActor
	}
	details := map[string]any{
		"source": sub.Source, "format": rep.Format, "size": len(sub.Body), "sha256": hex.EncodeToString(sum[:]), "findings": rep.Findings,
	}
	newIngest := sextant.Ingest{ID: id, Source: sub.Source, ContentType: sub.ContentType}
	var ing sextant.Ingest
	log, logOK := s.Audit.(*audit.Log)
	atomic, atomicOK := s.Store.(ingestAuditor)
	if logOK && atomicOK {
		// One transaction: the payload, its job and its audit entry.
		var build func(*sextant.AuditEntry) sextant.AuditEntry
		if build, err = log.Next(actor, "ingest.receive", id, details); err == nil {
			ing, _, err = atomic.CreateIngestAudited(ctx, newIngest, bytes.NewReader(sub.Body), build)
		}
	} else {
		s.audit(ctx, actor, "ingest.receive", id, details)
		ing, err = s.Store.CreateIngest(ctx, newIngest, bytes.NewReader(sub.Body))
	}
	if err != nil {
		s.Metrics.intakeRefused(sextant.ErrorCode(err))
		s.audit(ctx, sub.Actor, "ingest.store_fail", id, map[string]any{"error": sextant.ErrorMessage(err)})
		return Receipt{}, fmt.Errorf("store payload: %w", err)
	}
	s.Metrics.intakeAccepted(sub.Source, rep.Findings, len(sub.Body), s.now().Sub(start))
	if w := s.wakeup(); w != nil {
		select {
		case w <- struct{}{}:
		default:
		}
	}
	return Receipt{IngestID: ing.ID, Status: string(ing.Status), Findings: rep.Findings, Format: rep.Format}, nil
}

// audit appends an entry, logging (not failing) when the trail cannot be
// written: the change it records has already committed.
func (s *Service) audit(ctx context.Context, actor, action, subject string, details any) {
	if s.Audit == nil {
		return
	}
	if actor == "" {
		actor = sextant.SystemActor
	}
	if _, err := s.Audit.Append(ctx, actor, action, subject, details); err != nil {
		s.log().Error("audit append failed", "action", action, "subject", subject, "err", err)
		s.Metrics.error("audit")
	}
}

// SetFindingStatus changes a finding's status on behalf of actor, with a
// reason, re-derives the actions of its artifact and audits the change.
func (s *Service) SetFindingStatus(ctx context.Context, id string, status sextant.Status, reason, actor string) (sextant.FindingRecord, error) {
	before, err := s.Store.Finding(ctx, id)
	if err != nil {
		return sextant.FindingRecord{}, err
	}
	if err := s.Store.SetStatus(ctx, id, status, reason, actor); err != nil {
		return sextant.FindingRecord{}, err
	}
	if before.Status != status {
		s.audit(ctx, actor, "finding.status", id, map[string]any{"from": before.Status, "to": status, "reason": reason})
		ch, err := s.deriveActions(ctx, before.Finding.Artifact.Key(), before.Owner)
		if err != nil {
			return sextant.FindingRecord{}, err
		}
		s.dispatch(ctx, ch)
	}
	return s.Store.Finding(ctx, id)
}

// newIngestID returns a new random ingest ID, as the stores make them.
func newIngestID() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return "ing_" + hex.EncodeToString(b[:])
}

// dispatch tells the dispatcher of changed actions. A failure is logged, not
// returned: the change is committed, and the dispatcher's reconciliation
// finds what was not queued.
func (s *Service) dispatch(ctx context.Context, ch sextant.ActionChanges) {
	if s.Dispatch == nil {
		return
	}
	if err := s.Dispatch.Changed(ctx, ch); err != nil {
		s.log().Error("queue deliveries", "err", err)
		s.Metrics.error("dispatch")
	}
}
