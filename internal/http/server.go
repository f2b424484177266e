package http

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/service"
)

// DefaultMaxReportBytes is the default body limit of POST /v1/reports.
const DefaultMaxReportBytes int64 = 64 << 20

// maxPatchBytes bounds the body of PATCH /v1/findings/{id}.
const maxPatchBytes = 64 << 10

// Reader is what the API reads from the store.
type Reader interface {
	Finding(ctx context.Context, id string) (sextant.FindingRecord, error)
	Findings(ctx context.Context, filter sextant.FindingFilter) (sextant.Page[sextant.FindingRecord], error)
	Action(ctx context.Context, id string) (sextant.ActionRecord, error)
	Actions(ctx context.Context, filter sextant.ActionFilter) (sextant.Page[sextant.ActionRecord], error)
	Ingest(ctx context.Context, id string) (sextant.Ingest, error)
	Ingests(ctx context.Context, filter sextant.IngestFilter) (sextant.Page[sextant.Ingest], error)
}

// Server is sextant's HTTP API. Set its fields, then serve Handler().
type Server struct {
	Service *service.Service
	Store   Reader
	Tokens  sextant.TokenStore
	// Webhooks are the loaded webhook sources by name.
	Webhooks map[string]Config
	// MaxReportBytes limits POST /v1/reports; 0 means DefaultMaxReportBytes.
	MaxReportBytes int64
	// Ready reports whether the server can serve: the database reachable
	// and its migrations current. nil means always ready.
	Ready func(ctx context.Context) error
	// Metrics and Gatherer serve /metrics; both may be nil.
	Metrics  *service.Metrics
	Gatherer prometheus.Gatherer
	Logger   *slog.Logger
	// Now is the clock for token expiry; nil means time.Now.
	Now func() time.Time
	// Dispatch and Outbox serve the approvals, deliveries, previews and
	// MTTR endpoints; without them those answer 404.
	Dispatch *service.Dispatcher
	Outbox   OutboxReader
	// Routes are more handlers mounted as they are, by pattern (the Slack
	// interactivity endpoint, which authenticates itself).
	Routes map[string]http.Handler
}

// OutboxReader is what the approvals, deliveries and previews endpoints read.
type OutboxReader interface {
	Deliveries(ctx context.Context, filter sextant.DeliveryFilter) (sextant.Page[sextant.Delivery], error)
	Previews(ctx context.Context, actionID, destination string, limit int, cursor string) (sextant.Page[sextant.Preview], error)
	Approval(ctx context.Context, id string) (sextant.Approval, error)
	Approvals(ctx context.Context, filter sextant.ApprovalFilter) (sextant.Page[sextant.Approval], error)
	RequestApproval(ctx context.Context, a sextant.Approval) (sextant.Approval, error)
	QueueDelivery(ctx context.Context, actionID, destination string, at time.Time) error
	MTTR(ctx context.Context, since time.Time) ([]sextant.MTTR, error)
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Handler returns the API's routes:
//
//	POST  /v1/reports                 analyst   a scanner report, any format triage reads
//	POST  /v1/webhooks/{source}       (source)  a delivery authenticated as the source says
//	GET   /v1/ingests                 viewer    ?status=queued|processing|done|failed
//	GET   /v1/ingests/{id}            viewer
//	GET   /v1/findings                viewer    ?status&priority&artifact&vulnerability&source&owner&limit&cursor
//	GET   /v1/findings/{id}           viewer    with attributions and history
//	PATCH /v1/findings/{id}           analyst   {"status","reason"}
//	GET   /v1/actions                 viewer    ?status&priority&artifact&kind&owner&limit&cursor
//	GET   /v1/actions/{id}            viewer
//	GET   /healthz, /readyz, /metrics (no token)
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	route := func(pattern string, role sextant.Role, h func(http.ResponseWriter, *http.Request, sextant.Token) error) {
		mux.Handle(pattern, s.instrument(pattern, s.authorize(role, h)))
	}
	route("POST /v1/reports", sextant.RoleAnalyst, s.postReport)
	route("GET /v1/ingests", sextant.RoleViewer, s.listIngests)
	route("GET /v1/ingests/{id}", sextant.RoleViewer, s.getIngest)
	route("GET /v1/findings", sextant.RoleViewer, s.listFindings)
	route("GET /v1/findings/{id}", sextant.RoleViewer, s.getFinding)
	route("PATCH /v1/findings/{id}", sextant.RoleAnalyst, s.patchFinding)
	route("GET /v1/actions", sextant.RoleViewer, s.listActions)
	route("GET /v1/actions/{id}", sextant.RoleViewer, s.getAction)
	if s.Outbox != nil && s.Dispatch != nil {
		route("GET /v1/approvals", sextant.RoleViewer, s.listApprovals)
		route("GET /v1/approvals/{id}", sextant.RoleViewer, s.getApproval)
		route("POST /v1/approvals/{id}/approve", sextant.RoleApprover, s.decide(sextant.ApprovalApproved))
		route("POST /v1/approvals/{id}/reject", sextant.RoleApprover, s.decide(sextant.ApprovalRejected))
		route("POST /v1/actions/{id}/approvals", sextant.RoleAnalyst, s.requestApproval)
		route("GET /v1/deliveries", sextant.RoleViewer, s.listDeliveries)
		route("POST /v1/deliveries/{action}/{destination}/retry", sextant.RoleAnalyst, s.retryDelivery)
		route("GET /v1/previews", sextant.RoleViewer, s.listPreviews)
		route("GET /v1/mttr", sextant.RoleViewer, s.mttr)
	}
	for pattern, h := range s.Routes {
		mux.Handle(pattern, s.instrument(pattern, h))
	}
	mux.Handle("POST /v1/webhooks/{source}", s.instrument("POST /v1/webhooks/{source}", http.HandlerFunc(s.postWebhook)))
	mux.Handle("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}))
	mux.Handle("GET /readyz", http.HandlerFunc(s.readyz))
	if s.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.Gatherer, promhttp.HandlerOpts{}))
	}
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, sextant.Errorf(sextant.ENOTFOUND, "no route for %s %s", r.Method, r.URL.Path))
	}))
	return mux
}

// statusRecorder remembers the status written, for metrics and logs.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (s *Server) instrument(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if s.Metrics != nil && s.Metrics.HTTP != nil {
			s.Metrics.HTTP.WithLabelValues(route, strconv.Itoa(rec.status)).Observe(time.Since(start).Seconds())
		}
		if rec.status >= 500 {
			s.log().Error("request failed", "method", r.Method, "path", r.URL.Path, "status", rec.status)
		}
	})
}

// authorize checks the bearer token and its role, then calls h; an error
// from h is answered by WriteError. Refusals are audited.
func (s *Server) authorize(role sextant.Role, h func(http.ResponseWriter, *http.Request, sextant.Token) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, err := s.authenticate(r)
		if err == nil && !tok.Role.Allows(role) {
			err = sextant.Errorf(EFORBIDDEN, "token %q has role %s; %s %s needs %s", tok.Name, tok.Role, r.Method, r.URL.Path, role)
		}
		if err != nil {
			if sextant.ErrorCode(err) == sextant.EUNAUTHORIZED {
				w.Header().Set("WWW-Authenticate", `Bearer realm="sextant"`)
			}
			s.refused(r, tok.Name, err)
			WriteError(w, err)
			return
		}
		if err := h(w, r, tok); err != nil {
			s.fail(w, r, err)
		}
	})
}

// authenticate finds the API token of r's Authorization header.
func (s *Server) authenticate(r *http.Request) (sextant.Token, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return sextant.Token{}, sextant.Errorf(sextant.EUNAUTHORIZED, "missing Authorization header: want \"Bearer <token>\" (create one with `sextant token create`)")
	}
	scheme, secret, _ := strings.Cut(h, " ")
	secret = strings.TrimSpace(secret)
	if !strings.EqualFold(scheme, "Bearer") || secret == "" {
		return sextant.Token{}, sextant.Errorf(sextant.EUNAUTHORIZED, "malformed Authorization header: want \"Bearer <token>\"")
	}
	// The lookup is by SHA-256 of the secret, which the store indexes; the
	// secret itself is never stored or compared.
	tok, err := s.Tokens.TokenByHash(r.Context(), sextant.HashTokenSecret(secret), s.now())
	switch code := sextant.ErrorCode(err); {
	case err == nil:
		return tok, nil
	case code == sextant.ENOTFOUND:
		return tok, sextant.Errorf(sextant.EUNAUTHORIZED, "unknown API token")
	case code == sextant.EUNAUTHORIZED:
		return tok, err
	default:
		return tok, err
	}
}

// refused audits a refused request.
func (s *Server) refused(r *http.Request, actor string, err error) {
	if s.Metrics != nil {
		s.Metrics.CountError(sextant.ErrorCode(err))
	}
	if actor == "" {
		actor = "anonymous"
	}
	if s.Service != nil && s.Service.Audit != nil {
		if _, aerr := s.Service.Audit.Append(r.Context(), actor, "request.refuse", r.Method+" "+r.URL.Path, map[string]any{
			"code": sextant.ErrorCode(err), "message": sextant.ErrorMessage(err), "remote": r.RemoteAddr,
		}); aerr != nil {
			s.log().Error("audit append failed", "err", aerr)
		}
	}
}

// fail answers an error of a handler, logging internal ones.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := sextant.ErrorCode(err)
	if Status(code) >= 500 {
		s.log().Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if s.Metrics != nil {
		s.Metrics.CountError(code)
	}
	WriteError(w, err)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// reportTypes are the media types POST /v1/reports takes.
func checkReportType(v string) error {
	if v == "" {
		return nil // curl --data-binary without -H: sniff the body
	}
	mt, _, err := mime.ParseMediaType(v)
	if err != nil {
		return sextant.Errorf(EUNSUPPORTEDMEDIA, "malformed Content-Type header %q", v)
	}
	switch {
	case mt == "application/json", mt == "application/gzip", mt == "application/x-gzip",
		mt == "application/octet-stream", mt == "application/x-www-form-urlencoded",
		strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"):
		return nil
	}
	return sextant.Errorf(EUNSUPPORTEDMEDIA, "Content-Type %s is not supported: send the report as application/json (or application/gzip)", mt)
}

// readBody reads a request body of at most limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, sextant.Errorf(ETOOLARGE, "%s", tooLargeMessage(limit))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, sextant.Errorf(ETOOLARGE, "%s", tooLargeMessage(limit))
		}
		return nil, sextant.Errorf(sextant.EINVALID, "read request body: %v", err)
	}
	if len(body) == 0 {
		return nil, sextant.Errorf(sextant.EINVALID, "the request body is empty: send a scanner report")
	}
	return body, nil
}

func (s *Server) postReport(w http.ResponseWriter, r *http.Request, tok sextant.Token) error {
	ct := r.Header.Get("Content-Type")
	if err := checkReportType(ct); err != nil {
		s.refused(r, tok.Name, err)
		return err
	}
	limit := s.MaxReportBytes
	if limit <= 0 {
		limit = DefaultMaxReportBytes
	}
	body, err := readBody(w, r, limit)
	if err != nil {
		s.refused(r, tok.Name, err)
		return err
	}
	source := r.URL.Query().Get("source")
	if source == "" {
		source = "api"
	}
	rec, err := s.Service.Submit(r.Context(), service.Submission{Source: source, ContentType: ct, Actor: "token:" + tok.Name, Body: body})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/ingests/"+rec.IngestID)
	writeJSON(w, http.StatusAccepted, rec)
	return nil
}

func (s *Server) postWebhook(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("source")
	src, ok := s.Webhooks[name]
	if !ok {
		err := sextant.Errorf(sextant.ENOTFOUND, "no webhook source %q is configured", name)
		s.refused(r, "webhook:"+name, err)
		WriteError(w, err)
		return
	}
	AuthenticateFunc(src, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		rec, err := s.Service.Submit(r.Context(), service.Submission{Source: name, ContentType: r.Header.Get("Content-Type"), Actor: "webhook:" + name, Body: body})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		w.Header().Set("Location", "/v1/ingests/"+rec.IngestID)
		writeJSON(w, http.StatusAccepted, rec)
	}), func(r *http.Request, err error) { s.refused(r, "webhook:"+name, err) }).ServeHTTP(w, r)
}

func (s *Server) getIngest(w http.ResponseWriter, r *http.Request, _ sextant.Token) error {
	ing, err := s.Store.Ingest(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ing)
	return nil
}

func (s *Server) listIngests(w http.ResponseWriter, r *http.Request, _ sextant.Token) error {
	q, err := query(r)
	if err != nil {
		return err
	}
	if err := checkParams(q, "status", "limit", "cursor"); err != nil {
		return err
	}
	f := sextant.IngestFilter{Status: sextant.IngestStatus(q.Get("status")), Cursor: q.Get("cursor")}
	if f.Status != "" && !f.Status.Valid() {
		return sextant.Errorf(sextant.EINVALID, "unknown ingest status %q: want queued, processing, done or failed", f.Status)
	}
	if f.Limit, err = intParam(q.Get("limit"), "limit"); err != nil {
		return err
	}
	page, err := s.Store.Ingests(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) listFindings(w http.ResponseWriter, r *http.Request, _ sextant.Token) error {
	q, err := query(r)
	if err != nil {
		return err
	}
	if err := checkParams(q, "status", "priority", "artifact", "vulnerability", "source", "owner", "limit", "cursor"); err != nil {
		return err
	}
	f := sextant.FindingFilter{
		Status:        sextant.Status(q.Get("status")),
		Artifact:      q.Get("artifact"),
		Vulnerability: q.Get("vulnerability"),
		Source:        q.Get("source"),
		Owner:         q.Get("owner"),
		Cursor:        q.Get("cursor"),
	}
	if f.Priority, err = priorityParam(q.Get("priority")); err != nil {
		return err
	}
	if f.Limit, err = intParam(q.Get("limit"), "limit"); err != nil {
		return err
	}
	page, err := s.Store.Findings(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) getFinding(w http.ResponseWriter, r *http.Request, _ sextant.Token) error {
	rec, err := s.Store.Finding(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rec)
	return nil
}

// StatusChange is the body of PATCH /v1/findings/{id}.
type StatusChange struct {
	Status sextant.Status `json:"status"`
	Reason string         `json:"reason"`
}

// DecodeStatusChange decodes and checks a PATCH /v1/findings/{id} body:
// exactly one JSON object with a known status and a reason, nothing else.
func DecodeStatusChange(body []byte) (StatusChange, error) {
	var c StatusChange
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, sextant.Errorf(sextant.EINVALID, "status change body: %v (want {\"status\": \"…\", \"reason\": \"…\"})", err)
	}
	if dec.More() {
		return c, sextant.Errorf(sextant.EINVALID, "status change body: more than one JSON value")
	}
	if err := sextant.CheckStatusChange(c.Status, c.Reason, "api"); err != nil {
		return c, err
	}
	return c, nil
}

func (s *Server) patchFinding(w http.ResponseWriter, r *http.Request, tok sextant.Token) error {
	body, err := readBody(w, r, maxPatchBytes)
	if err != nil {
		return err
	}
	c, err := DecodeStatusChange(body)
	if err != nil {
		return err
	}
	rec, err := s.Service.SetFindingStatus(r.Context(), r.PathValue("id"), c.Status, c.Reason, "token:"+tok.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rec)
	return nil
}

func (s *Server) listActions(w http.ResponseWriter, r *http.Request, _ sextant.Token) error {
	q, err := query(r)
	if err != nil {
		return err
	}
	if err := checkParams(q, "status", "priority", "artifact", "kind", "owner", "limit", "cursor"); err != nil {
		return err
	}
	f := sextant.ActionFilter{
		Status:   sextant.ActionStatus(q.Get("status")),
		Artifact: q.Get("artifact"),
		Kind:     sextant.ActionKind(q.Get("kind")),
		Owner:    q.Get("owner"),
		Cursor:   q.Get("cursor"),
	}
	if f.Status != "" && f.Status != sextant.ActionOpen && f.Status != sextant.ActionResolved {
		return sextant.Errorf(sextant.EINVALID, "unknown action status %q: want open or resolved", f.Status)
	}
	if f.Priority, err = priorityParam(q.Get("priority")); err != nil {
		return err
	}
	if f.Limit, err = intParam(q.Get("limit"), "limit"); err != nil {
		return err
	}
	page, err := s.Store.Actions(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) getAction(w http.ResponseWriter, r *http.Request, _ sextant.Token) error {
	rec, err := s.Store.Action(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rec)
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if err := s.Ready(ctx); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": sextant.ErrorMessage(err)})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// query parses the query string, refusing a malformed one (which
// URL.Query would drop silently).
func query(r *http.Request) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, sextant.Errorf(sextant.EINVALID, "malformed query string: %v", err)
	}
	return q, nil
}

// checkParams refuses query parameters a listing does not know, so that a
// typo does not silently list everything.
func checkParams(q url.Values, known ...string) error {
	for k := range q {
		ok := false
		for _, n := range known {
			if k == n {
				ok = true
				break
			}
		}
		if !ok {
			return sextant.Errorf(sextant.EINVALID, "unknown query parameter %q: want one of %s", k, strings.Join(known, ", "))
		}
	}
	return nil
}

func intParam(v, name string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, sextant.Errorf(sextant.EINVALID, "%s=%q: want a non-negative integer", name, v)
	}
	return n, nil
}

func priorityParam(v string) (*sextant.Priority, error) {
	if v == "" {
		return nil, nil
	}
	p, err := sextant.ParsePriority(v)
	if err != nil {
		return nil, sextant.Errorf(sextant.EINVALID, "priority=%q: want P0, P1, P2 or P3", v)
	}
	return &p, nil
}
