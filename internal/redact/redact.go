// Package redact replaces secrets and internal infrastructure names in text
// with stable placeholders before the text leaves sextant (for a language
// model), and puts the originals back for display inside the organisation.
//
// A Redactor is one session: the same value always gets the same
// placeholder ("[IP_1]", "[HOST_2]") for as long as the Redactor lives, so
// that facts which mention one host twice still mention one host. The
// originals are kept only in memory, in the Redactor. Reports count what was
// replaced, per kind, and never hold the values.
//
// Placeholders are written in square brackets. The brackets make the
// round trip exact: a placeholder can only ever be a whole replacement, and
// text in the input that already looks like a placeholder is itself
// replaced (kind LITERAL, not counted), so Rehydrate(Redact(x)) == x for
// every x.
package redact

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Kind is what sort of value a placeholder stands for.
type Kind string

// The kinds of value that are redacted. The placeholder of the n-th distinct
// value of a kind in a session is "[KIND_n]".
const (
	IP         Kind = "IP"          // IPv4 and IPv6 addresses
	CIDR       Kind = "CIDR"        // IPv4 and IPv6 networks
	Host       Kind = "HOST"        // internal host names
	Email      Kind = "EMAIL"       // e-mail addresses
	Account    Kind = "ACCOUNT"     // AWS account IDs
	ARN        Kind = "ARN"         // AWS resource names
	AWSKey     Kind = "AWS_KEY"     // AWS access key IDs and secret access keys
	GCPKey     Kind = "GCP_KEY"     // Google API keys
	AzureKey   Kind = "AZURE_KEY"   // Azure storage account keys, SAS signatures
	JWT        Kind = "JWT"         // JSON Web Tokens
	PrivateKey Kind = "PRIVATE_KEY" // PEM private keys, also inside GCP service-account JSON
	Password   Kind = "PASSWORD"    // passwords in URLs and password= settings
	Secret     Kind = "SECRET"      // tokens, API keys, Kubernetes Secret data
	Registry   Kind = "REGISTRY"    // configured container registry host names
	// Literal marks text of the input that looked like a placeholder. It is
	// replaced so that the round trip stays exact, and is not counted.
	Literal Kind = "LITERAL"
)

// Report counts the values replaced, per kind; it never holds the values.
type Report map[Kind]int

// Add adds the counts of o to r, allocating r if needed, and returns it.
func (r Report) Add(o Report) Report {
	if len(o) == 0 {
		return r
	}
	if r == nil {
		r = Report{}
	}
	for k, n := range o {
		r[k] += n
	}
	return r
}

// Total returns the number of values replaced.
func (r Report) Total() int {
	n := 0
	for _, c := range r {
		n += c
	}
	return n
}

// Redactor replaces sensitive values with placeholders and restores them.
// Its configuration fields are read when it is first used and must not
// change afterwards. A Redactor is safe for concurrent use; its zero value
// redacts with no internal domains or registries configured.
type Redactor struct {
	// InternalDomains are the organisation's DNS domains: each and all its
	// subdomains are redacted as HOST. Names under .svc, .cluster.local,
	// .internal and .local are always redacted.
	InternalDomains []string
	// RegistryHosts are container registry host names redacted as REGISTRY
	// wherever they appear (in image references, for instance).
	RegistryHosts []string
	// Keep lists values the caller knows are not addresses or host names,
	// such as the package versions of a fix plan ("1.2.3.4" is then a
	// version, not an IP address). Keep only ever spares IP, CIDR and HOST
	// matches; a secret is redacted whatever Keep says.
	Keep []string

	once  sync.Once
	rules []rule
	keep  map[string]bool

	mu      sync.Mutex
	byValue map[string]string // kind + "\x00" + value → placeholder
	byToken map[string]string // placeholder → value
	next    map[Kind]int
}

// New returns a Redactor with the given internal domains and registries.
func New(internalDomains, registryHosts []string) *Redactor {
	return &Redactor{InternalDomains: internalDomains, RegistryHosts: registryHosts}
}

// ParseList splits a comma-separated list (as in SEXTANT_INTERNAL_DOMAINS)
// into trimmed, lower-cased, non-empty entries without leading dots.
func ParseList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.ToLower(strings.Trim(strings.TrimSpace(p), "."))
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// placeholderRE matches a placeholder. It cannot contain a bracket inside,
// which is what makes replacements unambiguous.
var placeholderRE = regexp.MustCompile(`\[[A-Z][A-Z_]*_[0-9]+\]`)

// Redact returns text with every sensitive value replaced by its
// placeholder, and the count of replacements per kind.
func (r *Redactor) Redact(text string) (string, Report) {
	r.once.Do(r.init)
	spans := r.find(text)
	if len(spans) == 0 {
		return text, nil
	}
	var rep Report
	var b strings.Builder
	b.Grow(len(text))
	last := 0
	r.mu.Lock()
	for _, s := range spans {
		b.WriteString(text[last:s.start])
		b.WriteString(r.placeholder(s.kind, text[s.start:s.end]))
		last = s.end
		if s.kind != Literal {
			if rep == nil {
				rep = Report{}
			}
			rep[s.kind]++
		}
	}
	r.mu.Unlock()
	b.WriteString(text[last:])
	return b.String(), rep
}

// Rehydrate returns text with the placeholders this Redactor issued
// replaced by their original values. Placeholders it did not issue (a
// model may invent "[IP_9]") are left as they are.
func (r *Redactor) Rehydrate(text string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.byToken) == 0 || !strings.Contains(text, "[") {
		return text
	}
	return placeholderRE.ReplaceAllStringFunc(text, func(tok string) string {
		if v, ok := r.byToken[tok]; ok {
			return v
		}
		return tok
	})
}

// Placeholders returns the number of distinct values redacted so far.
func (r *Redactor) Placeholders() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byToken)
}

// placeholder returns the placeholder of value, issuing one if needed. The
// caller holds r.mu.
func (r *Redactor) placeholder(k Kind, value string) string {
	key := string(k) + "\x00" + value
	if p, ok := r.byValue[key]; ok {
		return p
	}
	if r.byValue == nil {
		r.byValue = map[string]string{}
		r.byToken = map[string]string{}
		r.next = map[Kind]int{}
	}
	r.next[k]++
	p := "[" + string(k) + "_" + strconv.Itoa(r.next[k]) + "]"
	r.byValue[key] = p
	r.byToken[p] = value
	return p
}

// span is a part of the text to replace.
type span struct {
	start, end int
	prio       int
	kind       Kind
}

// find returns the spans to replace, sorted and without overlaps.
func (r *Redactor) find(text string) []span {
	lower := asciiLower(text)
	var acc []span // accepted so far: sorted, without overlaps
	var cands []span
	for i, ru := range r.rules {
		if !needed(lower, ru.need) {
			continue
		}
		cands = cands[:0]
		ru.find(text, func(start, end int, k Kind) {
			if start >= end {
				return
			}
			if r.keep[text[start:end]] && (k == IP || k == CIDR || k == Host) {
				return
			}
			cands = append(cands, span{start, end, i, k})
		})
		if len(cands) > 0 {
			acc = merge(acc, cands)
		}
	}
	return acc
}

// asciiLower lower-cases ASCII letters only, so that offsets into the
// result are offsets into s (strings.ToLower rewrites invalid UTF-8 and
// changes the length of some letters).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func needed(lower string, need []string) bool {
	if len(need) == 0 {
		return true
	}
	for _, n := range need {
		if strings.Contains(lower, n) {
			return true
		}
	}
	return false
}

// merge adds the candidates of one rule to the accepted spans, which come
// from stronger rules. A candidate inside an accepted span adds nothing. A
// candidate that overlaps accepted spans (or other candidates) is merged
// with them into one span of the strongest kind among them, rather than
// dropped: dropping it would leave the part of a secret that sticks out of
// the other span in clear text.
func merge(acc, cands []span) []span {
	all := make([]span, 0, len(acc)+len(cands))
	all = append(all, acc...)
	all = append(all, cands...)
	// Stable: at one start, accepted spans stay ahead of candidates.
	slices.SortStableFunc(all, func(a, b span) int { return a.start - b.start })
	out := all[:0:0]
	for _, s := range all {
		if n := len(out); n > 0 && s.start < out[n-1].end {
			g := &out[n-1]
			g.end = max(g.end, s.end)
			if s.prio < g.prio {
				g.prio, g.kind = s.prio, s.kind
			}
			continue
		}
		out = append(out, s)
	}
	return out
}
