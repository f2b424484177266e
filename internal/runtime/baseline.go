package runtime

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sextant-dev/sextant"
)

// BaselineSchema names the baseline file's format.
const BaselineSchema = "sextant.baseline/v1"

// maxLearnedFrom bounds the incident IDs an entry remembers.
const maxLearnedFrom = 5

// Tuple is one behaviour of an image's containers: a process, its parent,
// its command line (normalised: numbers, hashes and UUIDs replaced) and
// the destination it reached (public addresses as they are, private and
// cluster addresses as "private:PORT", "cluster:PORT").
type Tuple struct {
	Process     string `json:"process"`
	Parent      string `json:"parent,omitempty"`
	Cmdline     string `json:"cmdline,omitempty"`
	Destination string `json:"destination,omitempty"`
}

// String writes the tuple for people: `sh (parent runc) "sh -c …" → host:443`.
func (t Tuple) String() string {
	s := t.Process
	if t.Parent != "" {
		s += " (parent " + t.Parent + ")"
	}
	if t.Cmdline != "" {
		s += " " + strconv.Quote(t.Cmdline)
	}
	if t.Destination != "" {
		s += " → " + t.Destination
	}
	return s
}

// BaselineEntry is a learned tuple.
type BaselineEntry struct {
	Tuple
	// LearnedAt is when the tuple was first learned.
	LearnedAt time.Time `json:"learned_at"`
	// FirstSeen and LastSeen are the times of the events it was learned
	// from; Count counts them.
	FirstSeen time.Time `json:"first_seen,omitzero"`
	LastSeen  time.Time `json:"last_seen,omitzero"`
	Count     int       `json:"count"`
	// LearnedFrom lists incidents it was learned from, the first five.
	LearnedFrom []string `json:"learned_from,omitempty"`
}

// Baseline is the learned behaviour of images: per image repository, the
// tuples seen in incidents that were not malicious. Its JSON form is the
// baseline file (docs/runtime.md).
type Baseline struct {
	Schema string `json:"schema"`
	// Images maps a normalised image repository ("nginx",
	// "registry.example.com/shop/web") to its tuples.
	Images map[string][]BaselineEntry `json:"images"`
}

// BaselineMatch is a baseline entry an incident's behaviour matched.
type BaselineMatch struct {
	Image string `json:"image"`
	Tuple
	LearnedAt time.Time `json:"learned_at"`
	// Learned is how many events the entry was learned from; Events how
	// many of this incident's events it matched.
	Learned int `json:"learned"`
	Events  int `json:"events"`
}

// NewBaseline returns an empty baseline.
func NewBaseline() *Baseline {
	return &Baseline{Schema: BaselineSchema, Images: map[string][]BaselineEntry{}}
}

// LoadBaseline reads a baseline file. A missing file is an ENOTFOUND
// error, which callers that learn treat as an empty baseline.
func LoadBaseline(path string) (*Baseline, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, sextant.Errorf(sextant.ENOTFOUND, "baseline %s does not exist (create it with --learn)", path)
	}
	if err != nil {
		return nil, sextant.Errorf(sextant.EINVALID, "baseline: %v", err)
	}
	defer f.Close()
	return ReadBaseline(f, path)
}

// ReadBaseline reads a baseline from r; name names it in errors.
func ReadBaseline(r io.Reader, name string) (*Baseline, error) {
	var b Baseline
	dec := json.NewDecoder(r)
	if err := dec.Decode(&b); err != nil {
		return nil, sextant.Errorf(sextant.EINVALID, "baseline %s: %v", name, err)
	}
	if b.Schema != BaselineSchema {
		return nil, sextant.Errorf(sextant.EINVALID, "baseline %s: schema %q, want %q", name, b.Schema, BaselineSchema)
	}
	if b.Images == nil {
		b.Images = map[string][]BaselineEntry{}
	}
	// Normalise what a person may have edited, so that lookups match.
	out := map[string][]BaselineEntry{}
	for img, es := range b.Images {
		k := normImage(img)
		for _, e := range es {
			e.Cmdline = normCmdline(e.Cmdline)
			out[k] = append(out[k], e)
		}
	}
	b.Images = out
	b.sort()
	return &b, nil
}

func (b *Baseline) sort() {
	for _, es := range b.Images {
		slices.SortFunc(es, func(x, y BaselineEntry) int {
			return cmp.Or(strings.Compare(x.Process, y.Process), strings.Compare(x.Parent, y.Parent),
				strings.Compare(x.Cmdline, y.Cmdline), strings.Compare(x.Destination, y.Destination))
		})
	}
}

// Entries returns the number of tuples in the baseline.
func (b *Baseline) Entries() int {
	n := 0
	for _, es := range b.Images {
		n += len(es)
	}
	return n
}

// Write writes the baseline as indented JSON.
func (b *Baseline) Write(w io.Writer) error {
	b.sort()
	buf, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(buf, '\n'))
	return err
}

// Save writes the baseline to path atomically (a temporary file renamed
// over it), readable by its owner only: command lines may hold secrets.
func (b *Baseline) Save(path string) error {
	var buf bytes.Buffer
	if err := b.Write(&buf); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".baseline-*.json")
	if err != nil {
		return sextant.Errorf(sextant.EINVALID, "save baseline: %v", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return sextant.Errorf(sextant.EINVALID, "save baseline: %v", err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return sextant.Errorf(sextant.EINVALID, "save baseline: %v", err)
	}
	if err := tmp.Close(); err != nil {
		return sextant.Errorf(sextant.EINVALID, "save baseline: %v", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return sextant.Errorf(sextant.EINVALID, "save baseline: %v", err)
	}
	return nil
}

// tupleOf returns the event's image and behaviour tuple, and false when it
// has none: no image, or no process.
func tupleOf(e *event) (image string, t Tuple, ok bool) {
	if e.repo == "" || e.proc.Name == "" {
		return "", Tuple{}, false
	}
	t = Tuple{Process: e.proc.Name, Parent: e.proc.Parent, Cmdline: normCmdline(e.proc.Cmdline)}
	if c := e.conn; c != nil {
		switch e.scope {
		case "public", "unknown":
			host := c.Address
			if c.Name != "" {
				host = c.Name
			}
			t.Destination = hostPort(host, c.Port)
		default:
			t.Destination = fmt.Sprintf("%s:%d", e.scope, c.Port)
		}
	}
	return normImage(e.repo), t, true
}

// find returns the index of t among the image's entries, or -1.
func (b *Baseline) find(image string, t Tuple) int {
	return slices.IndexFunc(b.Images[image], func(x BaselineEntry) bool { return x.Tuple == t })
}

// match returns the baseline entries the incident's events match, and
// whether they cover every event (known behaviour of the runtime aside).
func (b *Baseline) match(inc *Incident) ([]BaselineMatch, bool) {
	covered, any := true, false
	byKey := map[string]*BaselineMatch{}
	var order []string
	for _, e := range inc.events {
		if _, ok := knownBehaviour(e); ok {
			continue
		}
		img, t, ok := tupleOf(e)
		if !ok {
			covered = false
			continue
		}
		i := b.find(img, t)
		if i < 0 {
			covered = false
			continue
		}
		any = true
		k := img + "\x00" + t.String()
		m := byKey[k]
		if m == nil {
			en := b.Images[img][i]
			m = &BaselineMatch{Image: img, Tuple: t, LearnedAt: en.LearnedAt, Learned: en.Count}
			byKey[k] = m
			order = append(order, k)
		}
		m.Events++
	}
	out := make([]BaselineMatch, 0, len(order))
	for _, k := range order {
		out = append(out, *byKey[k])
	}
	return out, covered && any
}

// LearnResult says what Learn did.
type LearnResult struct {
	// Added counts new tuples; Updated tuples seen again.
	Added   int `json:"added"`
	Updated int `json:"updated"`
	// Refused lists the malicious incidents, whose behaviour is never
	// learned.
	Refused []string `json:"refused,omitempty"`
	// Unlearnable counts events without an image or a process.
	Unlearnable int `json:"unlearnable"`
}

// Learn adds the behaviour of every incident that is not malicious to the
// baseline. now is the learning time.
func (b *Baseline) Learn(incs []*Incident, now time.Time) LearnResult {
	var r LearnResult
	if b.Images == nil {
		b.Images = map[string][]BaselineEntry{}
	}
	for _, inc := range incs {
		if inc.Verdict == Malicious {
			r.Refused = append(r.Refused, inc.ID)
			continue
		}
		for _, e := range inc.events {
			if _, ok := knownBehaviour(e); ok {
				continue
			}
			img, t, ok := tupleOf(e)
			if !ok {
				r.Unlearnable++
				continue
			}
			i := b.find(img, t)
			if i < 0 {
				b.Images[img] = append(b.Images[img], BaselineEntry{Tuple: t, LearnedAt: now.UTC(), FirstSeen: e.Time, LastSeen: e.Time, LearnedFrom: []string{inc.ID}})
				i = len(b.Images[img]) - 1
				r.Added++
			} else {
				r.Updated++
			}
			en := &b.Images[img][i]
			en.Count++
			if !e.Time.IsZero() {
				if en.FirstSeen.IsZero() || e.Time.Before(en.FirstSeen) {
					en.FirstSeen = e.Time
				}
				if e.Time.After(en.LastSeen) {
					en.LastSeen = e.Time
				}
			}
			if !slices.Contains(en.LearnedFrom, inc.ID) && len(en.LearnedFrom) < maxLearnedFrom {
				en.LearnedFrom = append(en.LearnedFrom, inc.ID)
			}
		}
	}
	b.sort()
	return r
}

// normImage normalises an image repository the way registries resolve it:
// lower case, without Docker Hub's host and "library/".
func normImage(repo string) string {
	r := strings.ToLower(strings.TrimSpace(repo))
	for _, p := range []string{"docker.io/", "index.docker.io/", "registry-1.docker.io/"} {
		if strings.HasPrefix(r, p) {
			r = r[len(p):]
			break
		}
	}
	return strings.TrimPrefix(r, "library/")
}

var (
	uuidRE = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)
	hexRE  = regexp.MustCompile(`\b[0-9a-fA-F]{12,}\b`)
)

// normCmdline normalises a command line so that runs of one program that
// differ only in numbers, hashes, UUIDs or spacing compare equal: UUIDs
// become <uuid>, hex strings of 12 or more digits with a letter <hex>, and
// digit runs not directly after a letter <n> ("python3" keeps its 3,
// "sleep 30" becomes "sleep <n>").
func normCmdline(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = uuidRE.ReplaceAllString(s, "<uuid>")
	s = hexRE.ReplaceAllStringFunc(s, func(m string) string {
		if strings.ContainsAny(m, "abcdefABCDEF") && strings.ContainsAny(m, "0123456789") {
			return "<hex>"
		}
		return m
	})
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if isDigit(c) {
			j := i
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			if i > 0 && isLetter(s[i-1]) {
				b.WriteString(s[i:j])
			} else {
				b.WriteString("<n>")
			}
			i = j
			continue
		}
		b.WriteByte(c)
		i++
	}
	return clip(b.String(), 512)
}

func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
