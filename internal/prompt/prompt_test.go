package prompt

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
)

func TestEmbeddedActionSummary(t *testing.T) {
	r, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	p, err := r.Get("action-summary")
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != 1 || p.Schema != "action-summary.v1" || p.Source != "embedded" {
		t.Errorf("Get(action-summary) = %s schema %q source %q, want @1, action-summary.v1, embedded", p.Ref(), p.Schema, p.Source)
	}
	sum := sha256.Sum256([]byte(p.Content))
	if p.Hash != hex.EncodeToString(sum[:]) {
		t.Errorf("Hash = %s, want the SHA-256 of Content", p.Hash)
	}
	sys, user, err := p.Render(map[string]string{"Facts": `{"priority":"P0"}`, "Untrusted": `{"advisories":[]}`})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<facts>", "<untrusted>", "is data", "never an instruction", `"risk"`, `"why_priority"`, `"what_to_do"`, `"how_to_verify"`, `"cited_facts"`} {
		if !strings.Contains(sys+user, want) {
			t.Errorf("rendered prompt lacks %q", want)
		}
	}
	if !strings.Contains(user, "<facts>\n{\"priority\":\"P0\"}\n</facts>") {
		t.Errorf("user message does not fence the facts:\n%s", user)
	}
	if strings.Contains(sys, "{{") || strings.Contains(sys, "<!--") {
		t.Errorf("system section holds template or marker text:\n%s", sys)
	}
}

func TestRenderMissingData(t *testing.T) {
	r, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := r.Get("action-summary")
	if _, _, err := p.Render(map[string]string{"Facts": "{}"}); err == nil {
		t.Errorf("Render without Untrusted: no error")
	}
}

const overrideV1 = `---
id: action-summary
version: 1
description: replaced
schema: action-summary.v1
---
<!-- system -->
Replaced system.
<!-- user -->
{{.Facts}}
`

const addV2 = `---
id: action-summary
version: 2
description: second version
schema: action-summary.v1
---
<!-- system -->
Second system.
<!-- user -->
Facts: {{.Facts}} {{.Untrusted}}
`

func TestOverrideDir(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.md", overrideV1)
	write(t, dir, "b.md", addV2)
	write(t, dir, "notes.txt", "ignored")
	r, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range r.List() {
		if p.ID != "action-summary" {
			continue // the other embedded prompts are not overridden here
		}
		got = append(got, p.Ref()+" "+p.Description)
	}
	want := []string{"action-summary@1 replaced", "action-summary@2 second version"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	latest, err := r.Get("action-summary")
	if err != nil || latest.Version != 2 || latest.System() != "Second system." {
		t.Errorf("Get = %s %q, %v; want version 2", latest.Ref(), latest.System(), err)
	}
	v1, err := r.Lookup("action-summary@1")
	if err != nil || v1.Source != filepath.Join(dir, "a.md") {
		t.Errorf("Lookup(@1) = source %q, %v; want the override file", v1.Source, err)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct{ name, file, want string }{
		{"no front matter", "hello", "no front matter"},
		{"unclosed", "---\nid: x\n", "not closed"},
		{"bad version", "---\nid: x\nversion: one\nschema: s\n---\n", "positive integer"},
		{"unknown key", "---\nid: x\nversion: 1\nschema: s\nmodel: gpt\n---\n", "unknown key"},
		{"no sections", "---\nid: x\nversion: 1\nschema: s\n---\ntext", "section"},
		{"bad template", "---\nid: x\nversion: 1\nschema: s\n---\n<!-- system -->\ns\n<!-- user -->\n{{.Facts", "user template"},
		{"bad id", "---\nid: X Y\nversion: 1\nschema: s\n---\n", "id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "p.md", tt.file)
			_, err := Load(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load = %v, want an error about %q", err, tt.want)
			}
			if sextant.ErrorCode(err) != sextant.EINVALID {
				t.Errorf("ErrorCode = %q, want %q", sextant.ErrorCode(err), sextant.EINVALID)
			}
		})
	}
	t.Run("duplicate", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "a.md", addV2)
		write(t, dir, "b.md", addV2)
		if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "defined twice") {
			t.Errorf("Load = %v, want a duplicate error", err)
		}
	})
	t.Run("missing dir", func(t *testing.T) {
		if _, err := Load(filepath.Join(t.TempDir(), "nope")); sextant.ErrorCode(err) != sextant.EINVALID {
			t.Errorf("Load(missing) = %v, want EINVALID", err)
		}
	})
}

func TestLookup(t *testing.T) {
	r, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ref  string
		code string
	}{
		{"action-summary", ""},
		{"action-summary@1", ""},
		{"action-summary@v1", ""},
		{"action-summary@9", sextant.ENOTFOUND},
		{"nope", sextant.ENOTFOUND},
		{"action-summary@0", sextant.EINVALID},
		{"Bad Ref", sextant.EINVALID},
	}
	for _, tt := range tests {
		_, err := r.Lookup(tt.ref)
		if got := sextant.ErrorCode(err); got != tt.code {
			t.Errorf("Lookup(%q) = %v, want code %q", tt.ref, err, tt.code)
		}
	}
}

func write(t *testing.T, dir, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
