package llm

import (
	"fmt"
	"time"

	"github.com/sextant-dev/sextant"
)

// budget counts the tokens spent over a rolling hour and a rolling day and
// lets a call through only if what it may spend fits in both. A call in
// flight holds a reservation, so that concurrent calls cannot together
// overshoot the budget; when it ends, the reservation is replaced by what
// the provider reported.
type budget struct {
	perHour, perDay int
	spent           []spend // oldest first, none older than a day
	reserved        int
}

type spend struct {
	at     time.Time
	tokens int
}

func (b *budget) limited() bool { return b.perHour > 0 || b.perDay > 0 }

// prune forgets what was spent more than a day ago.
func (b *budget) prune(now time.Time) {
	i := 0
	for i < len(b.spent) && !b.spent[i].at.After(now.Add(-24*time.Hour)) {
		i++
	}
	b.spent = b.spent[i:]
}

// used returns the tokens spent in the window ending at now.
func (b *budget) used(now time.Time, window time.Duration) int {
	n := 0
	for _, s := range b.spent {
		if s.at.After(now.Add(-window)) {
			n += s.tokens
		}
	}
	return n
}

// reserve reserves need tokens, or fails with ERATELIMITED "token budget
// exhausted" if they do not fit, with RetryAfter set to when they will.
func (b *budget) reserve(now time.Time, need int) error {
	b.prune(now)
	for _, w := range []struct {
		limit  int
		window time.Duration
		name   string
	}{{b.perHour, time.Hour, "hour"}, {b.perDay, 24 * time.Hour, "day"}} {
		if w.limit <= 0 {
			continue
		}
		used := b.used(now, w.window) + b.reserved
		if used+need <= w.limit {
			continue
		}
		if need > w.limit {
			return NoRetry(sextant.Errorf(sextant.ERATELIMITED, "token budget exhausted: a call may take %d tokens, more than the %d tokens per %s allowed", need, w.limit, w.name))
		}
		e := sextant.Errorf(sextant.ERATELIMITED, "token budget exhausted: %d of %d tokens per %s used or reserved, and a call may take %d more", used, w.limit, w.name, need)
		// When enough of the window's spending has aged out.
		free := used
		for _, s := range b.spent {
			if !s.at.After(now.Add(-w.window)) {
				continue
			}
			free -= s.tokens
			if free+need <= w.limit {
				e.RetryAfter = s.at.Add(w.window).Sub(now)
				e.Message += fmt.Sprintf("; room again in %v", e.RetryAfter.Round(time.Second))
				break
			}
		}
		return NoRetry(e)
	}
	b.reserved += need
	return nil
}

// settle replaces a reservation by what the call spent.
func (b *budget) settle(now time.Time, reserved, spent int) {
	b.reserved -= reserved
	if spent > 0 {
		b.spent = append(b.spent, spend{at: now, tokens: spent})
	}
}
