package fix

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/version"
)

// versions orders versions of one Plan run, remembering every comparison and
// validity check: the same few version strings recur across thousands of
// findings, and parsing them is the expensive part.
type versions struct {
	cmp   map[cmpKey]int8
	valid map[validKey]bool
}

type cmpKey struct{ eco, a, b string }
type validKey struct{ eco, v string }

// cmpErr marks a comparison that failed in the cache.
const cmpErr = 2

func newVersions() *versions {
	return &versions{cmp: make(map[cmpKey]int8), valid: make(map[validKey]bool)}
}

// compare returns -1, 0 or +1, and false when either version does not parse.
func (vs *versions) compare(eco, a, b string) (int, bool) {
	if a == b {
		return 0, true
	}
	k := cmpKey{eco, a, b}
	if c, ok := vs.cmp[k]; ok {
		return int(c), c != cmpErr
	}
	c, err := version.Compare(eco, a, b)
	if err != nil {
		vs.cmp[k] = cmpErr
		return 0, false
	}
	vs.cmp[k] = int8(c)
	return c, true
}

func (vs *versions) isValid(eco, v string) bool {
	k := validKey{eco, v}
	if ok, seen := vs.valid[k]; seen {
		return ok
	}
	ok := version.Valid(eco, v)
	vs.valid[k] = ok
	return ok
}

// less reports a < b; versions that do not compare are never less.
func (vs *versions) less(eco, a, b string) bool {
	c, ok := vs.compare(eco, a, b)
	return ok && c < 0
}

// normVersion puts a reported version into the form that is compared and put
// into commands: Go module versions carry their "v", Go releases do not.
func normVersion(eco, name, v string) string {
	v = strings.TrimSpace(v)
	if eco == "golang" && v != "" {
		if isGoStdlib(name) {
			if r, ok := goRelease(v); ok {
				return r
			}
			return v
		}
		if !strings.HasPrefix(v, "v") {
			return "v" + v
		}
	}
	return v
}

// resolution is what one vulnerability finding's fixed versions say about
// its package.
type resolution struct {
	// installed is the normalised installed version.
	installed string
	// cand is the least listed fixed version that is newer than the
	// installed one, preferring the installed major line; "" when the
	// finding has no usable fix.
	cand string
	// usable are all listed fixed versions newer than installed, set only
	// when there is more than one (release lines: "2.9.10, 3.0.1").
	usable []string
	// notes explain adjustments made (epoch re-added) or, with cand empty,
	// why there is no fix.
	notes []string
	// state is the reported fix state when there is no fix.
	state string
}

// resolve reads the fixed versions of one vulnerability finding.
func (vs *versions) resolve(eco string, f *sextant.Finding) resolution {
	name := f.Package.Name
	r := resolution{installed: normVersion(eco, name, f.Package.Version)}
	// Most findings list one or two fixed versions: keep them off the heap.
	var ubuf, lbuf [4]string
	usable, listed := ubuf[:0], lbuf[:0]
	var notNewer []string
	for _, entry := range f.FixedVersions {
		// Trivy writes one fix per release line into one string.
		for part := range strings.SplitSeq(entry, ",") {
			fv := normVersion(eco, name, part)
			if fv == "" {
				continue
			}
			listed = append(listed, fv)
			if eco == "deb" || eco == "rpm" {
				if a := version.AlignEpoch(eco, r.installed, fv); a != fv {
					r.notes = append(r.notes, fmt.Sprintf("The fixed version %s was reported without the installed version's epoch; %s is used so that the package manager can find it.", fv, a))
					fv = a
				}
			}
			if !vs.isValid(eco, fv) {
				r.notes = append(r.notes, fmt.Sprintf("The listed fixed version %s is not a valid %s version and was ignored.", quoteForNote(fv), eco))
				continue
			}
			if r.installed == "" || !vs.isValid(eco, r.installed) {
				continue
			}
			c, ok := vs.compare(eco, fv, r.installed)
			if !ok {
				continue
			}
			if c <= 0 {
				notNewer = append(notNewer, fv)
				continue
			}
			usable = append(usable, fv)
		}
	}
	switch {
	case len(usable) > 0:
	case len(listed) == 0:
		r.state = strings.TrimSpace(f.FixState)
		if r.state == "" || strings.EqualFold(r.state, "fixed") {
			r.state = "not-fixed"
		}
		return r
	case r.installed == "" || !vs.isValid(eco, r.installed):
		r.notes = append(r.notes, fmt.Sprintf("The installed version %s is missing or not a valid %s version, so no upgrade can be shown to be newer; upgrade by hand to at least %s.", quoteForNote(r.installed), eco, strings.Join(listed, " or ")))
		return r
	case len(notNewer) > 0:
		r.notes = append(r.notes, fmt.Sprintf("The listed fixed version(s) %s are not newer than the installed %s; the scanner's data may be stale or for another release. No downgrade is proposed.", strings.Join(notNewer, ", "), r.installed))
		return r
	default:
		return r
	}
	major := leadingNum(r.installed)
	var same, any string
	for _, u := range usable {
		if any == "" || vs.less(eco, u, any) {
			any = u
		}
		if leadingNum(u) == major && (same == "" || vs.less(eco, u, same)) {
			same = u
		}
	}
	r.cand = any
	if same != "" {
		r.cand = same
	}
	if len(usable) > 1 {
		r.usable = slices.Clone(usable)
	}
	return r
}

// versionLine returns a version's release line: its first two numeric
// components after any epoch and "v"/"go" prefix ("1:2.9.10-1" → "2.9").
// Backported fixes are listed one per release line.
func versionLine(v string) string {
	_, v = splitEpoch(v)
	v = strings.TrimPrefix(strings.TrimPrefix(v, "go"), "v")
	end, dots := 0, 0
	for end < len(v) {
		c := v[end]
		if c == '.' {
			dots++
			if dots == 2 {
				break
			}
		} else if c < '0' || c > '9' {
			break
		}
		end++
	}
	return v[:end]
}

// leadingNum is the first numeric component of a version (its major).
func leadingNum(v string) string {
	line := versionLine(v)
	if i := strings.IndexByte(line, '.'); i >= 0 {
		return line[:i]
	}
	return line
}

// target returns the least version that fixes every resolution in rs: the
// greatest candidate, raised while some finding is not fixed by it (see
// fixedBy). ok is false when the result could not be shown to be newer than
// every installed version and at least every candidate (it never happens
// with a consistent version order).
//
// Each pass raises t to one of the finitely many listed fixed versions, so
// the loop ends; in practice it takes one or two passes.
func (vs *versions) target(eco string, rs []*resolution) (string, bool) {
	t := ""
	for _, r := range rs {
		if t == "" || vs.less(eco, t, r.cand) {
			t = r.cand
		}
	}
	for changed := true; changed; {
		changed = false
		for _, r := range rs {
			if need := vs.fixedBy(eco, r, t); need != "" {
				t, changed = need, true
			}
		}
	}
	for _, r := range rs {
		if c, ok := vs.compare(eco, t, r.installed); !ok || c <= 0 {
			return "", false
		}
		if c, ok := vs.compare(eco, t, r.cand); !ok || c < 0 {
			return "", false
		}
	}
	return t, t != ""
}

// fixedBy returns "" when version t (at least r.cand) fixes the finding of
// r, else the listed fix that t must be raised to. A finding lists one fix
// per release line ("2.12.2, 2.17.0", "1.21.11, 1.22.4"); with next the
// least listed fix above t:
//   - t is fixed when there is no such next;
//   - t is vulnerable when next is in t's major.minor line;
//   - t is fixed when a listed fix at or below t is in t's major.minor line;
//   - t is vulnerable when next is in t's major line: a line nobody listed
//     (2.13.0 between 2.12.2 and 2.17.0) is taken as unfixed, which may
//     overshoot but never leaves a vulnerability behind;
//   - t is fixed otherwise (next starts a newer major line).
func (vs *versions) fixedBy(eco string, r *resolution, t string) string {
	if r.usable == nil {
		return ""
	}
	next := ""
	for _, u := range r.usable {
		if vs.less(eco, t, u) && (next == "" || vs.less(eco, u, next)) {
			next = u
		}
	}
	if next == "" {
		return ""
	}
	line := versionLine(t)
	if versionLine(next) == line {
		return next
	}
	for _, u := range r.usable {
		if versionLine(u) == line && !vs.less(eco, t, u) {
			return ""
		}
	}
	if leadingNum(next) == leadingNum(t) {
		return next
	}
	return ""
}
