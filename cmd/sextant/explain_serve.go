package main

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/explain"
	"github.com/sextant-dev/sextant/internal/llm"
	"github.com/sextant-dev/sextant/internal/redact"
	"github.com/sextant-dev/sextant/internal/service"
)

// summaryTimeout bounds the explaining of one ticket's action: a delivery
// holds its lease (two minutes by default) while it runs, and a summary
// that takes longer is written by the templates instead.
const summaryTimeout = time.Minute

// maxAuditText bounds the prompt and the response kept in an llm.call
// audit entry, in bytes.
const maxAuditText = 64 << 10

// serveExplainer writes the summaries of tickets and chat messages in
// `sextant serve`: the explanation of the action, by the offline templates
// unless SEXTANT_LLM names a provider. One model, within its limits, serves
// the whole process; its answers are cached in the service's store, so an
// action delivered again unchanged (to a second destination, after a
// restart, on another replica) costs no call; every call to the provider
// is on the audit trail.
type serveExplainer struct {
	e, offline *explain.Explainer
	// lim is the model within its limits; nil when offline.
	lim   *llm.Limited
	store sextant.Store
	log   *slog.Logger
}

// newServeExplainer configures the explainer from the environment (as
// triage --explain does, docs/ai.md) with the findings and the
// explanation cache of store (both stores keep one) and the audit trail
// trail.
func (m *Main) newServeExplainer(store sextant.Store, trail service.Auditor, log *slog.Logger) (*serveExplainer, error) {
	s := &serveExplainer{store: store, log: log}
	domains := redact.ParseList(m.Getenv("SEXTANT_INTERNAL_DOMAINS"))
	registries := redact.ParseList(m.Getenv("SEXTANT_REGISTRY_HOSTS"))
	var err error
	s.e, s.lim, err = m.explainerWith(func(p explain.Model) explain.Model {
		return &auditedModel{model: p, trail: trail, log: log, domains: domains, registries: registries}
	})
	if err != nil {
		return nil, err
	}
	off := *s.e
	off.Model, off.Cache = nil, nil
	s.offline = &off
	if s.e.Model == nil {
		return s, nil
	}
	cs, ok := store.(explain.ExplanationStore)
	if !ok {
		return nil, sextant.Errorf(sextant.EINTERNAL, "the store keeps no explanations: ticket summaries by %s would cost a call each time", s.e.Provider)
	}
	cache := explain.NewStoreCache(cs)
	cache.OnError = func(op string, err error) { log.Warn("explanation cache failed", "op", op, "err", err) }
	s.e.Cache = cache
	c := s.lim.Limits()
	log.Info("ticket summaries written by a language model", "provider", c.Provider, "model", c.Model)
	return s, nil
}

// Summary explains the action of rec for a ticket. It never fails: when
// the explainer does (the deadline passes, the prompt is misconfigured),
// the templates write the summary.
func (s *serveExplainer) Summary(ctx context.Context, rec sextant.ActionRecord) string {
	fs, err := s.findings(ctx, rec.Action)
	if err != nil {
		s.log.Warn("summary without the findings' details", "action", rec.Action.ID, "err", err)
	}
	cctx, cancel := context.WithTimeout(ctx, summaryTimeout)
	defer cancel()
	x, err := s.e.Explain(cctx, rec.Action, fs)
	if err != nil {
		s.log.Warn("explaining the action failed; the templates write its summary", "action", rec.Action.ID, "err", err)
		if x, err = s.offline.Explain(ctx, rec.Action, fs); err != nil {
			return ""
		}
	}
	return x.Text
}

// findings returns the stored findings of a (the first maxExplainFindings
// of them, highest score first): what the facts take their severities,
// fixed versions and advisory text from.
func (s *serveExplainer) findings(ctx context.Context, a sextant.Action) ([]sextant.Finding, error) {
	want := make(map[string]bool, len(a.FindingIDs))
	for _, id := range a.FindingIDs {
		want[id] = true
	}
	limit := min(len(want), maxExplainFindings)
	var out []sextant.Finding
	filter := sextant.FindingFilter{Artifact: a.Artifact, Limit: sextant.MaxPageSize}
	for len(out) < limit {
		page, err := s.store.Findings(ctx, filter)
		if err != nil {
			return out, err
		}
		for _, r := range page.Items {
			if r.Finding != nil && want[r.Finding.ID] && len(out) < limit {
				out = append(out, *r.Finding)
			}
		}
		if page.Next == "" {
			break
		}
		filter.Cursor = page.Next
	}
	return out, nil
}

// auditedModel puts every call to the provider on the audit trail, as an
// llm.call entry about the action: provider, model, prompt (ID, version,
// hash), input hash, redaction counts, tokens and outcome, and the prompt
// and the answer as redacted text. The prompt was redacted before it was
// sent; both are passed through redaction again before they are stored,
// placeholders kept, so that what the audit trail keeps is never more
// than redacted text (a value caught only then is counted in
// audit_redaction).
type auditedModel struct {
	model               explain.Model
	trail               service.Auditor
	log                 *slog.Logger
	domains, registries []string
}

func (a *auditedModel) Complete(ctx context.Context, req explain.Request) (explain.Response, error) {
	start := time.Now()
	resp, err := a.model.Complete(ctx, req)
	tr := req.Trace
	lim := limitsOf(a.model)
	var usage llm.Usage
	var aerr *llm.AnswerError
	outcome := llm.OutcomeOK
	switch {
	case err == nil:
		usage = llm.Usage{Model: resp.Model, InputTokens: resp.InputTokens, OutputTokens: resp.OutputTokens}
	case errors.As(err, &aerr):
		usage, outcome = aerr.Usage, aerr.Kind
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		outcome = llm.OutcomeTimeout
	case ctx.Err() != nil:
		outcome = llm.OutcomeCanceled
	default:
		outcome = sextant.ErrorCode(err)
	}
	if usage.Model == "" {
		usage.Model = lim.Model
	}
	r := &redact.Redactor{InternalDomains: a.domains, RegistryHosts: a.registries}
	prompt, late := redactText(r, req.User)
	answer, lateAnswer := redactText(r, resp.Text)
	details := map[string]any{
		"provider": lim.Provider, "model": usage.Model,
		"prompt_id": tr.PromptID, "prompt_version": tr.PromptVersion, "prompt_hash": tr.PromptHash,
		"input_hash": tr.InputHash, "redaction": reportOrEmpty(tr.Redaction), "repair": tr.Repair,
		"input_tokens": usage.InputTokens, "output_tokens": usage.OutputTokens,
		"outcome": outcome, "latency_ms": time.Since(start).Milliseconds(),
		"prompt": llm.Clip(prompt, maxAuditText), "response": llm.Clip(answer, maxAuditText),
	}
	if err != nil {
		msg, _ := redactText(r, sextant.ErrorMessage(err))
		details["error"] = llm.Clip(msg, 300)
	}
	if n := late.Add(lateAnswer); n.Total() > 0 {
		details["audit_redaction"] = n
	}
	// The call is made: its record is written even if the caller is gone.
	if _, werr := a.trail.Append(context.WithoutCancel(ctx), sextant.SystemActor, "llm.call", tr.ActionID, details); werr != nil {
		a.log.Error("audit append failed", "action", "llm.call", "err", werr)
	}
	return resp, err
}

// limitsOf returns the limits of the bare provider, which name it and
// its configured model.
func limitsOf(m explain.Model) llm.Limits {
	if l, ok := m.(*llm.Limited); ok {
		return l.Limits()
	}
	return llm.Limits{}
}

func reportOrEmpty(r redact.Report) redact.Report {
	if r == nil {
		return redact.Report{}
	}
	return r
}

// placeholderRE matches a redaction placeholder ("[HOST_1]").
var placeholderRE = regexp.MustCompile(`\[[A-Z][A-Z_]*_[0-9]+\]`)

// redactText redacts the text between the placeholders of s, which it
// keeps; the placeholders it adds are marked LATE_ ("[LATE_IP_1]"), so
// that none is mistaken for one of the explainer's.
func redactText(r *redact.Redactor, s string) (string, redact.Report) {
	var (
		b    strings.Builder
		rep  redact.Report
		last int
	)
	gap := func(t string) {
		out, n := r.Redact(t)
		if n.Total() > 0 {
			out = placeholderRE.ReplaceAllStringFunc(out, func(p string) string { return "[LATE_" + p[1:] })
		}
		rep = rep.Add(n)
		b.WriteString(out)
	}
	for _, loc := range placeholderRE.FindAllStringIndex(s, -1) {
		gap(s[last:loc[0]])
		b.WriteString(s[loc[0]:loc[1]])
		last = loc[1]
	}
	gap(s[last:])
	return b.String(), rep
}
