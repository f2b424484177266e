package sqlstore

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/sextant-dev/sextant"
)

// Payload is a raw ingest payload as the stores keep it.
type Payload struct {
	// Data is the payload gzip-compressed.
	Data []byte
	// Size and SHA256 (hex) are those of the payload uncompressed.
	Size   int64
	SHA256 string
}

// Compress reads r to its end and returns it compressed, with its size and
// hash. An empty payload is EINVALID.
func Compress(r io.Reader) (Payload, error) {
	var buf bytes.Buffer
	h := sha256.New()
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(&buf)
	n, err := io.Copy(io.MultiWriter(zw, h), r)
	if err != nil {
		return Payload{}, fmt.Errorf("read ingest payload: %w", err)
	}
	if err := zw.Close(); err != nil {
		return Payload{}, fmt.Errorf("compress ingest payload: %v", err)
	}
	if n == 0 {
		return Payload{}, sextant.Errorf(sextant.EINVALID, "an ingest needs a payload; it is empty")
	}
	return Payload{Data: buf.Bytes(), Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// gzipWriters reuses compressors: each holds about a megabyte of state,
// which intake at hundreds of payloads a second would otherwise allocate and
// clear for every one. BestSpeed: payloads are kept for replay, not
// archived; JSON still shrinks about tenfold.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return zw
}}

// Decompress returns a reader of the payload compressed in data.
func Decompress(data []byte) (io.ReadCloser, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decompress ingest payload: %v", err)
	}
	return zr, nil
}

// PurgedError is the ENOTFOUND error of reading the payload of ingest id,
// purged at purgedAt.
func PurgedError(id string, purgedAt time.Time) error {
	return sextant.Errorf(sextant.ENOTFOUND, "the payload of ingest %q was purged at %s (retention)", id, purgedAt.UTC().Format(time.RFC3339))
}

// StaleText is the Error of the ingests IngestStore.RequeueStale puts back in
// the queue: claimed before startedBefore and never finished.
func StaleText(startedBefore time.Time) string {
	return fmt.Sprintf("requeued: claimed before %s and not finished (the worker's lease expired)", startedBefore.UTC().Format(time.RFC3339))
}
