package sextant

import (
	"context"
	"encoding/base64"
	"io"
	"strconv"
	"strings"
	"time"
)

// IngestStatus is where an ingest stands in the intake queue.
type IngestStatus string

// Ingest statuses, in the order an ingest goes through them.
const (
	// IngestQueued: received and committed, waiting for a worker.
	IngestQueued IngestStatus = "queued"
	// IngestProcessing: claimed by a worker.
	IngestProcessing IngestStatus = "processing"
	// IngestDone: processed; Findings says how many findings it held.
	IngestDone IngestStatus = "done"
	// IngestFailed: processing failed; Error says why.
	IngestFailed IngestStatus = "failed"
)

// Valid reports whether s is one of the four ingest statuses.
func (s IngestStatus) Valid() bool {
	switch s {
	case IngestQueued, IngestProcessing, IngestDone, IngestFailed:
		return true
	}
	return false
}

// Finished reports whether s is done or failed.
func (s IngestStatus) Finished() bool { return s == IngestDone || s == IngestFailed }

// Ingest is one payload received for intake (a report pushed to
// POST /v1/reports, a webhook event) and the job of processing it: the row
// is the job, so that committing the payload enqueues it. Its JSON is the
// body of GET /v1/ingests/{id}.
type Ingest struct {
	// ID identifies the ingest; empty lets the store choose one.
	ID string `json:"id"`
	// Source names where the payload came from: a webhook source, or the
	// report format ("trivy", or "auto" when it is to be detected). It is
	// required.
	Source string `json:"source"`
	// ContentType is the payload's media type as received.
	ContentType string `json:"content_type,omitempty"`
	// Size and SHA256 (hex) are those of the payload as received,
	// uncompressed; the store computes them.
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// ReceivedAt is when the payload arrived; zero means now. The queue is
	// served oldest first by it.
	ReceivedAt time.Time    `json:"received_at"`
	Status     IngestStatus `json:"status"`
	// Findings is how many findings processing found; Error is why it
	// failed. Both are set when the ingest finishes.
	Findings int    `json:"findings"`
	Error    string `json:"error,omitempty"`
	// StartedAt is when a worker claimed the ingest, FinishedAt when it
	// finished; zero until then.
	StartedAt  time.Time `json:"started_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	// Attempts is how many times a worker claimed the ingest.
	Attempts int `json:"attempts"`
	// NextAttemptAt is when a queued ingest that failed a transient error
	// may be claimed again; zero when it may be claimed now.
	NextAttemptAt time.Time `json:"next_attempt_at,omitzero"`
}

// IngestStore keeps ingests with their raw payloads, compressed, and serves
// them as a durable queue to a pool of workers, on one or several replicas.
// internal/sqlite and internal/postgres implement it;
// storetest.RunIngests is the conformance suite both pass.
//
// Errors are *Error: EINVALID for bad arguments, ENOTFOUND for an unknown
// ingest or a purged payload, ECONFLICT for an ID stored before or an
// ingest not in the state an operation needs.
type IngestStore interface {
	// CreateIngest stores ing and its payload (gzip-compressed) in one
	// transaction, and returns the ingest as stored: queued, with its ID,
	// ReceivedAt, Size and SHA256 set; its Findings, Error, StartedAt and
	// FinishedAt are ignored. A missing source or an empty payload is
	// EINVALID.
	CreateIngest(ctx context.Context, ing Ingest, payload io.Reader) (Ingest, error)
	// Ingest returns one ingest, or an ENOTFOUND error.
	Ingest(ctx context.Context, id string) (Ingest, error)
	// IngestPayload returns the payload of an ingest, decompressed,
	// byte-identical to what was received. An unknown ingest, and one whose
	// payload was purged, are ENOTFOUND, with a message that says which.
	IngestPayload(ctx context.Context, id string) (io.ReadCloser, error)
	// ClaimIngest atomically moves the oldest queued ingest (by ReceivedAt,
	// then ID) whose NextAttemptAt is not after now to processing, with
	// StartedAt now and Attempts one more, and returns it. Two callers, in
	// one process or on two replicas, never claim the same ingest. ok is
	// false when none is ready.
	ClaimIngest(ctx context.Context, now time.Time) (ing Ingest, ok bool, err error)
	// FinishIngest finishes a processing ingest: done with its number of
	// findings when errText is empty, failed with errText otherwise. An
	// unknown ingest is ENOTFOUND; one that is not processing is ECONFLICT.
	FinishIngest(ctx context.Context, id string, findings int, errText string) error
	// RetryIngest puts a processing ingest back in the queue after a
	// transient failure: queued, with Error errText (kept for the API),
	// StartedAt cleared and NextAttemptAt at. An unknown ingest is
	// ENOTFOUND; one that is not processing is ECONFLICT.
	RetryIngest(ctx context.Context, id, errText string, at time.Time) error
	// RequeueStale puts back in the queue every processing ingest claimed
	// before startedBefore (its worker died: the lease expired), with
	// Error saying so, and returns how many. Their Attempts are kept, so
	// that a payload that kills its worker every time ends up failed.
	RequeueStale(ctx context.Context, startedBefore time.Time) (int, error)
	// Ingests returns one page of ingests, newest first (ReceivedAt
	// descending, then ID descending), of one status or all.
	Ingests(ctx context.Context, filter IngestFilter) (Page[Ingest], error)
	// IngestCounts returns how many ingests are in each status (every
	// status present, zero included).
	IngestCounts(ctx context.Context) (map[IngestStatus]int, error)
	// PurgePayloads drops the payloads of the finished (done or failed)
	// ingests received before olderThan, keeping their rows, and returns
	// how many it dropped. Queued and processing ingests keep theirs.
	PurgePayloads(ctx context.Context, olderThan time.Time) (int, error)
}

// CheckIngest checks the arguments of IngestStore.CreateIngest that can be
// checked before reading the payload: a source. Errors are EINVALID.
func CheckIngest(ing Ingest) error {
	if strings.TrimSpace(ing.Source) == "" {
		return Errorf(EINVALID, "an ingest needs a source")
	}
	return nil
}

// CheckIngestFinish checks the arguments of IngestStore.FinishIngest: an ID
// and a number of findings that is not negative. Errors are EINVALID.
func CheckIngestFinish(id string, findings int) error {
	if strings.TrimSpace(id) == "" {
		return Errorf(EINVALID, "finish ingest: no ingest ID")
	}
	if findings < 0 {
		return Errorf(EINVALID, "finish ingest %q: %d findings is negative", id, findings)
	}
	return nil
}

// CheckIngestRetry checks the arguments of IngestStore.RetryIngest: an ID
// that is not blank. Errors are EINVALID.
func CheckIngestRetry(id string) error {
	if strings.TrimSpace(id) == "" {
		return Errorf(EINVALID, "retry ingest: no ingest ID")
	}
	return nil
}

// FinishedStatus returns the status FinishIngest sets for an error text:
// done when it is empty, failed otherwise.
func FinishedStatus(errText string) IngestStatus {
	if errText == "" {
		return IngestDone
	}
	return IngestFailed
}

// IngestFilter selects ingests. Zero fields match everything.
type IngestFilter struct {
	Status IngestStatus
	// Limit is the page size (see PageLimit); Cursor is Page.Next of the
	// previous page.
	Limit  int
	Cursor string
}

// IngestCursor is the position after which a page of ingests sorted newest
// first (ReceivedAt descending, then ID descending) continues.
type IngestCursor struct {
	ReceivedAt time.Time
	ID         string
}

// String encodes the cursor as an opaque URL-safe token. ReceivedAt is kept
// to the microsecond, as the stores keep it.
func (c IngestCursor) String() string {
	s := strconv.FormatInt(c.ReceivedAt.UnixMicro(), 10) + "|" + c.ID
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// ParseIngestCursor decodes a token made by IngestCursor.String, or returns
// an EINVALID error.
func ParseIngestCursor(token string) (IngestCursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return IngestCursor{}, Errorf(EINVALID, "invalid page cursor %q", token)
	}
	us, id, ok := strings.Cut(string(b), "|")
	if !ok || id == "" {
		return IngestCursor{}, Errorf(EINVALID, "invalid page cursor %q", token)
	}
	v, err := strconv.ParseInt(us, 10, 64)
	if err != nil {
		return IngestCursor{}, Errorf(EINVALID, "invalid page cursor %q", token)
	}
	return IngestCursor{ReceivedAt: time.UnixMicro(v).UTC(), ID: id}, nil
}

// CheckIngestFilter checks a filter as IngestStore.Ingests requires and
// returns the page size to use (see PageLimit) and the position the page
// continues after, nil for the first page. Errors are EINVALID.
func CheckIngestFilter(filter IngestFilter) (limit int, after *IngestCursor, err error) {
	limit, err = PageLimit(filter.Limit)
	if err != nil {
		return 0, nil, err
	}
	if filter.Status != "" && !filter.Status.Valid() {
		return 0, nil, Errorf(EINVALID, "unknown ingest status %q", filter.Status)
	}
	if filter.Cursor != "" {
		c, err := ParseIngestCursor(filter.Cursor)
		if err != nil {
			return 0, nil, err
		}
		after = &c
	}
	return limit, after, nil
}

// NewIngestPage makes a page of at most limit ingests from the ingests a
// store read in page order, asking for limit+1 so as to know whether more
// follow. When there are more, Next continues after the last ingest kept.
func NewIngestPage(items []Ingest, limit int) Page[Ingest] {
	page := Page[Ingest]{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		last := items[limit-1]
		page.Next = IngestCursor{ReceivedAt: last.ReceivedAt, ID: last.ID}.String()
	}
	return page
}
