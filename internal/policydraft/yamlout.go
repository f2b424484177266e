package policydraft

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// toYAML writes v as YAML with the fields in the order its JSON encoding
// has them, except that the keys of keyOrder come first, in that order
// (apiVersion, kind, metadata, spec…), as people write manifests;
// sigs.k8s.io/yaml would sort them all. Strings that YAML could read as
// something else are double-quoted.
func toYAML(v any) ([]byte, error) {
	var j bytes.Buffer
	enc := json.NewEncoder(&j)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(&j)
	dec.UseNumber()
	n, err := readNode(dec)
	if err != nil {
		return nil, err
	}
	reorder(n)
	var out bytes.Buffer
	writeNode(&out, n, 0, false)
	return out.Bytes(), nil
}

// keyOrder lists keys that come first in a mapping, in this order.
var keyOrder = []string{"apiVersion", "kind", "metadata", "spec", "policyName", "failurePolicy", "validationActions",
	"matchConstraints", "matchResources", "variables", "validations", "apiGroups", "apiVersions", "operations", "resources"}

// reorder moves the keys of keyOrder first in every mapping of n.
func reorder(n *ynode) {
	for _, v := range append(n.vals, n.items...) {
		reorder(v)
	}
	if !n.isObj {
		return
	}
	rank := func(k string) int {
		for i, o := range keyOrder {
			if o == k {
				return i
			}
		}
		return len(keyOrder)
	}
	idx := make([]int, len(n.keys))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return rank(n.keys[idx[a]]) < rank(n.keys[idx[b]]) })
	keys, vals := make([]string, len(idx)), make([]*ynode, len(idx))
	for i, j := range idx {
		keys[i], vals[i] = n.keys[j], n.vals[j]
	}
	n.keys, n.vals = keys, vals
}

// ynode is a JSON value with its object keys in order.
type ynode struct {
	keys   []string
	vals   []*ynode
	items  []*ynode
	isObj  bool
	isArr  bool
	scalar string // YAML text of a scalar
}

func readNode(dec *json.Decoder) (*ynode, error) {
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch x := t.(type) {
	case json.Delim:
		switch x {
		case '{':
			n := &ynode{isObj: true}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("object key %v", kt)
				}
				v, err := readNode(dec)
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, k)
				n.vals = append(n.vals, v)
			}
			_, err := dec.Token()
			return n, err
		case '[':
			n := &ynode{isArr: true}
			for dec.More() {
				v, err := readNode(dec)
				if err != nil {
					return nil, err
				}
				n.items = append(n.items, v)
			}
			_, err := dec.Token()
			return n, err
		}
		return nil, fmt.Errorf("unexpected %v", x)
	case string:
		return &ynode{scalar: yamlString(x)}, nil
	case json.Number:
		return &ynode{scalar: x.String()}, nil
	case bool:
		return &ynode{scalar: fmt.Sprint(x)}, nil
	case nil:
		return &ynode{scalar: "null"}, nil
	}
	return nil, fmt.Errorf("unexpected token %v", t)
}

// writeNode writes n at indent; inItem says the first line continues a
// "- " already written.
func writeNode(w io.Writer, n *ynode, indent int, inItem bool) {
	pad := strings.Repeat(" ", indent)
	switch {
	case n.isObj:
		for i, k := range n.keys {
			if i > 0 || !inItem {
				io.WriteString(w, pad)
			}
			v := n.vals[i]
			io.WriteString(w, yamlString(k)+":")
			switch {
			case v.isObj && len(v.keys) > 0:
				io.WriteString(w, "\n")
				writeNode(w, v, indent+2, false)
			case v.isArr && len(v.items) > 0:
				io.WriteString(w, "\n")
				writeNode(w, v, indent, false)
			default:
				io.WriteString(w, " "+scalarText(v)+"\n")
			}
		}
	case n.isArr:
		for _, it := range n.items {
			io.WriteString(w, pad+"- ")
			switch {
			case it.isObj && len(it.keys) > 0:
				writeNode(w, it, indent+2, true)
			case it.isArr && len(it.items) > 0:
				io.WriteString(w, "\n")
				writeNode(w, it, indent+2, false)
			default:
				io.WriteString(w, scalarText(it)+"\n")
			}
		}
	default:
		io.WriteString(w, pad+n.scalar+"\n")
	}
}

func scalarText(n *ynode) string {
	switch {
	case n.isObj:
		return "{}"
	case n.isArr:
		return "[]"
	}
	return n.scalar
}

var (
	// yamlSpecialRE matches plain scalars YAML 1.1 or 1.2 could read as
	// something other than a string: booleans, nulls, and anything that
	// starts like a number (hex, octal, binary, sexagesimal, floats).
	yamlSpecialRE = regexp.MustCompile(`^(?i:y|n|yes|no|on|off|true|false|null|~|[-+.0-9].*)$`)
	plainRE       = regexp.MustCompile(`^[A-Za-z0-9_=(/.$][A-Za-z0-9 _=()/.$,;:'+-]*$`)
)

// yamlString returns s as a YAML scalar: plain when that reads back as
// the same string, else double-quoted (JSON's quoting, which YAML reads).
func yamlString(s string) string {
	if plainRE.MatchString(s) && !yamlSpecialRE.MatchString(s) && !strings.Contains(s, ": ") &&
		!strings.HasSuffix(s, ":") && !strings.HasSuffix(s, " ") && !strings.Contains(s, " #") && !strings.Contains(s, "  ") {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r >= 0x20 && r <= 0x7e, r >= 0xa0 && r <= 0xd7ff, r >= 0xe000 && r <= 0xfffd && r != 0xfeff, r >= 0x10000 && r <= 0x10ffff:
			// YAML's printable characters.
			b.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
