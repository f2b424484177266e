package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/audit"
	"github.com/sextant-dev/sextant/internal/fixtures"
	"github.com/sextant-dev/sextant/internal/intake"
	"github.com/sextant-dev/sextant/internal/route"
	"github.com/sextant-dev/sextant/internal/service"
	"github.com/sextant-dev/sextant/internal/sqlite"
)

// tracker is an in-memory ticket system: what the dispatcher's logic is
// held to here (the real destinations are tested against fakes of their
// wire formats in internal/sink).
type tracker struct {
	mu       sync.Mutex
	tickets  map[string]*fakeTicket // by correlation key
	creates  int
	failures int // fail this many next calls with 503
	hang     chan struct{}
	hangNext bool // block forever after the next create (a killed process)
}

type fakeTicket struct {
	id       string
	open     bool
	comments []string
}

func newTracker() *tracker { return &tracker{tickets: map[string]*fakeTicket{}} }

func (tr *tracker) fail() error {
	if tr.failures > 0 {
		tr.failures--
		return &sextant.Error{Code: sextant.EUNAVAILABLE, Message: "tracker: 503 Service Unavailable", RetryAfter: time.Millisecond}
	}
	return nil
}

func (tr *tracker) Find(ctx context.Context, actionID string) (sextant.TicketRef, bool, error) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if err := tr.fail(); err != nil {
		return sextant.TicketRef{}, false, err
	}
	t, ok := tr.tickets[sextant.CorrelationKey(actionID)]
	if !ok {
		return sextant.TicketRef{}, false, nil
	}
	return sextant.TicketRef{ExternalID: t.id}, true, nil
}

func (tr *tracker) Create(ctx context.Context, c sextant.TicketContent) (sextant.TicketRef, error) {
	tr.mu.Lock()
	if err := tr.fail(); err != nil {
		tr.mu.Unlock()
		return sextant.TicketRef{}, err
	}
	tr.creates++
	id := fmt.Sprintf("SEC-%d", tr.creates)
	tr.tickets[sextant.CorrelationKey(c.Action.ID)] = &fakeTicket{id: id, open: true}
	hang := tr.hangNext
	tr.hangNext = false
	tr.mu.Unlock()
	if hang {
		<-tr.hang // the process dies here: the ticket exists, sextant never records it
	}
	return sextant.TicketRef{ExternalID: id}, nil
}

func (tr *tracker) byID(id string) *fakeTicket {
	for _, t := range tr.tickets {
		if t.id == id {
			return t
		}
	}
	return nil
}

func (tr *tracker) Comment(ctx context.Context, ref sextant.TicketRef, c sextant.TicketContent, comment string) error {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if err := tr.fail(); err != nil {
		return err
	}
	t := tr.byID(ref.ExternalID)
	if t == nil {
		return sextant.Errorf(sextant.ENOTFOUND, "no ticket %s", ref.ExternalID)
	}
	t.comments = append(t.comments, comment)
	return nil
}

func (tr *tracker) setOpen(ref sextant.TicketRef, open bool) error {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if err := tr.fail(); err != nil {
		return err
	}
	t := tr.byID(ref.ExternalID)
	if t == nil {
		return sextant.Errorf(sextant.ENOTFOUND, "no ticket %s", ref.ExternalID)
	}
	t.open = open
	return nil
}

func (tr *tracker) Close(ctx context.Context, ref sextant.TicketRef, comment string) error {
	return tr.setOpen(ref, false)
}

func (tr *tracker) Reopen(ctx context.Context, ref sextant.TicketRef, comment string) error {
	return tr.setOpen(ref, true)
}

func (tr *tracker) counts() (open, closed int) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, t := range tr.tickets {
		if t.open {
			open++
		} else {
			closed++
		}
	}
	return
}

type dispatchEnv struct {
	db  *sqlite.DB
	svc *service.Service
	d   *service.Dispatcher
	tr  *tracker
}

func newDispatchEnv(t *testing.T, mode sextant.Mode, when, approval string) *dispatchEnv {
	t.Helper()
	db := openStore(t)
	svc := newService(t, db, db)
	tr := newTracker()
	compile := func(expr string) *route.Program {
		p, err := route.Compile("test", expr)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	d := &service.Dispatcher{
		Store: db,
		Destinations: map[string]*service.Destination{"jira": {Name: "jira", Tickets: tr, Preview: func(op string, c sextant.TicketContent, comment string) ([]byte, error) {
			return json.Marshal(map[string]string{"op": op, "title": c.Action.Title, "comment": comment})
		}}},
		Router:  &route.Router{Destinations: []route.Destination{{Name: "jira", When: compile(when), Approval: compile(approval)}}},
		Mode:    mode,
		Audit:   audit.NewLog(db),
		Backoff: time.Millisecond,
		Lease:   200 * time.Millisecond,
		// A short cooldown: the outage test trips the breaker.
		BreakerCooldown: 20 * time.Millisecond,
	}
	svc.Dispatch = d
	return &dispatchEnv{db: db, svc: svc, d: d, tr: tr}
}

// deliverAll runs the delivery loop until nothing is pending.
func (e *dispatchEnv) deliverAll(t *testing.T, d *service.Dispatcher) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.RunDeliveries(ctx, 5*time.Millisecond); close(done) }()
	pending := true
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		page, err := e.db.Deliveries(context.Background(), sextant.DeliveryFilter{Pending: ptr(true), Dead: ptr(false)})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) == 0 {
			pending = false
			break
		}
	}
	cancel()
	<-done
	if pending {
		t.Fatal("deliveries still pending after 30s")
	}
}

func ptr[T any](v T) *T { return &v }

func (e *dispatchEnv) scan(t *testing.T, body []byte) {
	t.Helper()
	if _, err := e.svc.Submit(context.Background(), service.Submission{Source: "api", Body: body}); err != nil {
		t.Fatal(err)
	}
	processAll(t, e.svc, e.db)
}

// The closed loop on a real report: the first scan opens one ticket per
// routed action; a rescan with fixes closes exactly the actions it fixed and
// comments on the rest; a third scan reopens what came back. No ticket is
// ever created twice.
func TestTicketsFollowRescans(t *testing.T) {
	e := newDispatchEnv(t, sextant.ModeTicket, "", "")
	path := fixtures.Dir(t, "trivy", "dd", "trivy-image-debian-10.json")
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	e.scan(t, full)
	e.deliverAll(t, e.d)
	open := openActions(t, e.db)
	if n, _ := e.tr.counts(); n != len(open) || n == 0 {
		t.Fatalf("after scan A: %d open tickets for %d open actions", n, len(open))
	}

	e.scan(t, withoutPackages(t, full, "binutils", "bash"))
	e.deliverAll(t, e.d)
	openB := openActions(t, e.db)
	gone := 0
	for id := range open {
		if _, ok := openB[id]; !ok {
			gone++
		}
	}
	if gone == 0 {
		t.Fatal("the reduced scan resolved no action; the test proves nothing")
	}
	nOpen, nClosed := e.tr.counts()
	if nOpen != len(openB) || nClosed != gone || e.tr.creates != len(open) {
		t.Errorf("after scan B: %d open and %d closed tickets, %d creates; want %d open, %d closed, %d creates",
			nOpen, nClosed, e.tr.creates, len(openB), gone, len(open))
	}

	// Scan C: the full report again, later: everything comes back.
	var doc map[string]any
	if err := json.Unmarshal(full, &doc); err != nil {
		t.Fatal(err)
	}
	doc["CreatedAt"] = "2031-01-01T00:00:00Z"
	again, _ := json.Marshal(doc)
	e.scan(t, again)
	e.deliverAll(t, e.d)
	if nOpen, nClosed := e.tr.counts(); nOpen != len(open) || nClosed != 0 || e.tr.creates != len(open) {
		t.Errorf("after scan C: %d open, %d closed, %d creates; want %d open, 0 closed, no new creates",
			nOpen, nClosed, e.tr.creates, len(open))
	}
	// The audit trail has every ticket operation, and is intact.
	ops := map[string]int{}
	for en, err := range e.db.Entries(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		ops[en.Action]++
	}
	if ops["ticket.create"] != len(open) || ops["ticket.close"] != gone || ops["ticket.reopen"] != gone {
		t.Errorf("audit: %d creates, %d closes, %d reopens; want %d, %d, %d", ops["ticket.create"], ops["ticket.close"], ops["ticket.reopen"], len(open), gone, gone)
	}
	if res, err := audit.Verify(context.Background(), e.db); err != nil || !res.OK() {
		t.Errorf("audit.Verify = %+v, %v", res, err)
	}
}

// A destination that answers 503 for a while, and a sextant that dies
// between the destination's create and its own record of it: afterwards
// every ticket exists exactly once.
func TestOutageAndCrashTicketOnce(t *testing.T) {
	e := newDispatchEnv(t, sextant.ModeTicket, "", "")
	body, err := os.ReadFile("../http/testdata/trivy-two-vulns.json")
	if err != nil {
		t.Fatal(err)
	}
	e.tr.failures = 6
	e.tr.hang = make(chan struct{})
	e.tr.hangNext = true
	e.scan(t, body)

	// The first dispatcher hits the outage, then hangs after one create:
	// it is the killed process. Its claim is never completed.
	ctx1, kill := context.WithCancel(context.Background())
	go e.d.RunDeliveries(ctx1, time.Millisecond)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		e.tr.mu.Lock()
		c := e.tr.creates
		e.tr.mu.Unlock()
		if c == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first dispatcher never created a ticket")
		}
	}
	kill()

	// A restarted dispatcher on the same store takes the claim back after
	// its lease and finds the ticket instead of creating another.
	restarted := &service.Dispatcher{
		Store: e.d.Store, Destinations: e.d.Destinations, Router: e.d.Router, Mode: e.d.Mode,
		Audit: e.d.Audit, Backoff: e.d.Backoff, Lease: e.d.Lease, BreakerCooldown: e.d.BreakerCooldown,
	}
	e.deliverAll(t, restarted)
	close(e.tr.hang)

	open := openActions(t, e.db)
	if e.tr.creates != len(open) {
		t.Errorf("%d tickets created for %d actions", e.tr.creates, len(open))
	}
	for id := range open {
		del, err := e.db.Delivery(context.Background(), id, "jira")
		if err != nil {
			t.Fatal(err)
		}
		if del.Ref.ExternalID == "" || del.Dead {
			t.Errorf("delivery of %s: %+v, want a recorded ticket", id, del)
		}
	}
}

// Observe mode sends nothing and keeps a preview of every payload; the
// approval policy holds actions until an approver (not the requester)
// approves.
func TestObserveModeAndApprovals(t *testing.T) {
	ctx := context.Background()
	t.Run("observe", func(t *testing.T) {
		e := newDispatchEnv(t, sextant.ModeObserve, "", "")
		body, _ := os.ReadFile("../http/testdata/trivy-two-vulns.json")
		e.scan(t, body)
		e.deliverAll(t, e.d)
		if e.tr.creates != 0 {
			t.Fatalf("observe mode created %d tickets", e.tr.creates)
		}
		page, err := e.db.Previews(ctx, "", "jira", 100, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != len(openActions(t, e.db)) || len(page.Items) == 0 {
			t.Fatalf("%d previews for %d actions", len(page.Items), len(openActions(t, e.db)))
		}
		var p map[string]string
		if err := json.Unmarshal(page.Items[0].Payload, &p); err != nil || p["op"] != "create" || p["title"] == "" {
			t.Errorf("preview payload = %s", page.Items[0].Payload)
		}
		// Switching to ticket mode: reconciliation sends what observe held.
		e.d.Mode = sextant.ModeTicket
		if err := e.d.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		e.deliverAll(t, e.d)
		if e.tr.creates != len(page.Items) {
			t.Errorf("after leaving observe mode: %d tickets for %d actions", e.tr.creates, len(page.Items))
		}
	})
	t.Run("approval", func(t *testing.T) {
		e := newDispatchEnv(t, sextant.ModeTicket, "", "true")
		body, _ := os.ReadFile("../http/testdata/trivy-two-vulns.json")
		e.scan(t, body)
		e.deliverAll(t, e.d)
		if e.tr.creates != 0 {
			t.Fatalf("%d tickets created before any approval", e.tr.creates)
		}
		page, err := e.db.Approvals(ctx, sextant.ApprovalFilter{Status: sextant.ApprovalPending})
		if err != nil || len(page.Items) == 0 {
			t.Fatalf("pending approvals = %v, %v", page.Items, err)
		}
		a := page.Items[0]
		if _, err := e.d.Decide(ctx, a.ID, sextant.ApprovalApproved, a.RequestedBy, ""); sextant.ErrorCode(err) != service.EFORBIDDEN {
			t.Errorf("self-approval error = %v, want forbidden", err)
		}
		if _, err := e.d.Decide(ctx, a.ID, sextant.ApprovalApproved, "token:bob", "ok for P2"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.d.Decide(ctx, a.ID, sextant.ApprovalRejected, "token:carol", "no"); sextant.ErrorCode(err) != sextant.ECONFLICT {
			t.Errorf("second decision error = %v, want conflict", err)
		}
		e.deliverAll(t, e.d)
		if e.tr.creates != 1 {
			t.Errorf("after one approval: %d tickets, want 1", e.tr.creates)
		}
	})
}

var _ = intake.Options{}

// withoutPackages returns a Trivy report without the vulnerabilities of the
// named packages, scanned later.
func withoutPackages(t *testing.T, body []byte, pkgs ...string) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	drop := map[string]bool{}
	for _, p := range pkgs {
		drop[p] = true
	}
	results, _ := doc["Results"].([]any)
	for _, r := range results {
		m := r.(map[string]any)
		vs, _ := m["Vulnerabilities"].([]any)
		var keep []any
		for _, v := range vs {
			if !drop[v.(map[string]any)["PkgName"].(string)] {
				keep = append(keep, v)
			}
		}
		m["Vulnerabilities"] = keep
	}
	doc["CreatedAt"] = "2030-01-01T00:00:00Z"
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
