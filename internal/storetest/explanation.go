package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/explain"
	"github.com/sextant-dev/sextant/internal/redact"
	"github.com/sextant-dev/sextant/internal/sqlstore"
)

// ExplanationStore is the explanation cache of a store: what
// explain.StoreCache uses, and the counts behind it.
type ExplanationStore interface {
	explain.ExplanationStore
	// ExplanationStats returns the number of cached explanations and the
	// hits counted on them.
	ExplanationStats(ctx context.Context) (entries, hits int64, err error)
}

// RunExplanations runs the conformance suite of the explanation cache.
// open returns a new, empty store for one test; it closes the store in a
// t.Cleanup.
func RunExplanations(t *testing.T, open func(t *testing.T) ExplanationStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s ExplanationStore)
	}{
		{"Miss", testExplanationMiss},
		{"StoreAndHit", testExplanationHit},
		{"Replace", testExplanationReplace},
		{"Invalid", testExplanationInvalid},
		{"Text", testExplanationText},
		{"StoreCache", testExplanationStoreCache},
		{"Concurrent", testExplanationConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
}

// cacheKey is a key as explain.CacheKey makes them.
func cacheKey(n int) string {
	return explain.CacheKey("openai", "gpt-4.1-mini", "action-summary", 1, "219ea70e", fmt.Sprintf("input-%d", n))
}

func putExplanation(t *testing.T, s ExplanationStore, key, data string) {
	t.Helper()
	if err := s.CacheExplanation(context.Background(), key, []byte(data)); err != nil {
		t.Fatalf("CacheExplanation(%s) error: %v", key, err)
	}
}

// cachedExplanation looks key up, failing the test on an error.
func cachedExplanation(t *testing.T, s ExplanationStore, key string) (string, bool) {
	t.Helper()
	b, ok, err := s.CachedExplanation(context.Background(), key)
	if err != nil {
		t.Fatalf("CachedExplanation(%s) error: %v", key, err)
	}
	return string(b), ok
}

func wantExplanationStats(t *testing.T, s ExplanationStore, entries, hits int64) {
	t.Helper()
	e, h, err := s.ExplanationStats(context.Background())
	if err != nil {
		t.Fatalf("ExplanationStats error: %v", err)
	}
	if e != entries || h != hits {
		t.Errorf("ExplanationStats = %d entries, %d hits; want %d, %d", e, h, entries, hits)
	}
}

func testExplanationMiss(t *testing.T, s ExplanationStore) {
	if b, ok := cachedExplanation(t, s, cacheKey(1)); ok || b != "" {
		t.Errorf("CachedExplanation of an empty cache = %q, %v; want nothing, false", b, ok)
	}
	wantExplanationStats(t, s, 0, 0)
}

func testExplanationHit(t *testing.T, s ExplanationStore) {
	const data = `{"text":"Upgrade [HOST_1]'s openssl.","provider":"openai","grounded":true,"input_tokens":1830}`
	putExplanation(t, s, cacheKey(1), data)
	wantExplanationStats(t, s, 1, 0)
	for i := 1; i <= 3; i++ {
		got, ok := cachedExplanation(t, s, cacheKey(1))
		if !ok || !sqlstore.SameJSON([]byte(got), []byte(data)) {
			t.Fatalf("CachedExplanation after CacheExplanation = %q, %v; want %s", got, ok, data)
		}
		wantExplanationStats(t, s, 1, int64(i))
	}
	if _, ok := cachedExplanation(t, s, cacheKey(2)); ok {
		t.Errorf("CachedExplanation of another key found an entry")
	}
	wantExplanationStats(t, s, 1, 3)
}

func testExplanationReplace(t *testing.T, s ExplanationStore) {
	putExplanation(t, s, cacheKey(1), `{"text":"first"}`)
	cachedExplanation(t, s, cacheKey(1))
	putExplanation(t, s, cacheKey(1), `{"text":"second"}`)
	got, ok := cachedExplanation(t, s, cacheKey(1))
	if !ok || !sqlstore.SameJSON([]byte(got), []byte(`{"text":"second"}`)) {
		t.Errorf("CachedExplanation after a second CacheExplanation = %q, %v; want the second", got, ok)
	}
	// One entry; the hits of the key are kept.
	wantExplanationStats(t, s, 1, 2)
}

func testExplanationInvalid(t *testing.T, s ExplanationStore) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, key, data string
	}{
		{"empty key", "", `{"text":"x"}`},
		{"blank key", "  ", `{"text":"x"}`},
		{"not JSON", cacheKey(1), `{"text":`},
		{"a JSON array", cacheKey(1), `[1,2]`},
		{"JSON null", cacheKey(1), `null`},
		{"nothing", cacheKey(1), ``},
	} {
		err := s.CacheExplanation(ctx, tc.key, []byte(tc.data))
		wantCode(t, "CacheExplanation with "+tc.name, err, sextant.EINVALID)
	}
	_, _, err := s.CachedExplanation(ctx, "")
	wantCode(t, `CachedExplanation("")`, err, sextant.EINVALID)
	wantExplanationStats(t, s, 0, 0)
}

// testExplanationText stores text that a careless encoding would mangle:
// markup, escapes, non-ASCII, a long answer.
func testExplanationText(t *testing.T, s ExplanationStore) {
	text := "Run `apk add --upgrade \"openssl>3.1\"` & rescan <now>; ünïcødé ✓ \\n \u2028 " + strings.Repeat("long answer ", 5000)
	b, err := json.Marshal(map[string]any{"text": text, "cited_facts": []string{"commands[0]"}, "redaction": map[string]int{"HOST": 2}})
	if err != nil {
		t.Fatal(err)
	}
	putExplanation(t, s, cacheKey(1), string(b))
	got, ok := cachedExplanation(t, s, cacheKey(1))
	if !ok {
		t.Fatal("CachedExplanation found nothing")
	}
	var doc struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal([]byte(got), &doc); err != nil || doc.Text != text {
		t.Errorf("text read back differs from the text stored (%d bytes, want %d; %v)", len(doc.Text), len(text), err)
	}
}

// testExplanationStoreCache goes through explain.StoreCache: an
// explanation read back is the explanation stored.
func testExplanationStoreCache(t *testing.T, s ExplanationStore) {
	ctx := context.Background()
	c := explain.NewStoreCache(s)
	x := explain.Explanation{
		Text: "[REGISTRY_1]/billing/api:2.3 has 2 known vulnerabilities.", Risk: "[REGISTRY_1]/billing/api:2.3 has 2 known vulnerabilities",
		WhyPriority: "P0 with a score of 99.8", WhatToDo: "Upgrade.", HowToVerify: "Rescan.",
		CitedFacts: []string{"priority", "score"}, Provider: "openai", Model: "gpt-4.1-mini-2025-04-14",
		PromptID: "action-summary", PromptVersion: 1, PromptHash: "219ea70e", InputHash: "93ba4442",
		Redaction: redact.Report{redact.Registry: 3, redact.Host: 1}, Grounded: true,
		Rejected: []string{"ungrounded_version: 2.17.2"}, InputTokens: 1830, OutputTokens: 210,
	}
	if _, ok, err := c.Get(ctx, cacheKey(7)); ok || err != nil {
		t.Fatalf("StoreCache.Get of an empty cache = %v, %v", ok, err)
	}
	if err := c.Put(ctx, cacheKey(7), x); err != nil {
		t.Fatalf("StoreCache.Put error: %v", err)
	}
	got, ok, err := c.Get(ctx, cacheKey(7))
	if err != nil || !ok {
		t.Fatalf("StoreCache.Get after Put = %v, %v", ok, err)
	}
	if diff := cmp.Diff(x, got); diff != "" {
		t.Errorf("explanation read back (-stored +read):\n%s", diff)
	}
	if st := c.Stats(); st != (explain.CacheStats{Hits: 1, Misses: 1, Puts: 1}) {
		t.Errorf("StoreCache.Stats = %+v, want 1 hit, 1 miss, 1 put", st)
	}
}

// testExplanationConcurrent looks up and stores from several goroutines at
// once, as the explainer's workers and several replicas do.
func testExplanationConcurrent(t *testing.T, s ExplanationStore) {
	const workers, keys = 6, 10
	ctx := context.Background()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		hits int64
	)
	errs := make(chan error, workers*keys*2)
	for w := range workers {
		wg.Go(func() {
			for k := range keys {
				key := cacheKey(k)
				_, ok, err := s.CachedExplanation(ctx, key)
				if err != nil {
					errs <- fmt.Errorf("CachedExplanation(%d): %w", k, err)
					continue
				}
				if ok {
					mu.Lock()
					hits++
					mu.Unlock()
					continue
				}
				if err := s.CacheExplanation(ctx, key, fmt.Appendf(nil, `{"text":"by worker %d"}`, w)); err != nil {
					errs <- fmt.Errorf("CacheExplanation(%d): %w", k, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	wantExplanationStats(t, s, keys, hits)
	for k := range keys {
		if got, ok := cachedExplanation(t, s, cacheKey(k)); !ok || !strings.HasPrefix(got, `{"text": "by worker`) && !strings.HasPrefix(got, `{"text":"by worker`) {
			t.Errorf("entry %d after concurrent stores = %q, %v; want one worker's", k, got, ok)
		}
	}
}
