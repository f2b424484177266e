package triage

import (
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"github.com/sextant-dev/sextant"
)

// recStore holds the finding records. The first memLimit records' worth of
// chunks stay in memory; beyond that, full chunks go to an unlinked temporary
// file and come back through a small cache, so that memory stays flat
// however large the reports are. Access is by index; get returns a copy and
// put writes one back.
//
// Records are plain values without pointers, so a chunk is written to and
// read from the file as its bytes.
type recStore struct {
	n      int
	chunks []*recChunk // nil where the chunk lives only in the file
	file   *os.File
	// memChunks is how many chunks may stay in memory before full ones
	// are spilled; cache holds spilled chunks read back, most recent first.
	memChunks int
	resident  int
	cache     []*recChunk
	err       error
	// peekErr records a read error of peek, which may run on several
	// goroutines at once.
	peekErr atomic.Pointer[error]
}

const (
	recChunkLen  = 4096
	recSize      = int(unsafe.Sizeof(rec{}))
	recChunkSize = recChunkLen * recSize
	// defaultMemRecs is how many records stay in memory before spilling:
	// 64k records, under 5 MB.
	defaultMemRecs = 64 << 10
	recCacheChunks = 4
)

type recChunk struct {
	idx   int
	recs  [recChunkLen]rec
	dirty bool
}

func newRecStore(memRecs int) *recStore {
	if memRecs <= 0 {
		memRecs = defaultMemRecs
	}
	return &recStore{memChunks: max(1, memRecs/recChunkLen)}
}

func (s *recStore) len() int { return s.n }

// append adds a record and returns its index.
func (s *recStore) append(r rec) uint32 {
	c := s.n / recChunkLen
	if c == len(s.chunks) {
		s.chunks = append(s.chunks, &recChunk{idx: c})
		s.resident++
		if s.resident > s.memChunks {
			s.spill(c - 1)
		}
	}
	ch := s.chunks[c]
	if ch == nil {
		ch = s.load(c)
	}
	ch.recs[s.n%recChunkLen] = r
	ch.dirty = true
	s.n++
	return uint32(s.n - 1)
}

// chunk returns chunk c, in memory.
func (s *recStore) chunk(c int) *recChunk {
	if ch := s.chunks[c]; ch != nil {
		return ch
	}
	return s.load(c)
}

func (s *recStore) get(i uint32) rec {
	return s.chunk(int(i) / recChunkLen).recs[int(i)%recChunkLen]
}

// peek returns record i for random access: from memory when its chunk is
// there, else by reading just the record, leaving the cache as it is.
func (s *recStore) peek(i uint32) rec {
	c := int(i) / recChunkLen
	if ch := s.chunks[c]; ch != nil {
		return ch.recs[int(i)%recChunkLen]
	}
	for _, ch := range s.cache {
		if ch.idx == c {
			return ch.recs[int(i)%recChunkLen]
		}
	}
	var r rec
	if s.file != nil {
		b := unsafe.Slice((*byte)(unsafe.Pointer(&r)), recSize)
		if _, err := s.file.ReadAt(b, int64(i)*int64(recSize)); err != nil {
			s.peekErr.CompareAndSwap(nil, &err)
		}
	}
	return r
}

func (s *recStore) put(i uint32, r rec) {
	ch := s.chunk(int(i) / recChunkLen)
	ch.recs[int(i)%recChunkLen] = r
	ch.dirty = true
}

// scan calls fn for every record in order; with write set, what fn
// changes is kept.
func (s *recStore) scan(write bool, fn func(i uint32, r *rec)) {
	for c := range s.chunks {
		ch := s.chunk(c)
		for j := 0; j < recChunkLen && c*recChunkLen+j < s.n; j++ {
			fn(uint32(c*recChunkLen+j), &ch.recs[j])
		}
		if write {
			ch.dirty = true
		}
	}
}

// spill writes chunk c to the file and drops it from memory.
func (s *recStore) spill(c int) {
	ch := s.chunks[c]
	if ch == nil {
		return
	}
	s.write(ch)
	s.chunks[c] = nil
	s.resident--
}

func (s *recStore) write(ch *recChunk) {
	if s.err != nil || !ch.dirty {
		return
	}
	if s.file == nil {
		f, err := os.CreateTemp("", "sextant-findings-*")
		if err != nil {
			s.err = err
			return
		}
		// Unlinked at once: the space is freed when the process ends,
		// however it ends.
		os.Remove(f.Name())
		s.file = f
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(&ch.recs[0])), recChunkSize)
	if _, err := s.file.WriteAt(b, int64(ch.idx)*int64(recChunkSize)); err != nil {
		s.err = err
		return
	}
	ch.dirty = false
}

// load reads spilled chunk c into the cache, evicting the least recently
// used cached chunk.
func (s *recStore) load(c int) *recChunk {
	for k, ch := range s.cache {
		if ch.idx == c {
			copy(s.cache[1:k+1], s.cache[:k])
			s.cache[0] = ch
			return ch
		}
	}
	var ch *recChunk
	if len(s.cache) < recCacheChunks {
		ch = &recChunk{}
		s.cache = append(s.cache, nil)
	} else {
		ch = s.cache[len(s.cache)-1]
		s.write(ch)
	}
	copy(s.cache[1:], s.cache[:len(s.cache)-1])
	s.cache[0] = ch
	ch.idx, ch.dirty = c, false
	if s.err == nil && s.file != nil {
		b := unsafe.Slice((*byte)(unsafe.Pointer(&ch.recs[0])), recChunkSize)
		if _, err := s.file.ReadAt(b, int64(c)*int64(recChunkSize)); err != nil {
			s.err = err
		}
	}
	return ch
}

// failure returns the first I/O error of the spill file, as an application
// error.
func (s *recStore) failure() error {
	err := s.err
	if p := s.peekErr.Load(); err == nil && p != nil {
		err = *p
	}
	if err == nil {
		return nil
	}
	return sextant.Errorf(sextant.EUNAVAILABLE, "findings spill file: %v (set TMPDIR to a directory with free space)", err)
}

func (s *recStore) close() error {
	if s.file == nil {
		return nil
	}
	err := s.file.Close()
	s.file = nil
	if err != nil {
		return fmt.Errorf("close findings spill file: %v", err)
	}
	return nil
}
