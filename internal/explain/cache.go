package explain

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"sync/atomic"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/redact"
)

// Cache keeps a model's answers, so that an action is not explained
// twice by the same model with the same prompt from the same input: an
// unchanged rescan costs no call.
//
// The key (CacheKey) covers everything that decides the answer: provider,
// configured model, prompt ID, version and hash, and the hash of the
// redacted input. What is cached is the explanation with the answer as
// the model wrote it, placeholders ("[HOST_1]") and all, never the values
// behind them: a hit is put back with the values of the action at hand,
// so two actions whose input differs only in redacted values share an
// entry and each reads its own values. A hit is checked against the
// facts again before it is used, as a fresh answer would be, since anyone
// who can write the store can write the cache.
//
// A grounded answer stands for the next call. An answer rejected twice
// (the first answer and its repair) stands for the next two: the next run
// gets the templates, as this one did, without asking again; since it is
// checked again on every hit, it is used once it passes (after a
// grounding check is fixed). A call that failed (the provider unreachable,
// rate-limited or refusing, the token budget spent) is not cached: the
// next run asks again. Offline explanations are not cached either;
// writing them costs less than looking them up.
//
// A Cache that fails is a cache that misses: the Explainer treats Get
// errors as misses and ignores Put errors (StoreCache counts them).
type Cache interface {
	// Get returns the explanation stored under key, and false when there
	// is none.
	Get(ctx context.Context, key string) (Explanation, bool, error)
	// Put stores e under key, replacing what was there.
	Put(ctx context.Context, key string, e Explanation) error
}

// CacheKey returns the key of an explanation in a Cache: the hex SHA-256
// of the provider, the configured model, the prompt's ID, version and
// hash, and the hash of the redacted input (Explanation.InputHash).
func CacheKey(provider, model, promptID string, promptVersion int, promptHash, inputHash string) string {
	h := sha256.New()
	for _, s := range []string{"sextant.explanation-cache/v1", provider, model, promptID, strconv.Itoa(promptVersion), promptHash, inputHash} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// fromCache returns the explanation of action facts f from the entry
// under key, if there is one that can stand for a call: x is the
// explanation being written (with its input hash and redaction report), g
// the redacted facts sent, r the redactor that put the placeholders in.
//
// The entry's answer is checked against the facts as a fresh answer would
// be. One that passes is used, its placeholders put back. One that fails
// and was stored as rejected is the model's answer to this very input,
// rejected twice: the templates write the explanation, as they did then,
// without a call. One that fails but was stored as grounded was not
// written by the Explainer; it is a miss.
func (e *Explainer) fromCache(ctx context.Context, key string, f *Facts, g *groundSet, x Explanation, r *redact.Redactor) (Explanation, bool) {
	c, ok, err := e.Cache.Get(ctx, key)
	if err != nil || !ok {
		return Explanation{}, false
	}
	ans := Answer{Risk: c.Risk, WhyPriority: c.WhyPriority, WhatToDo: c.WhatToDo, HowToVerify: c.HowToVerify, CitedFacts: c.CitedFacts}
	x.Rejected, x.InputTokens, x.OutputTokens, x.Cached = c.Rejected, c.InputTokens, c.OutputTokens, true
	switch {
	case len(groundWith(ans, g)) == 0:
		x.Provider, x.Model, x.Grounded = c.Provider, c.Model, true
		x.Risk, x.WhyPriority = r.Rehydrate(ans.Risk), r.Rehydrate(ans.WhyPriority)
		x.WhatToDo, x.HowToVerify = r.Rehydrate(ans.WhatToDo), r.Rehydrate(ans.HowToVerify)
		x.CitedFacts = ans.CitedFacts
		x.Text = paragraph(x.Risk, x.WhyPriority, x.WhatToDo, x.HowToVerify)
		return x, true
	case !c.Grounded && len(c.Rejected) > 0:
		x.FallbackFrom = c.FallbackFrom
		return offline(f, x), true
	}
	return Explanation{}, false
}

// store caches x, the explanation by the model whose latest answer was
// ans, with the answer as the model wrote it (redacted): grounded, or
// rejected (x.Grounded false, x.Rejected saying why).
func (e *Explainer) store(ctx context.Context, key string, x Explanation, ans Answer) {
	x.Risk, x.WhyPriority, x.WhatToDo, x.HowToVerify = ans.Risk, ans.WhyPriority, ans.WhatToDo, ans.HowToVerify
	x.CitedFacts = ans.CitedFacts
	x.Text = paragraph(ans.Risk, ans.WhyPriority, ans.WhatToDo, ans.HowToVerify)
	x.Cached = false
	// A cache that cannot store only costs the next run a call.
	_ = e.Cache.Put(ctx, key, x)
}

// ExplanationStore keeps explanations as JSON by key: the explanations
// table of internal/sqlite and internal/postgres.
type ExplanationStore interface {
	// CachedExplanation returns the JSON stored under key and counts a
	// hit, or false when there is none.
	CachedExplanation(ctx context.Context, key string) ([]byte, bool, error)
	// CacheExplanation stores data, a JSON object, under key, replacing
	// what was there.
	CacheExplanation(ctx context.Context, key string, data []byte) error
}

// StoreCache is a Cache in an ExplanationStore, the table that `sextant
// serve` keeps in its database and `triage --explain` in a file of its
// own. It is safe for concurrent use.
type StoreCache struct {
	Store ExplanationStore
	// OnError, if set, is told of every failed lookup or store (which the
	// Explainer treats as a miss, or ignores).
	OnError func(op string, err error)

	hits, misses, puts, errors atomic.Int64
}

var _ Cache = (*StoreCache)(nil)

// NewStoreCache returns a cache in s.
func NewStoreCache(s ExplanationStore) *StoreCache { return &StoreCache{Store: s} }

// Get implements Cache.
func (c *StoreCache) Get(ctx context.Context, key string) (Explanation, bool, error) {
	data, ok, err := c.Store.CachedExplanation(ctx, key)
	if err != nil {
		return Explanation{}, false, c.fail("get", err)
	}
	if !ok {
		c.misses.Add(1)
		return Explanation{}, false, nil
	}
	var x Explanation
	if err := json.Unmarshal(data, &x); err != nil {
		return Explanation{}, false, c.fail("get", sextant.Errorf(sextant.EINTERNAL, "explanation cache: entry %s: %v", key, err))
	}
	c.hits.Add(1)
	return x, true, nil
}

// Put implements Cache.
func (c *StoreCache) Put(ctx context.Context, key string, e Explanation) error {
	data, err := json.Marshal(e)
	if err != nil {
		return c.fail("put", err)
	}
	if err := c.Store.CacheExplanation(ctx, key, data); err != nil {
		return c.fail("put", err)
	}
	c.puts.Add(1)
	return nil
}

func (c *StoreCache) fail(op string, err error) error {
	c.errors.Add(1)
	if c.OnError != nil {
		c.OnError(op, err)
	}
	return err
}

// CacheStats count what a StoreCache did.
type CacheStats struct {
	// Hits and Misses count lookups that found an entry or none; Puts
	// the entries stored; Errors the lookups and stores that failed.
	Hits, Misses, Puts, Errors int64
}

// Stats returns the counts so far.
func (c *StoreCache) Stats() CacheStats {
	return CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Puts: c.puts.Load(), Errors: c.errors.Load()}
}
