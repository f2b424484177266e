package http

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/sextant-dev/sextant"
)

// maxDecisionBytes bounds the body of an approval decision or request.
const maxDecisionBytes = 16 << 10

// Decision is the body of POST /v1/approvals/{id}/approve|reject.
type Decision struct {
	Comment string `json:"comment"`
}

// ApprovalRequest is the body of POST /v1/actions/{id}/approvals.
type ApprovalRequest struct {
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
	// ExpiresIn is a Go duration ("72h"); empty means 72h.
	ExpiresIn string `json:"expires_in"`
}

// decodeStrict decodes exactly one JSON object into v, refusing unknown
// fields; an empty body leaves v as it is.
func decodeStrict(body []byte, v any, what string) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return sextant.Errorf(sextant.EINVALID, "%s body: %v", what, err)
	}
	if dec.More() {
		return sextant.Errorf(sextant.EINVALID, "%s body: more than one JSON value", what)
	}
	return nil
}

// DecodeApprovalRequest decodes and checks a POST /v1/actions/{id}/approvals
// body.
func DecodeApprovalRequest(body []byte) (ApprovalRequest, time.Duration, error) {
	var r ApprovalRequest
	if err := decodeStrict(body, &r, "approval request"); err != nil {
		return r, 0, err
	}
	if r.Kind != "ticket" && r.Kind != "remediate" {
		return r, 0, sextant.Errorf(sextant.EINVALID, "approval request: kind %q: want ticket or remediate", r.Kind)
	}
	if strings.TrimSpace(r.Reason) == "" {
		return r, 0, sextant.Errorf(sextant.EINVALID, "approval request: a reason is required")
	}
	ttl := 72 * time.Hour
	if r.ExpiresIn != "" {
		d, err := time.ParseDuration(r.ExpiresIn)
		if err != nil || d <= 0 || d > 90*24*time.Hour {
			return r, 0, sextant.Errorf(sextant.EINVALID, "approval request: expires_in %q: want a duration up to 2160h", r.ExpiresIn)
		}
		ttl = d
	}
	return r, ttl, nil
}

func (s *Server) listApprovals(w http.ResponseWriter, r *http.Request, _ sextant.Token) error {
	q, err := query(r)
	if err != nil {
		return err
	}
	if err := checkParams(q, "status", "action", "limit", "cursor"); err != nil {
		return err
	}
	f := sextant.ApprovalFilter{Status: sextant.ApprovalStatus(q.Get("status")), ActionID: q.Get("action"), Cursor: q.Get("cursor")}
	switch f.Status {
	case "", sextant.ApprovalPending, sextant.ApprovalApproved, sextant.ApprovalRejected, sextant.ApprovalExpired:
	default:
		return sextant.Errorf(sextant.EINVALID, "unknown approval status %q: want pending, approved, rejected or expired", f.Status)
	}
	if f.Limit, err = intParam(q.Get("limit"), "limit"); err != nil {
		return err
	}
	page, err := s.Outbox.Approvals(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) getApproval(w http.ResponseWriter, r *http.Request, _ sextant.Token) error {
	a, err := s.Outbox.Approval(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func (s *Server) decide(status sextant.ApprovalStatus) func(http.ResponseWriter, *http.Request, sextant.Token) error {
	return func(w http.ResponseWriter, r *http.Request, tok sextant.Token) error {
		body, err := readOptionalBody(w, r, maxDecisionBytes)
		if err != nil {
			return err
		}
		var d Decision
		if err := decodeStrict(body, &d, "decision"); err != nil {
			return err
		}
		if status == sextant.ApprovalRejected && strings.TrimSpace(d.Comment) == "" {
			return sextant.Errorf(sextant.EINVALID, "a rejection needs a comment saying why")
		}
		a, err := s.Dispatch.Decide(r.Context(), r.PathValue("id"), status, "token:"+tok.Name, d.Comment)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, a)
		return nil
	}
}

func (s *Server) requestApproval(w http.ResponseWriter, r *http.Request, tok sextant.Token) error {
	body, err := readBody(w, r, maxDecisionBytes)
	if err != nil {
		return err
	}
	req, ttl, err := DecodeApprovalRequest(body)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if _, err := s.Store.Action(r.Context(), id); err != nil {
		return err
	}
	now := s.now()
	a, err := s.Outbox.RequestApproval(r.Context(), sextant.Approval{
		ActionID: id, Kind: req.Kind, Reason: req.Reason, RequestedBy: "token:" + tok.Name,
		RequestedAt: now, ExpiresAt: now.Add(ttl),
	})
	if err != nil {
		return err
	}
	if s.Service != nil && s.Service.Audit != nil {
		if _, err := s.Service.Audit.Append(r.Context(), "token:"+tok.Name, "approval.request", a.ID, map[string]any{"action": id, "kind": req.Kind, "reason": req.Reason}); err != nil {
			s.log().Error("audit append failed", "err", err)
		}
	}
	writeJSON(w, http.StatusCreated, a)
	return nil
}

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request, _ sextant.Token) error {
	q, err := query(r)
	if err != nil {
		return err
	}
	if err := checkParams(q, "destination", "action", "dead", "pending", "limit", "cursor"); err != nil {
		return err
	}
	f := sextant.DeliveryFilter{Destination: q.Get("destination"), ActionID: q.Get("action"), Cursor: q.Get("cursor")}
	if f.Dead, err = boolParam(q.Get("dead"), "dead"); err != nil {
		return err
	}
	if f.Pending, err = boolParam(q.Get("pending"), "pending"); err != nil {
		return err
	}
	if f.Limit, err = intParam(q.Get("limit"), "limit"); err != nil {
		return err
	}
	page, err := s.Outbox.Deliveries(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) retryDelivery(w http.ResponseWriter, r *http.Request, tok sextant.Token) error {
	action, dest := r.PathValue("action"), r.PathValue("destination")
	page, err := s.Outbox.Deliveries(r.Context(), sextant.DeliveryFilter{ActionID: action, Destination: dest, Limit: 1})
	if err != nil {
		return err
	}
	if len(page.Items) == 0 {
		return sextant.Errorf(sextant.ENOTFOUND, "no delivery of action %s to %s", action, dest)
	}
	if err := s.Outbox.QueueDelivery(r.Context(), action, dest, s.now()); err != nil {
		return err
	}
	if s.Service != nil && s.Service.Audit != nil {
		if _, err := s.Service.Audit.Append(r.Context(), "token:"+tok.Name, "delivery.retry", action, map[string]any{"destination": dest}); err != nil {
			s.log().Error("audit append failed", "err", err)
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listPreviews(w http.ResponseWriter, r *http.Request, _ sextant.Token) error {
	q, err := query(r)
	if err != nil {
		return err
	}
	if err := checkParams(q, "action", "destination", "limit", "cursor"); err != nil {
		return err
	}
	limit, err := intParam(q.Get("limit"), "limit")
	if err != nil {
		return err
	}
	page, err := s.Outbox.Previews(r.Context(), q.Get("action"), q.Get("destination"), limit, q.Get("cursor"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) mttr(w http.ResponseWriter, r *http.Request, _ sextant.Token) error {
	q, err := query(r)
	if err != nil {
		return err
	}
	if err := checkParams(q, "since"); err != nil {
		return err
	}
	since := s.now().Add(-90 * 24 * time.Hour)
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return sextant.Errorf(sextant.EINVALID, "since=%q: want RFC 3339", v)
		}
		since = t
	}
	rows, err := s.Outbox.MTTR(r.Context(), since)
	if err != nil {
		return err
	}
	if rows == nil {
		rows = []sextant.MTTR{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"since": since, "items": rows})
	return nil
}

func boolParam(v, name string) (*bool, error) {
	switch v {
	case "":
		return nil, nil
	case "true":
		b := true
		return &b, nil
	case "false":
		b := false
		return &b, nil
	}
	return nil, sextant.Errorf(sextant.EINVALID, "%s=%q: want true or false", name, v)
}

// readOptionalBody is readBody that allows an empty body.
func readOptionalBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength == 0 {
		return nil, nil
	}
	b, err := readBody(w, r, limit)
	if sextant.ErrorCode(err) == sextant.EINVALID && len(b) == 0 {
		return nil, nil
	}
	return b, err
}
