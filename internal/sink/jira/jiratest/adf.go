package jiratest

import (
	"fmt"
	"strings"
)

// CheckADF checks a decoded JSON value (from encoding/json into any) as Jira
// Cloud checks an Atlassian Document Format document: a "doc" of version
// 1 whose content is block nodes, paragraphs and headings holding inline
// nodes, lists holding list items that start with a paragraph, code blocks
// holding unmarked text, text nodes with non-empty text, marks on text
// nodes only (a code mark with no other mark but link), and a link mark
// with an href.
func CheckADF(v any) error {
	doc, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("ADF: want a document object, got %T", v)
	}
	if doc["type"] != "doc" {
		return fmt.Errorf("ADF: root type is %v, want doc", doc["type"])
	}
	if ver, ok := doc["version"].(float64); !ok || ver != 1 {
		return fmt.Errorf("ADF: version is %v, want 1", doc["version"])
	}
	content, ok := doc["content"].([]any)
	if !ok {
		return fmt.Errorf("ADF: doc content is %T, want an array", doc["content"])
	}
	for i, n := range content {
		if err := checkNode(n, "doc", fmt.Sprintf("content[%d]", i)); err != nil {
			return err
		}
	}
	return nil
}

var (
	blockTypes  = map[string]bool{"paragraph": true, "heading": true, "bulletList": true, "orderedList": true, "codeBlock": true, "blockquote": true, "rule": true, "panel": true}
	inlineTypes = map[string]bool{"text": true, "hardBreak": true, "mention": true, "emoji": true, "inlineCard": true}
	markTypes   = map[string]bool{"strong": true, "em": true, "code": true, "link": true, "strike": true, "underline": true, "subsup": true, "textColor": true}
)

func checkNode(v any, parent, at string) error {
	n, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("ADF %s: node is %T, want an object", at, v)
	}
	typ, _ := n["type"].(string)
	if typ == "" {
		return fmt.Errorf("ADF %s: node without a type", at)
	}
	at += "(" + typ + ")"
	switch parent {
	case "doc", "blockquote", "panel":
		if !blockTypes[typ] {
			return fmt.Errorf("ADF %s: %s in %s, want a block node", at, typ, parent)
		}
	case "paragraph", "heading":
		if !inlineTypes[typ] {
			return fmt.Errorf("ADF %s: %s in %s, want an inline node", at, typ, parent)
		}
	case "bulletList", "orderedList":
		if typ != "listItem" {
			return fmt.Errorf("ADF %s: %s in %s, want listItem", at, typ, parent)
		}
	case "listItem":
		if typ != "paragraph" && typ != "bulletList" && typ != "orderedList" && typ != "codeBlock" {
			return fmt.Errorf("ADF %s: %s in listItem, want paragraph, list or codeBlock", at, typ)
		}
	case "codeBlock":
		if typ != "text" {
			return fmt.Errorf("ADF %s: %s in codeBlock, want text", at, typ)
		}
	}
	if _, has := n["marks"]; has && typ != "text" {
		return fmt.Errorf("ADF %s: marks on a %s node", at, typ)
	}
	content, hasContent := n["content"]
	var children []any
	if hasContent {
		if children, ok = content.([]any); !ok {
			return fmt.Errorf("ADF %s: content is %T, want an array", at, content)
		}
	}
	switch typ {
	case "text":
		s, ok := n["text"].(string)
		if !ok || s == "" {
			return fmt.Errorf("ADF %s: a text node must have non-empty text", at)
		}
		if hasContent {
			return fmt.Errorf("ADF %s: a text node has no content", at)
		}
		if err := checkMarks(n["marks"], parent, at); err != nil {
			return err
		}
	case "heading":
		attrs, _ := n["attrs"].(map[string]any)
		if l, ok := attrs["level"].(float64); !ok || l < 1 || l > 6 || l != float64(int(l)) {
			return fmt.Errorf("ADF %s: heading level is %v, want 1 to 6", at, attrs["level"])
		}
	case "bulletList", "orderedList":
		if len(children) == 0 {
			return fmt.Errorf("ADF %s: a list needs at least one item", at)
		}
	case "listItem":
		if len(children) == 0 {
			return fmt.Errorf("ADF %s: a list item needs content", at)
		}
		if first, _ := children[0].(map[string]any); first["type"] != "paragraph" {
			return fmt.Errorf("ADF %s: a list item starts with a paragraph", at)
		}
	}
	for i, c := range children {
		if err := checkNode(c, typ, fmt.Sprintf("%s.content[%d]", at, i)); err != nil {
			return err
		}
	}
	return nil
}

func checkMarks(v any, parent, at string) error {
	if v == nil {
		return nil
	}
	marks, ok := v.([]any)
	if !ok {
		return fmt.Errorf("ADF %s: marks is %T, want an array", at, v)
	}
	if parent == "codeBlock" && len(marks) > 0 {
		return fmt.Errorf("ADF %s: text in a codeBlock has no marks", at)
	}
	seen := map[string]bool{}
	for _, m := range marks {
		mm, ok := m.(map[string]any)
		if !ok {
			return fmt.Errorf("ADF %s: mark is %T, want an object", at, m)
		}
		typ, _ := mm["type"].(string)
		if !markTypes[typ] {
			return fmt.Errorf("ADF %s: unknown mark %q", at, typ)
		}
		if seen[typ] {
			return fmt.Errorf("ADF %s: mark %s twice", at, typ)
		}
		seen[typ] = true
		if typ == "link" {
			attrs, _ := mm["attrs"].(map[string]any)
			if href, _ := attrs["href"].(string); href == "" {
				return fmt.Errorf("ADF %s: a link mark needs attrs.href", at)
			}
		}
	}
	if seen["code"] {
		for typ := range seen {
			if typ != "code" && typ != "link" {
				return fmt.Errorf("ADF %s: the code mark combines only with link, not %s", at, typ)
			}
		}
	}
	return nil
}

// Text returns the text of a description or comment: a wiki markup string
// as it is, an ADF document's text with one line per block or list item.
func Text(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	var lines []string
	var walk func(v any, line *strings.Builder)
	walk = func(v any, line *strings.Builder) {
		n, _ := v.(map[string]any)
		if n == nil {
			return
		}
		switch n["type"] {
		case "text":
			s, _ := n["text"].(string)
			line.WriteString(s)
			return
		case "hardBreak":
			line.WriteByte('\n')
			return
		}
		children, _ := n["content"].([]any)
		switch n["type"] {
		case "paragraph", "heading", "codeBlock":
			var b strings.Builder
			for _, c := range children {
				walk(c, &b)
			}
			lines = append(lines, b.String())
		default:
			for _, c := range children {
				walk(c, line)
			}
		}
	}
	walk(v, &strings.Builder{})
	return strings.Join(lines, "\n")
}
