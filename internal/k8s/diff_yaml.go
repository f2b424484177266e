package k8s

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// This file holds the line-based YAML editor behind ApplyToFile. The
// yaml.v3 Node API is in the module graph only as an indirect, unlisted
// module (go.yaml.in/yaml/v3), so it cannot be imported without changing
// go.mod; instead, the block structure of each document (mappings,
// sequences, where each entry's lines start and end) is indexed from the
// text, and only the lines of values that change are rewritten. Anything the
// indexer does not understand (flow collections, anchors, complex keys) is
// treated as an opaque value and replaced whole when it changes; every
// edited document is parsed again and compared with the JSON-patched object,
// and a document that does not match is re-rendered whole.

// errYAMLShape says the text does not have a shape the editor handles.
var errYAMLShape = errors.New("unsupported YAML shape")

type ynodeKind int

const (
	yMap ynodeKind = iota + 1
	ySeq
)

// ynode is a block mapping or sequence.
type ynode struct {
	kind    ynodeKind
	col     int // column of the keys (mapping) or dashes (sequence)
	entries []*yentry
	items   []*yitem
	end     int // line after the last content line
	// isItemMap is set on a mapping whose first key sits on its sequence
	// item's dash line; that key cannot be deleted by deleting its line.
	isItemMap bool
}

// yentry is one "key: value" of a block mapping.
type yentry struct {
	key   string
	line  int
	colon int    // byte index of the ':' in the line
	value *ynode // nil for scalars, flow collections, nulls, block scalars
	end   int
}

// yitem is one "- value" of a block sequence.
type yitem struct {
	line  int
	col   int
	value *ynode
	end   int
}

type yparser struct {
	lines []string
	end   int
	depth int
}

func (p *yparser) indent(i int) (int, error) {
	l := p.lines[i]
	n := 0
	for n < len(l) && l[n] == ' ' {
		n++
	}
	if n < len(l) && l[n] == '\t' {
		return 0, errYAMLShape
	}
	return n, nil
}

func (p *yparser) skip(i int) bool {
	t := strings.TrimLeft(p.lines[i], " \t")
	return t == "" || t[0] == '#'
}

func (p *yparser) next(i int) int {
	for i < p.end && p.skip(i) {
		i++
	}
	return i
}

// isDash reports whether the line has a sequence dash at col.
func (p *yparser) isDash(i, col int) bool {
	l := p.lines[i]
	return len(l) > col && l[col] == '-' && (len(l) == col+1 || l[col+1] == ' ' || l[col+1] == '\t')
}

// keyAt parses a mapping key starting at column c of line i; ok is false
// when the text there is not a "key:" (a scalar or flow value).
func (p *yparser) keyAt(i, c int) (key string, colon int, ok bool, err error) {
	l := p.lines[i]
	if c >= len(l) {
		return "", 0, false, nil
	}
	s := l[c:]
	switch s[0] {
	case '"', '\'':
		q := s[0]
		j := 1
		for j < len(s) {
			if q == '"' && s[j] == '\\' {
				j += 2
				continue
			}
			if s[j] == q {
				if q == '\'' && j+1 < len(s) && s[j+1] == '\'' {
					j += 2
					continue
				}
				break
			}
			j++
		}
		if j >= len(s) {
			return "", 0, false, nil
		}
		k := j + 1
		for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
			k++
		}
		if k >= len(s) || s[k] != ':' || (k+1 < len(s) && s[k+1] != ' ' && s[k+1] != '\t') {
			return "", 0, false, nil
		}
		var key string
		if err := yaml.Unmarshal([]byte(s[:j+1]), &key); err != nil {
			return "", 0, false, errYAMLShape
		}
		return key, c + k, true, nil
	case '[', '{', '|', '>', '!', '&', '*', '%', '@', '`', '#':
		return "", 0, false, nil
	case '?':
		return "", 0, false, errYAMLShape
	}
	for j := 0; j < len(s); j++ {
		if s[j] == '#' && j > 0 && (s[j-1] == ' ' || s[j-1] == '\t') {
			return "", 0, false, nil
		}
		if s[j] == ':' && (j+1 == len(s) || s[j+1] == ' ' || s[j+1] == '\t') {
			key := strings.TrimRight(s[:j], " \t")
			if key == "" {
				return "", 0, false, errYAMLShape
			}
			if key == "<<" {
				return "", 0, false, errYAMLShape
			}
			return key, c + j, true, nil
		}
	}
	return "", 0, false, nil
}

// cont returns the line after a value that starts on line i-1 and may
// continue on lines indented more than col.
func (p *yparser) cont(i, col int) (int, error) {
	end := i
	for j := i; j < p.end; j++ {
		if strings.TrimSpace(p.lines[j]) == "" {
			continue
		}
		n, err := p.indent(j)
		if err != nil {
			return 0, err
		}
		if n <= col {
			break
		}
		end = j + 1
	}
	return end, nil
}

// block parses the block node whose first content is at line i, column
// col; a nil node means a scalar, which ends at the returned line.
func (p *yparser) block(i, col, parentCol int) (*ynode, int, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > 200 {
		return nil, 0, errYAMLShape
	}
	if p.isDash(i, col) {
		n, err := p.seq(i, col)
		if err != nil {
			return nil, 0, err
		}
		return n, n.end, nil
	}
	_, _, ok, err := p.keyAt(i, col)
	if err != nil {
		return nil, 0, err
	}
	if ok {
		n, err := p.mapping(i, col)
		if err != nil {
			return nil, 0, err
		}
		return n, n.end, nil
	}
	end, err := p.cont(i+1, parentCol)
	return nil, end, err
}

func (p *yparser) mapping(i, col int) (*ynode, error) {
	n := &ynode{kind: yMap, col: col}
	for {
		e, err := p.entry(i, col)
		if err != nil {
			return nil, err
		}
		n.entries = append(n.entries, e)
		n.end = e.end
		i = p.next(e.end)
		if i >= p.end {
			return n, nil
		}
		ind, err := p.indent(i)
		if err != nil {
			return nil, err
		}
		if ind < col || (ind == col && p.isDash(i, col)) {
			return n, nil
		}
		if ind > col {
			return nil, errYAMLShape
		}
	}
}

func (p *yparser) entry(i, col int) (*yentry, error) {
	key, colon, ok, err := p.keyAt(i, col)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errYAMLShape
	}
	e := &yentry{key: key, line: i, colon: colon, end: i + 1}
	rest := strings.TrimLeft(p.lines[i][colon+1:], " \t")
	switch {
	case rest == "" || rest[0] == '#':
		j := p.next(i + 1)
		if j >= p.end {
			return e, nil
		}
		ind, err := p.indent(j)
		if err != nil {
			return nil, err
		}
		switch {
		case ind > col:
			v, end, err := p.block(j, ind, col)
			if err != nil {
				return nil, err
			}
			e.value, e.end = v, end
		case ind == col && p.isDash(j, col):
			v, err := p.seq(j, col)
			if err != nil {
				return nil, err
			}
			e.value, e.end = v, v.end
		}
	default:
		end, err := p.cont(i+1, col)
		if err != nil {
			return nil, err
		}
		e.end = end
	}
	return e, nil
}

func (p *yparser) seq(i, col int) (*ynode, error) {
	n := &ynode{kind: ySeq, col: col}
	for {
		it := &yitem{line: i, col: col, end: i + 1}
		l := p.lines[i]
		c := col + 1
		for c < len(l) && (l[c] == ' ' || l[c] == '\t') {
			c++
		}
		switch {
		case c >= len(l) || l[c] == '#':
			j := p.next(i + 1)
			if j < p.end {
				ind, err := p.indent(j)
				if err != nil {
					return nil, err
				}
				if ind > col {
					v, end, err := p.block(j, ind, col)
					if err != nil {
						return nil, err
					}
					it.value, it.end = v, end
				}
			}
		default:
			if strings.Contains(l[col+1:c], "\t") {
				return nil, errYAMLShape
			}
			v, end, err := p.block(i, c, col)
			if err != nil {
				return nil, err
			}
			it.value, it.end = v, end
		}
		n.items = append(n.items, it)
		n.end = it.end
		i = p.next(it.end)
		if i >= p.end {
			return n, nil
		}
		ind, err := p.indent(i)
		if err != nil {
			return nil, err
		}
		if ind < col || (ind == col && !p.isDash(i, col)) {
			return n, nil
		}
		if ind > col {
			return nil, errYAMLShape
		}
	}
}

// ojson is a JSON value that keeps the order of object keys.
type ojson struct {
	kind byte // 'o' object, 'a' array, 's' string, 'l' other literal
	keys []string
	vals []*ojson
	str  string // string value, or the literal's JSON text
}

func parseOJSON(data []byte) (*ojson, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	v, err := readOJSON(d, 0)
	if err != nil {
		return nil, err
	}
	return v, nil
}

func readOJSON(d *json.Decoder, depth int) (*ojson, error) {
	if depth > 10000 {
		return nil, errYAMLShape
	}
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch t := t.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := &ojson{kind: 'o'}
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := readOJSON(d, depth+1)
				if err != nil {
					return nil, err
				}
				o.keys = append(o.keys, k)
				o.vals = append(o.vals, v)
			}
			_, err := d.Token()
			return o, err
		case '[':
			a := &ojson{kind: 'a'}
			for d.More() {
				v, err := readOJSON(d, depth+1)
				if err != nil {
					return nil, err
				}
				a.vals = append(a.vals, v)
			}
			_, err := d.Token()
			return a, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case string:
		return &ojson{kind: 's', str: t}, nil
	case json.Number:
		return &ojson{kind: 'l', str: t.String()}, nil
	case bool:
		return &ojson{kind: 'l', str: fmt.Sprint(t)}, nil
	case nil:
		return &ojson{kind: 'l', str: "null"}, nil
	}
	return nil, fmt.Errorf("unexpected token %v", t)
}

func (o *ojson) get(key string) *ojson {
	for i, k := range o.keys {
		if k == key {
			return o.vals[i]
		}
	}
	return nil
}

// plain reports whether v is a scalar or an empty collection, written on
// the key's or dash's line.
func (o *ojson) plain() bool {
	return (o.kind != 'o' && o.kind != 'a') || len(o.vals) == 0
}

// yamlStyle is the indentation a file uses.
type yamlStyle struct {
	mapStep   int // extra indent of a nested mapping's keys
	seqOffset int // extra indent of a sequence under a key (0 or mapStep)
}

// scalarText renders a scalar or empty collection on one line.
func scalarText(o *ojson) string {
	switch o.kind {
	case 'o':
		return "{}"
	case 'a':
		return "[]"
	case 's':
		return yamlString(o.str)
	}
	return o.str
}

// yamlString renders a string plain when YAML reads it back unchanged, and
// double-quoted otherwise; Go's escapes (\n, \t, \x7f, \u2028…) are all
// valid YAML double-quoted escapes with the same meaning for valid UTF-8.
func yamlString(s string) string {
	if s != "" && !strings.ContainsAny(s, "\n\r\t") {
		if m, err := yaml.Marshal(s); err == nil && string(m) == s+"\n" && strconv.Quote(s) == `"`+s+`"` {
			return s
		}
	}
	return strconv.Quote(s)
}

// renderBlock renders a non-empty mapping or sequence as lines at indent.
func renderBlock(o *ojson, indent int, st yamlStyle) []string {
	pad := strings.Repeat(" ", indent)
	var out []string
	switch o.kind {
	case 'o':
		for i, k := range o.keys {
			v := o.vals[i]
			if v.plain() {
				out = append(out, pad+yamlString(k)+": "+scalarText(v))
				continue
			}
			out = append(out, pad+yamlString(k)+":")
			if v.kind == 'o' {
				out = append(out, renderBlock(v, indent+st.mapStep, st)...)
			} else {
				out = append(out, renderBlock(v, indent+st.seqOffset, st)...)
			}
		}
	case 'a':
		for _, v := range o.vals {
			out = append(out, renderItem(v, indent, st)...)
		}
	}
	return out
}

// renderItem renders one sequence item with its dash at indent.
func renderItem(v *ojson, indent int, st yamlStyle) []string {
	pad := strings.Repeat(" ", indent)
	if v.plain() {
		return []string{pad + "- " + scalarText(v)}
	}
	if i := slices.Index(v.keys, "name"); i > 0 {
		// Kubernetes lists are keyed by name; put it first, as people do.
		v = &ojson{kind: 'o',
			keys: append([]string{"name"}, slices.Delete(slices.Clone(v.keys), i, i+1)...),
			vals: append([]*ojson{v.vals[i]}, slices.Delete(slices.Clone(v.vals), i, i+1)...)}
	}
	lines := renderBlock(v, indent+2, st)
	lines[0] = pad + "- " + lines[0][indent+2:]
	return lines
}

// splice replaces lines [start, end) with repl.
type splice struct {
	start, end int
	repl       []string
}

// reconciler computes the splices that turn a document's text into the
// text of the patched value.
type reconciler struct {
	lines   []string
	st      yamlStyle
	splices []splice
}

// valueLines renders v as the value of entry e: the rewritten key line and
// any block lines after it.
func (r *reconciler) valueLines(e *yentry, keyCol int, v *ojson) []string {
	line := r.lines[e.line]
	head := line[:e.colon+1]
	tail := ""
	if e.end == e.line+1 {
		// A one-line value may carry a comment after it; keep it.
		tail = trailingComment(line[e.colon+1:])
	}
	if v.plain() {
		return []string{head + " " + scalarText(v) + tail}
	}
	out := []string{head + tail}
	if v.kind == 'o' {
		return append(out, renderBlock(v, keyCol+r.st.mapStep, r.st)...)
	}
	return append(out, renderBlock(v, keyCol+r.st.seqOffset, r.st)...)
}

// trailingComment returns the comment (with the blanks before it) that
// ends a one-line value, or "".
func trailingComment(s string) string {
	var q byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q != 0:
			if c == '\\' && q == '"' {
				i++
			} else if c == q {
				q = 0
			}
		case c == '"' || c == '\'':
			if i == 0 || s[i-1] == ' ' || s[i-1] == '\t' || s[i-1] == '[' || s[i-1] == '{' || s[i-1] == ',' {
				q = c
			}
		case c == '#' && i > 0 && (s[i-1] == ' ' || s[i-1] == '\t'):
			j := i
			for j > 0 && (s[j-1] == ' ' || s[j-1] == '\t') {
				j--
			}
			return s[j:]
		}
	}
	return ""
}

// node reconciles a block node with old and new values.
func (r *reconciler) node(n *ynode, old, nw *ojson) error {
	switch n.kind {
	case yMap:
		if old.kind != 'o' || len(old.keys) != len(n.entries) {
			return errYAMLShape
		}
		for i, e := range n.entries {
			if old.keys[i] != e.key && old.get(e.key) == nil {
				return errYAMLShape
			}
		}
		for _, e := range n.entries {
			ov, nv := old.get(e.key), nw.get(e.key)
			if nv == nil {
				if e.line == r.firstLine(n) && n.isItemMap {
					return errYAMLShape
				}
				r.splices = append(r.splices, splice{e.line, e.end, nil})
				continue
			}
			if err := r.entry(n, e, ov, nv); err != nil {
				return err
			}
		}
		var add []string
		for i, k := range nw.keys {
			if old.get(k) == nil {
				one := &ojson{kind: 'o', keys: []string{k}, vals: []*ojson{nw.vals[i]}}
				add = append(add, renderBlock(one, n.col, r.st)...)
			}
		}
		if len(add) > 0 {
			r.splices = append(r.splices, splice{n.end, n.end, add})
		}
		return nil
	case ySeq:
		if old.kind != 'a' || len(old.vals) != len(n.items) {
			return errYAMLShape
		}
		ov, nv := old.vals, nw.vals
		pre := 0
		for pre < len(ov) && pre < len(nv) && ojsonEqual(ov[pre], nv[pre]) {
			pre++
		}
		suf := 0
		for suf < len(ov)-pre && suf < len(nv)-pre && ojsonEqual(ov[len(ov)-1-suf], nv[len(nv)-1-suf]) {
			suf++
		}
		om, nm := ov[pre:len(ov)-suf], nv[pre:len(nv)-suf]
		if len(om) == len(nm) {
			for i := range om {
				if err := r.item(n.items[pre+i], om[i], nm[i]); err != nil {
					return err
				}
			}
			return nil
		}
		start := n.end
		if pre < len(n.items) {
			start = n.items[pre].line
		}
		end := start
		if len(om) > 0 {
			end = n.items[pre+len(om)-1].end
		}
		var repl []string
		for _, v := range nm {
			repl = append(repl, renderItem(v, n.col, r.st)...)
		}
		r.splices = append(r.splices, splice{start, end, repl})
		return nil
	}
	return errYAMLShape
}

func (r *reconciler) firstLine(n *ynode) int {
	if len(n.entries) > 0 {
		return n.entries[0].line
	}
	return -1
}

func (r *reconciler) entry(parent *ynode, e *yentry, ov, nv *ojson) error {
	if ov == nil {
		return errYAMLShape
	}
	if ojsonEqual(ov, nv) {
		return nil
	}
	if e.value != nil && !nv.plain() && ((e.value.kind == yMap && nv.kind == 'o') || (e.value.kind == ySeq && nv.kind == 'a')) {
		return r.node(e.value, ov, nv)
	}
	r.splices = append(r.splices, splice{e.line, e.end, r.valueLines(e, parent.col, nv)})
	return nil
}

func (r *reconciler) item(it *yitem, ov, nv *ojson) error {
	if ojsonEqual(ov, nv) {
		return nil
	}
	if it.value != nil && !nv.plain() && ((it.value.kind == yMap && nv.kind == 'o') || (it.value.kind == ySeq && nv.kind == 'a')) {
		if it.value.kind == yMap && it.value.entries[0].line == it.line {
			it.value.isItemMap = true
		}
		return r.node(it.value, ov, nv)
	}
	r.splices = append(r.splices, splice{it.line, it.end, renderItem(nv, it.col, r.st)})
	return nil
}

func ojsonEqual(a, b *ojson) bool {
	if a.kind != b.kind || a.str != b.str || len(a.vals) != len(b.vals) {
		return false
	}
	if a.kind == 'o' {
		for i, k := range a.keys {
			bv := b.get(k)
			if bv == nil || !ojsonEqual(a.vals[i], bv) {
				return false
			}
		}
		return true
	}
	for i := range a.vals {
		if !ojsonEqual(a.vals[i], b.vals[i]) {
			return false
		}
	}
	return true
}

// detectStyle reads the indentation a document uses from its first nested
// mapping and first sequence under a key.
func detectStyle(n *ynode) yamlStyle {
	st := yamlStyle{}
	var walk func(n *ynode)
	walk = func(n *ynode) {
		if n == nil || (st.mapStep != 0 && st.seqOffset >= 0 && st.seqOffset != -1) {
			return
		}
		for _, e := range n.entries {
			if e.value == nil {
				continue
			}
			d := e.value.col - n.col
			if e.value.kind == yMap && st.mapStep == 0 && d > 0 {
				st.mapStep = d
			}
			if e.value.kind == ySeq && st.seqOffset == -1 {
				st.seqOffset = d
			}
			walk(e.value)
		}
		for _, it := range n.items {
			walk(it.value)
		}
	}
	st.seqOffset = -1
	walk(n)
	if st.mapStep == 0 {
		st.mapStep = 2
	}
	if st.seqOffset < 0 {
		st.seqOffset = st.mapStep
	}
	return st
}

// editDocument returns the lines of a document (lines, without the "---")
// edited so that they read as newJSON, keeping every line that does not
// change. ok is false when the text could not be edited in place.
func editDocument(lines []string, oldJSON, newJSON []byte) ([]string, bool) {
	old, err := parseOJSON(oldJSON)
	if err != nil {
		return nil, false
	}
	nw, err := parseOJSON(newJSON)
	if err != nil {
		return nil, false
	}
	p := &yparser{lines: lines, end: len(lines)}
	i := p.next(0)
	if i >= len(lines) {
		return nil, false
	}
	col, err := p.indent(i)
	if err != nil {
		return nil, false
	}
	root, end, err := p.block(i, col, -1)
	if err != nil || root == nil || p.next(end) < len(lines) {
		return nil, false
	}
	r := &reconciler{lines: lines, st: detectStyle(root)}
	if err := r.node(root, old, nw); err != nil {
		return nil, false
	}
	out := applySplices(lines, r.splices)
	// The edit must read back as exactly the patched object.
	got, err := yaml.YAMLToJSON([]byte(strings.Join(out, "\n")))
	if err != nil || !jsonSame(got, newJSON) {
		return nil, false
	}
	return out, true
}

// renderDocument renders a whole document from JSON, for documents the
// editor cannot edit in place.
func renderDocument(data []byte, st yamlStyle) ([]string, error) {
	v, err := parseOJSON(data)
	if err != nil {
		return nil, err
	}
	if v.plain() {
		return []string{scalarText(v)}, nil
	}
	return renderBlock(v, 0, st), nil
}

func applySplices(lines []string, ss []splice) []string {
	out := append([]string(nil), lines...)
	// Apply from the bottom up; splices at the same line go in reverse of
	// the order they were made, so that they end up in that order.
	order := make([]int, len(ss))
	for i := range order {
		order[i] = len(ss) - 1 - i
	}
	sort.SliceStable(order, func(a, b int) bool { return ss[order[a]].start > ss[order[b]].start })
	for _, i := range order {
		s := ss[i]
		tail := append([]string(nil), out[s.end:]...)
		out = append(append(out[:s.start], s.repl...), tail...)
	}
	return out
}

func jsonSame(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
