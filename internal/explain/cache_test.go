package explain_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/explain"
	"github.com/sextant-dev/sextant/internal/explain/explaintest"
	"github.com/sextant-dev/sextant/internal/llm/llmtest"
	"github.com/sextant-dev/sextant/internal/sqlite"
)

// memCache is a Cache in a map that counts its use and can fail.
type memCache struct {
	mu      sync.Mutex
	m       map[string]explain.Explanation
	gets    int
	puts    int
	failGet error
	failPut error
}

func (c *memCache) Get(_ context.Context, key string) (explain.Explanation, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gets++
	if c.failGet != nil {
		return explain.Explanation{}, false, c.failGet
	}
	x, ok := c.m[key]
	return x, ok, nil
}

func (c *memCache) Put(_ context.Context, key string, x explain.Explanation) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.puts++
	if c.failPut != nil {
		return c.failPut
	}
	if c.m == nil {
		c.m = map[string]explain.Explanation{}
	}
	c.m[key] = x
	return nil
}

// groundedModel answers as a well-behaved model would, from the facts it
// was sent.
func groundedModel() *explaintest.Model {
	return &explaintest.Model{Respond: func(req explain.Request) (string, error) { return llmtest.GroundedAnswer(req.User) }}
}

func cachedExplainer(t *testing.T, m explain.Model, c explain.Cache) *explain.Explainer {
	return &explain.Explainer{Model: m, Provider: "fake", ModelName: "fake-1", Prompts: registry(t), Cache: c,
		InternalDomains: []string{llmtest.InternalDomain}}
}

func TestCacheUnchangedActionCostsNoCall(t *testing.T) {
	ctx := context.Background()
	a, fs := llmtest.Log4j()
	m, c := groundedModel(), &memCache{}
	e := cachedExplainer(t, m, c)
	first, err := e.Explain(ctx, a, fs)
	if err != nil {
		t.Fatal(err)
	}
	if first.Provider != "fake" || !first.Grounded || first.Cached || c.puts != 1 {
		t.Fatalf("first Explain = provider %q grounded %v cached %v, %d puts; want fake, grounded, not cached, 1 put", first.Provider, first.Grounded, first.Cached, c.puts)
	}
	second, err := e.Explain(ctx, a, fs)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(m.Requests()); n != 1 {
		t.Errorf("%d model calls for the same action twice, want 1", n)
	}
	if !second.Cached {
		t.Errorf("second Explain not marked cached")
	}
	// The same explanation, placeholders put back, tokens as first spent.
	second.Cached = false
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("explanation from the cache differs (-first +cached):\n%s", diff)
	}
	// The Trace of the request names the action, the prompt and the input,
	// and carries none of their text.
	tr := m.Requests()[0].Trace
	if tr.ActionID != a.ID || tr.PromptID != "action-summary" || tr.PromptHash != first.PromptHash || tr.InputHash != first.InputHash || tr.Repair ||
		tr.Redaction.Total() == 0 {
		t.Errorf("request Trace = %+v, want the action, prompt, input hash and redaction counts of %+v", tr, first)
	}
}

// TestCacheRehydratesPerAction holds a cache hit to the values of the
// action at hand: two actions whose facts differ only in redacted values
// share an entry, and each reads its own values.
func TestCacheRehydratesPerAction(t *testing.T) {
	ctx := context.Background()
	a1, fs := llmtest.Log4j()
	a1.Title += " on db1.corp.internal"
	a2 := a1
	a2.Title = strings.Replace(a1.Title, "db1.corp.internal", "db2.corp.internal", 1)
	m, c := groundedModel(), &memCache{}
	m.Respond = func(req explain.Request) (string, error) {
		// An answer that names the host, by its placeholder.
		return explaintest.Answer("The title names [HOST_1]: org.apache.logging.log4j:log4j-core 2.14.1 is exploitable.",
			"P0 because of kev true.", "Upgrade org.apache.logging.log4j:log4j-core to 2.17.1.", "Rescan and run sextant triage rescan.json.", "priority"), nil
	}
	e := cachedExplainer(t, m, c)
	x1, err := e.Explain(ctx, a1, fs)
	if err != nil {
		t.Fatal(err)
	}
	x2, err := e.Explain(ctx, a2, fs)
	if err != nil {
		t.Fatal(err)
	}
	if x1.InputHash != x2.InputHash || len(m.Requests()) != 1 || !x2.Cached {
		t.Fatalf("input hashes %s, %s; %d calls; second cached %v: want one entry for both", x1.InputHash, x2.InputHash, len(m.Requests()), x2.Cached)
	}
	if !strings.Contains(x1.Risk, "db1.corp.internal") || !strings.Contains(x2.Risk, "db2.corp.internal") || strings.Contains(x2.Text, "db1") {
		t.Errorf("risks = %q and %q; want each action's own host", x1.Risk, x2.Risk)
	}
	for _, stored := range c.m {
		if strings.Contains(stored.Text, ".corp.internal") || !strings.Contains(stored.Risk, "[HOST_1]") {
			t.Errorf("cached explanation holds %q, want the placeholder and not the host", stored.Risk)
		}
	}
}

// TestCacheStoresRedacted reads what the SQLite store holds: the planted
// secrets of the advisory text are nowhere in it.
func TestCacheStoresRedacted(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "cache.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, fs := llmtest.Log4j()
	m := &explaintest.Model{Respond: func(req explain.Request) (string, error) {
		ans, err := llmtest.GroundedAnswer(req.User)
		// The model repeats a placeholder of the facts in its answer.
		return strings.Replace(ans, `"risk":"`, `"risk":"Seen on [REGISTRY_1]? `, 1), err
	}}
	e := cachedExplainer(t, m, explain.NewStoreCache(db))
	e.RegistryHosts = []string{"registry.example.com"}
	x, err := e.Explain(ctx, a, fs)
	if err != nil || x.Provider != "fake" {
		t.Fatalf("Explain = %+v, %v", x, err)
	}
	if !strings.Contains(x.Risk, "Seen on registry.example.com?") {
		t.Errorf("Risk = %q, want the registry put back", x.Risk)
	}
	raw, ok, err := db.CachedExplanation(ctx, explain.CacheKey("fake", "fake-1", x.PromptID, x.PromptVersion, x.PromptHash, x.InputHash))
	if err != nil || !ok {
		t.Fatalf("no cache entry under the documented key: %v, %v", ok, err)
	}
	for _, secret := range append(llmtest.Secrets(), "registry.example.com") {
		if strings.Contains(string(raw), secret) {
			t.Errorf("the cached explanation holds %q:\n%s", secret, raw)
		}
	}
	if !strings.Contains(string(raw), "[REGISTRY_1]") {
		t.Errorf("the cached explanation lacks the placeholder:\n%s", raw)
	}
}

// TestCacheModelAnswersOnly caches what the model answered, grounded or
// rejected, and never a failed call or the templates.
func TestCacheModelAnswersOnly(t *testing.T) {
	ctx := context.Background()
	a, fs := llmtest.Log4j()
	t.Run("rejected answers", func(t *testing.T) {
		m, c := &explaintest.Model{Answers: []string{`{"risk": "benign, ignore it"}`}}, &memCache{}
		e := cachedExplainer(t, m, c)
		x, err := e.Explain(ctx, a, fs)
		if err != nil {
			t.Fatal(err)
		}
		y, err := e.Explain(ctx, a, fs)
		if err != nil {
			t.Fatal(err)
		}
		// Answered and rejected twice: the next run does not ask again,
		// and says why the templates wrote it.
		if n := len(m.Requests()); n != 2 || c.puts != 1 {
			t.Errorf("%d calls, %d puts; want the first answer and its repair, cached", n, c.puts)
		}
		if x.Provider != explain.OfflineProvider || x.Cached || y.Provider != explain.OfflineProvider || !y.Cached {
			t.Errorf("explanations by %q (cached %v) and %q (cached %v); want the templates, then the templates from the cache", x.Provider, x.Cached, y.Provider, y.Cached)
		}
		y.Cached = false
		if diff := cmp.Diff(x, y); diff != "" {
			t.Errorf("the fallback from the cache differs (-first +cached):\n%s", diff)
		}
	})
	t.Run("a failing provider", func(t *testing.T) {
		m, c := &explaintest.Model{Err: sextant.Errorf(sextant.EUNAVAILABLE, "fake: HTTP 503")}, &memCache{}
		e := cachedExplainer(t, m, c)
		for range 2 {
			x, err := e.Explain(ctx, a, fs)
			if err != nil {
				t.Fatal(err)
			}
			if x.Provider != explain.OfflineProvider || x.Cached {
				t.Errorf("Explain = provider %q cached %v, want the templates", x.Provider, x.Cached)
			}
		}
		if c.puts != 0 || c.gets != 2 || len(m.Requests()) != 2 {
			t.Errorf("cache: %d gets, %d puts, %d calls; want each run to ask, and nothing stored", c.gets, c.puts, len(m.Requests()))
		}
	})
	t.Run("offline", func(t *testing.T) {
		c := &memCache{}
		if _, err := cachedExplainer(t, nil, c).Explain(ctx, a, fs); err != nil {
			t.Fatal(err)
		}
		if c.gets+c.puts != 0 {
			t.Errorf("offline Explain used the cache: %d gets, %d puts", c.gets, c.puts)
		}
	})
	t.Run("a rejected answer that passes now", func(t *testing.T) {
		// As after a grounding check is relaxed: the cached answer is
		// used once it passes.
		m, c := groundedModel(), &memCache{}
		e := cachedExplainer(t, m, c)
		x, err := e.Explain(ctx, a, fs)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range c.m {
			v.Grounded, v.Rejected = false, []string{"ungrounded_command: grype (vendor rating"}
			c.m[k] = v
		}
		y, err := e.Explain(ctx, a, fs)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Requests()) != 1 || !y.Cached || !y.Grounded || y.Provider != "fake" || y.Text != x.Text {
			t.Errorf("%d calls; second = cached %v grounded %v by %q; want the cached answer, used", len(m.Requests()), y.Cached, y.Grounded, y.Provider)
		}
	})
}

// TestCacheRepairedAnswer caches the repaired answer, with what the first
// cost and why it was rejected.
func TestCacheRepairedAnswer(t *testing.T) {
	ctx := context.Background()
	a, fs := llmtest.Log4j()
	m := &explaintest.Model{Respond: func(req explain.Request) (string, error) {
		if !req.Trace.Repair {
			return `not json`, nil
		}
		return llmtest.GroundedAnswer(req.User)
	}}
	c := &memCache{}
	e := cachedExplainer(t, m, c)
	x, err := e.Explain(ctx, a, fs)
	if err != nil {
		t.Fatal(err)
	}
	y, err := e.Explain(ctx, a, fs)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Requests()) != 2 || !y.Cached || y.Provider != "fake" || len(y.Rejected) != 1 || y.InputTokens != x.InputTokens {
		t.Errorf("%d calls; second = cached %v provider %q rejected %q tokens %d; want 2 calls, then the cached repair", len(m.Requests()), y.Cached, y.Provider, y.Rejected, y.InputTokens)
	}
}

// TestCacheTamperedEntry treats an entry that fails the grounding checks
// as a miss: whoever can write the store cannot put words in a ticket.
func TestCacheTamperedEntry(t *testing.T) {
	ctx := context.Background()
	a, fs := llmtest.Log4j()
	m, c := groundedModel(), &memCache{}
	e := cachedExplainer(t, m, c)
	x, err := e.Explain(ctx, a, fs)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range c.m {
		v.WhatToDo = "This is a false positive: run " + llmtest.InjectedCommand + "."
		c.m[k] = v
	}
	y, err := e.Explain(ctx, a, fs)
	if err != nil {
		t.Fatal(err)
	}
	if y.Cached || len(m.Requests()) != 2 || y.WhatToDo != x.WhatToDo {
		t.Errorf("after tampering: cached %v, %d calls, what to do %q; want a fresh call and the model's answer", y.Cached, len(m.Requests()), y.WhatToDo)
	}
	for _, v := range c.m {
		if strings.Contains(v.WhatToDo, "false positive") {
			t.Errorf("the tampered entry was not replaced")
		}
	}
}

// TestCacheFailing explains as if there were no cache when the cache
// fails.
func TestCacheFailing(t *testing.T) {
	ctx := context.Background()
	a, fs := llmtest.Log4j()
	m := groundedModel()
	c := &memCache{failGet: errors.New("disk I/O error"), failPut: errors.New("disk I/O error")}
	x, err := cachedExplainer(t, m, c).Explain(ctx, a, fs)
	if err != nil || x.Provider != "fake" || !x.Grounded {
		t.Errorf("Explain with a failing cache = provider %q grounded %v, %v; want the model's answer", x.Provider, x.Grounded, err)
	}
	var sc *explain.StoreCache
	var errs []string
	sc = &explain.StoreCache{Store: failingStore{}, OnError: func(op string, err error) { errs = append(errs, op) }}
	if _, err := cachedExplainer(t, m, sc).Explain(ctx, a, fs); err != nil {
		t.Fatal(err)
	}
	if st := sc.Stats(); st.Errors != 2 || !cmp.Equal(errs, []string{"get", "put"}) {
		t.Errorf("StoreCache stats %+v, errors reported %v; want a failed get and put", st, errs)
	}
}

type failingStore struct{}

func (failingStore) CachedExplanation(context.Context, string) ([]byte, bool, error) {
	return nil, false, sextant.Errorf(sextant.EUNAVAILABLE, "database is locked")
}

func (failingStore) CacheExplanation(context.Context, string, []byte) error {
	return sextant.Errorf(sextant.EUNAVAILABLE, "database is locked")
}

// TestCacheKey checks that every part of the key changes it.
func TestCacheKey(t *testing.T) {
	base := []any{"openai", "gpt-4.1-mini", "action-summary", 1, "219ea70e", "93ba4442"}
	key := func(p []any) string {
		return explain.CacheKey(p[0].(string), p[1].(string), p[2].(string), p[3].(int), p[4].(string), p[5].(string))
	}
	k0 := key(base)
	if len(k0) != 64 || strings.Trim(k0, "0123456789abcdef") != "" {
		t.Fatalf("CacheKey = %q, want hex SHA-256", k0)
	}
	seen := map[string]int{k0: -1}
	for i := range base {
		p := append([]any(nil), base...)
		switch v := p[i].(type) {
		case string:
			p[i] = v + "x"
		case int:
			p[i] = v + 1
		}
		k := key(p)
		if j, dup := seen[k]; dup {
			t.Errorf("changing part %d gives the key of part %d", i, j)
		}
		seen[k] = i
	}
	// Parts do not run into each other.
	if explain.CacheKey("open", "ai", "p", 1, "h", "i") == explain.CacheKey("opena", "i", "p", 1, "h", "i") {
		t.Errorf("CacheKey joins its parts ambiguously")
	}
}
