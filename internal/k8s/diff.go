package k8s

import (
	"bytes"
	"encoding/json"
	"github.com/sextant-dev/sextant/internal/udiff"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/sextant-dev/sextant"
)

// ObjectFix is one fix for one object of a manifest file.
type ObjectFix struct {
	Object *Object
	Fix    *Fix
}

// yline is one line of a file: its text and its line ending ("\n",
// "\r\n", or "" for a last line without one).
type yline struct {
	text, eol string
}

// ydoc is one YAML document of a file: lines [start, end), after its "---"
// line if it has one.
type ydoc struct {
	start, end int
	json       []byte // nil for an empty document
	cur        []byte // the JSON with the fixes applied so far
	fixed      map[*Object]bool
}

func splitLines(content []byte) []yline {
	var out []yline
	s := string(content)
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			out = append(out, yline{text: s})
			break
		}
		l := s[:i]
		eol := "\n"
		if strings.HasSuffix(l, "\r") {
			l, eol = l[:len(l)-1], "\r\n"
		}
		out = append(out, yline{text: l, eol: eol})
		s = s[i+1:]
	}
	return out
}

// isDocMarker reports whether a line starts or ends a YAML document.
func isDocMarker(l string) bool {
	for _, m := range []string{"---", "..."} {
		if l == m || strings.HasPrefix(l, m+" ") || strings.HasPrefix(l, m+"\t") {
			return true
		}
	}
	return false
}

// ApplyToFile returns the manifest file with every fix applied by editing
// its YAML text: comments, key order, quoting, blank lines and the documents
// without fixes stay as they were; only the lines of values that change are
// rewritten, in the file's own indentation and line endings. A fix that
// creates an object (see CreatesObject) is appended as a new document. Each
// object is found by its document (Source.Doc and, in a List, Source.Item)
// and checked against its JSON; several fixes of one object are applied in
// order, and an "add" of a mapping or list that an earlier fix of the object
// already created merges into it instead of replacing it. A document the
// editor cannot change in place (flow style at its root, anchors that a
// change would break) is rewritten whole from the patched object.
func ApplyToFile(content []byte, fixes []ObjectFix) ([]byte, error) {
	lines := splitLines(content)
	eol := "\n"
	if len(lines) > 0 && lines[0].eol == "\r\n" {
		eol = "\r\n"
	}
	var docs []*ydoc
	start := 0
	bom := ""
	if len(lines) > 0 && strings.HasPrefix(lines[0].text, "\ufeff") {
		bom = "\ufeff"
		lines[0].text = strings.TrimPrefix(lines[0].text, bom)
	}
	for i, l := range lines {
		if isDocMarker(l.text) {
			if strings.TrimSpace(strings.TrimLeft(l.text, "-.")) != "" && !strings.HasPrefix(strings.TrimSpace(l.text[3:]), "#") {
				return nil, sextant.Errorf(sextant.EINVALID, "edit manifest: content on the document marker at line %d is not supported", i+1)
			}
			docs = append(docs, &ydoc{start: start, end: i})
			start = i + 1
		}
	}
	docs = append(docs, &ydoc{start: start, end: len(lines)})
	for _, d := range docs {
		var b strings.Builder
		for _, l := range lines[d.start:d.end] {
			b.WriteString(l.text)
			b.WriteByte('\n')
		}
		j, err := yaml.YAMLToJSON([]byte(b.String()))
		if err != nil {
			return nil, sextant.Errorf(sextant.EINVALID, "edit manifest: document at line %d: %v", d.start+1, err)
		}
		if !bytes.Equal(j, []byte("null")) {
			d.json, d.cur = j, j
		}
	}

	var created [][]byte
	for _, of := range fixes {
		if of.Object == nil || of.Fix == nil {
			continue
		}
		if CreatesObject(of.Fix) {
			j, err := ApplyFix(of.Object, of.Fix)
			if err != nil {
				return nil, err
			}
			dup := false
			for _, c := range created {
				dup = dup || jsonSame(c, j)
			}
			if !dup {
				created = append(created, j)
			}
			continue
		}
		d, prefix, err := findDoc(docs, of.Object)
		if err != nil {
			return nil, err
		}
		ops := of.Fix.Ops
		if d.fixed[of.Object] {
			ops = mergeAdds(d.cur, prefix, ops)
		}
		prefixed := make([]PatchOp, len(ops))
		for i, op := range ops {
			prefixed[i] = op
			prefixed[i].Path = prefix + op.Path
			if op.Op == "move" || op.Op == "copy" {
				return nil, sextant.Errorf(sextant.EINVALID, "edit manifest: %s: %s operations are not supported", of.Object.Ref(), op.Op)
			}
		}
		cur, err := applyOps(d.cur, prefixed, of.Object.Ref().String())
		if err != nil {
			return nil, err
		}
		d.cur = cur
		if d.fixed == nil {
			d.fixed = map[*Object]bool{}
		}
		d.fixed[of.Object] = true
	}

	var out strings.Builder
	out.WriteString(bom)
	write := func(ls []yline) {
		for _, l := range ls {
			out.WriteString(l.text)
			out.WriteString(l.eol)
		}
	}
	for k, d := range docs {
		if k > 0 {
			write(lines[d.start-1 : d.start])
		}
		if d.json == nil || jsonSame(d.json, d.cur) {
			write(lines[d.start:d.end])
			continue
		}
		text := make([]string, d.end-d.start)
		for i, l := range lines[d.start:d.end] {
			text[i] = l.text
		}
		edited, ok := editDocument(text, d.json, d.cur)
		if !ok {
			// Keep the comments that open the document; render the rest.
			p := &yparser{lines: text, end: len(text)}
			head := p.next(0)
			r, err := renderDocument(d.cur, yamlStyle{mapStep: 2, seqOffset: 0})
			if err != nil {
				return nil, sextant.Errorf(sextant.EINTERNAL, "edit manifest: render document at line %d: %v", d.start+1, err)
			}
			edited = append(append([]string(nil), text[:head]...), r...)
			back, err := yaml.YAMLToJSON([]byte(strings.Join(edited, "\n")))
			if err != nil || !jsonSame(back, d.cur) {
				return nil, sextant.Errorf(sextant.EINTERNAL, "edit manifest: document at line %d cannot be written back faithfully", d.start+1)
			}
		}
		// Unchanged lines keep their own endings; new lines take the
		// file's.
		last := d.end - 1
		for i, t := range edited {
			e := eol
			if i < len(text) && t == text[i] {
				e = lines[d.start+i].eol
			}
			if i < len(edited)-1 && e == "" {
				e = eol
			}
			if i == len(edited)-1 && last >= d.start && lines[last].eol == "" {
				e = ""
			}
			out.WriteString(t)
			out.WriteString(e)
		}
	}
	for _, c := range created {
		s := out.String()
		if s != "" && !strings.HasSuffix(s, "\n") {
			out.WriteString(eol)
		}
		out.WriteString("---" + eol)
		r, err := renderDocument(c, yamlStyle{mapStep: 2, seqOffset: 0})
		if err != nil {
			return nil, sextant.Errorf(sextant.EINTERNAL, "edit manifest: render new object: %v", err)
		}
		for _, l := range r {
			out.WriteString(l + eol)
		}
	}
	return []byte(out.String()), nil
}

// findDoc finds the document (and, in a List, the JSON Pointer prefix of
// the item) that holds o: the one its Source names when its JSON matches,
// else the first whose JSON matches o.Raw.
func findDoc(docs []*ydoc, o *Object) (*ydoc, string, error) {
	match := func(d *ydoc) (string, bool) {
		if d.json == nil {
			return "", false
		}
		if len(o.Raw) == 0 || jsonSame(d.json, o.Raw) {
			return "", len(o.Raw) > 0 || o.Source.Item < 0
		}
		var list struct {
			Kind  string            `json:"kind"`
			Items []json.RawMessage `json:"items"`
		}
		if json.Unmarshal(d.json, &list) != nil || !strings.HasSuffix(list.Kind, "List") {
			return "", false
		}
		if i := o.Source.Item; i >= 0 && i < len(list.Items) && jsonSame(list.Items[i], o.Raw) {
			return "/items/" + strconv.Itoa(i), true
		}
		for i, it := range list.Items {
			if jsonSame(it, o.Raw) {
				return "/items/" + strconv.Itoa(i), true
			}
		}
		return "", false
	}
	// Documents already patched no longer match the object's JSON; an
	// object already fixed in this run is found where it was.
	for _, d := range docs {
		if d.fixed[o] {
			p, _ := matchFixedPrefix(d, o)
			return d, p, nil
		}
	}
	if i := o.Source.Doc; i >= 0 && i < len(docs) {
		if p, ok := match(docs[i]); ok {
			return docs[i], p, nil
		}
	}
	for _, d := range docs {
		if p, ok := match(d); ok {
			return d, p, nil
		}
	}
	return nil, "", sextant.Errorf(sextant.EINVALID, "edit manifest: %s (document %d) is not in the file", o.Ref(), o.Source.Doc)
}

// matchFixedPrefix finds the List prefix of an object fixed before.
func matchFixedPrefix(d *ydoc, o *Object) (string, bool) {
	var list struct {
		Kind  string            `json:"kind"`
		Items []json.RawMessage `json:"items"`
	}
	if json.Unmarshal(d.json, &list) != nil || !strings.HasSuffix(list.Kind, "List") || jsonSame(d.json, o.Raw) {
		return "", true
	}
	for i, it := range list.Items {
		if jsonSame(it, o.Raw) {
			return "/items/" + strconv.Itoa(i), true
		}
	}
	return "", false
}

// mergeAdds rewrites "add" operations whose target an earlier fix already
// created: a mapping is merged key by key, a list gets the new elements
// appended, so that two fixes that both create a securityContext keep both
// settings.
func mergeAdds(doc []byte, prefix string, ops []PatchOp) []PatchOp {
	var root any
	if json.Unmarshal(doc, &root) != nil {
		return ops
	}
	var out []PatchOp
	var expand func(op PatchOp)
	expand = func(op PatchOp) {
		if op.Op != "add" {
			out = append(out, op)
			return
		}
		existing, ok := jsonPointerGet(root, prefix+op.Path)
		if !ok {
			out = append(out, op)
			return
		}
		vb, err := json.Marshal(op.Value)
		if err != nil {
			out = append(out, op)
			return
		}
		var v any
		_ = json.Unmarshal(vb, &v)
		switch ev := existing.(type) {
		case map[string]any:
			nv, ok := v.(map[string]any)
			if !ok {
				out = append(out, op)
				return
			}
			keys := make([]string, 0, len(nv))
			for k := range nv {
				keys = append(keys, k)
			}
			sortStrings(keys)
			for _, k := range keys {
				expand(PatchOp{Op: "add", Path: op.Path + "/" + escapePointer(k), Value: nv[k]})
			}
			_ = ev
		case []any:
			nv, ok := v.([]any)
			if !ok {
				out = append(out, op)
				return
			}
			for _, x := range nv {
				if !containsJSON(ev, x) {
					out = append(out, PatchOp{Op: "add", Path: op.Path + "/-", Value: x})
				}
			}
		default:
			out = append(out, op)
		}
	}
	for _, op := range ops {
		expand(op)
	}
	return out
}

func containsJSON(list []any, x any) bool {
	xb, _ := json.Marshal(x)
	for _, y := range list {
		yb, _ := json.Marshal(y)
		if bytes.Equal(xb, yb) {
			return true
		}
	}
	return false
}

func sortStrings(ss []string) {
	for i := 1; i < len(ss); i++ {
		for j := i; j > 0 && ss[j] < ss[j-1]; j-- {
			ss[j], ss[j-1] = ss[j-1], ss[j]
		}
	}
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// jsonPointerGet returns the value at an RFC 6901 pointer.
func jsonPointerGet(v any, ptr string) (any, bool) {
	if ptr == "" {
		return v, true
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, false
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[tok]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// FileDiff returns a unified diff (as "diff -u", "git diff" and "patch -p1"
// read it) from the manifest file to the file with every fix applied, as
// ApplyToFile edits it; "" when nothing changes. name is the file's path
// relative to where the diff will be applied; it appears as a/name and
// b/name.
func FileDiff(name string, content []byte, fixes []ObjectFix) (string, error) {
	if name == "" || strings.ContainsAny(name, "\n\r\t\x00") {
		return "", sextant.Errorf(sextant.EINVALID, "diff: bad file name %q", name)
	}
	name = strings.TrimLeft(strings.TrimPrefix(name, "./"), "/")
	fixed, err := ApplyToFile(content, fixes)
	if err != nil {
		return "", err
	}
	return udiff.Unified("a/"+name, "b/"+name, udiff.Lines(string(content)), udiff.Lines(string(fixed))), nil
}
