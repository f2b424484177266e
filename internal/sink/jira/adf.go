package jira

// Atlassian Document Format, the rich-text JSON of Jira Cloud's REST API
// v3. Untrusted text only ever lands in the text of a text node or a code
// block, where JSON encoding keeps it from changing the document's
// structure. The rules Jira enforces: the doc has version 1; a text node has
// non-empty text (the renderer sends no node rather than ""); marks go on
// text nodes; list items hold paragraphs.

// adfDoc is the root node.
type adfDoc struct {
	Type    string    `json:"type"`
	Version int       `json:"version"`
	Content []adfNode `json:"content"`
}

type adfNode struct {
	Type    string         `json:"type"`
	Attrs   map[string]any `json:"attrs,omitempty"`
	Content []adfNode      `json:"content,omitempty"`
	Text    string         `json:"text,omitempty"`
	Marks   []adfMark      `json:"marks,omitempty"`
}

type adfMark struct {
	Type  string            `json:"type"`
	Attrs map[string]string `json:"attrs,omitempty"`
}

// CodeLanguage is the language of the code blocks that hold fix commands.
const CodeLanguage = "bash"

// render renders a document in the flavor's format: an ADF document on
// Cloud, a wiki markup string on Data Center.
func render(f Flavor, doc []block) any {
	if f == Cloud {
		return renderADF(doc)
	}
	return renderWiki(doc)
}

func renderADF(doc []block) adfDoc {
	out := adfDoc{Type: "doc", Version: 1, Content: []adfNode{}}
	for _, b := range doc {
		switch b.kind {
		case paragraph:
			if in := adfInline(b.spans); len(in) > 0 {
				out.Content = append(out.Content, adfNode{Type: "paragraph", Content: in})
			}
		case heading:
			if in := adfInline(b.spans); len(in) > 0 {
				out.Content = append(out.Content, adfNode{Type: "heading", Attrs: map[string]any{"level": 3}, Content: in})
			}
		case bullets:
			var items []adfNode
			for _, it := range b.items {
				if in := adfInline(it); len(in) > 0 {
					items = append(items, adfNode{Type: "listItem", Content: []adfNode{{Type: "paragraph", Content: in}}})
				}
			}
			if len(items) > 0 {
				out.Content = append(out.Content, adfNode{Type: "bulletList", Content: items})
			}
		case codeBlock:
			if b.code != "" {
				out.Content = append(out.Content, adfNode{
					Type:    "codeBlock",
					Attrs:   map[string]any{"language": CodeLanguage},
					Content: []adfNode{{Type: "text", Text: b.code}},
				})
			}
		}
	}
	return out
}

// adfInline renders spans as text nodes, leaving out empty ones.
func adfInline(spans []span) []adfNode {
	var out []adfNode
	for _, s := range spans {
		if s.text == "" {
			continue
		}
		n := adfNode{Type: "text", Text: s.text}
		switch s.style {
		case strong:
			n.Marks = []adfMark{{Type: "strong"}}
		case em:
			n.Marks = []adfMark{{Type: "em"}}
		case code:
			n.Marks = []adfMark{{Type: "code"}}
		case link:
			n.Marks = []adfMark{{Type: "link", Attrs: map[string]string{"href": s.href}}}
		}
		out = append(out, n)
	}
	return out
}
