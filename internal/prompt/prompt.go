// Package prompt is the registry of the versioned prompts sextant sends to
// language models.
//
// A prompt is a Markdown file with front matter:
//
//	---
//	id: action-summary
//	version: 1
//	description: Plain-language summary of one remediation action
//	schema: action-summary.v1
//	---
//	<!-- system -->
//	…instructions…
//	<!-- user -->
//	…a text/template over the data the caller renders ({{.Facts}})…
//
// The prompts that ship with sextant are embedded from prompts/*.md. An
// override directory may hold more: a file with the id and version of an
// embedded prompt replaces it, any other adds a version. Every explanation
// records the prompt's id, version and Hash, so an answer can always be
// traced to the exact text that produced it.
package prompt

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"github.com/sextant-dev/sextant"
)

//go:embed prompts/*.md
var embedded embed.FS

// Section markers in a prompt's content.
const (
	systemMarker = "<!-- system -->"
	userMarker   = "<!-- user -->"
)

// Prompt is one version of one prompt.
type Prompt struct {
	ID          string
	Version     int
	Description string
	// Schema names the shape of the answer the prompt asks for; the caller
	// knows the schema by this name.
	Schema string
	// Content is the text after the front matter: the system section and
	// the user template.
	Content string
	// Hash is the hex SHA-256 of Content.
	Hash string
	// Source is "embedded" or the path of the override file.
	Source string

	system string
	user   *template.Template
}

// Ref returns "id@version".
func (p Prompt) Ref() string { return p.ID + "@" + strconv.Itoa(p.Version) }

// System returns the system instructions.
func (p Prompt) System() string { return p.system }

// Render returns the system instructions and the user message, the user
// template executed over data.
func (p Prompt) Render(data any) (system, user string, err error) {
	if p.user == nil {
		return "", "", sextant.Errorf(sextant.EINTERNAL, "prompt %s was not loaded by a Registry", p.Ref())
	}
	var b strings.Builder
	if err := p.user.Execute(&b, data); err != nil {
		return "", "", fmt.Errorf("render prompt %s: %v", p.Ref(), err)
	}
	return p.system, b.String(), nil
}

// Registry holds every version of every prompt.
type Registry struct {
	byID map[string][]Prompt // versions in ascending order
}

// Load reads the embedded prompts and, if overrideDir is not "", the *.md
// files in it (not its subdirectories).
func Load(overrideDir string) (*Registry, error) {
	r := &Registry{byID: map[string][]Prompt{}}
	files, err := fs.Glob(embedded, "prompts/*.md")
	if err != nil {
		return nil, err
	}
	for _, name := range files {
		b, err := embedded.ReadFile(name)
		if err != nil {
			return nil, err
		}
		p, err := Parse(b)
		if err != nil {
			return nil, fmt.Errorf("embedded prompt %s: %v", name, err)
		}
		p.Source = "embedded"
		if err := r.add(p, false); err != nil {
			return nil, err
		}
	}
	if overrideDir == "" {
		return r, nil
	}
	entries, err := os.ReadDir(overrideDir)
	if err != nil {
		return nil, sextant.Errorf(sextant.EINVALID, "prompts directory: %v", err)
	}
	seen := map[string]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".md") {
			continue
		}
		path := filepath.Join(overrideDir, e.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, sextant.Errorf(sextant.EINVALID, "read prompt: %v", err)
		}
		p, err := Parse(b)
		if err != nil {
			return nil, sextant.Errorf(sextant.EINVALID, "prompt %s: %v", path, err)
		}
		p.Source = path
		if other, ok := seen[p.Ref()]; ok {
			return nil, sextant.Errorf(sextant.EINVALID, "prompt %s is defined twice: in %s and %s", p.Ref(), other, path)
		}
		seen[p.Ref()] = path
		if err := r.add(p, true); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (r *Registry) add(p Prompt, replace bool) error {
	vs := r.byID[p.ID]
	i, found := slices.BinarySearchFunc(vs, p.Version, func(q Prompt, v int) int { return q.Version - v })
	switch {
	case found && !replace:
		return fmt.Errorf("prompt %s is defined twice", p.Ref())
	case found:
		vs[i] = p
	default:
		vs = slices.Insert(vs, i, p)
	}
	r.byID[p.ID] = vs
	return nil
}

// Get returns the latest version of a prompt.
func (r *Registry) Get(id string) (Prompt, error) {
	vs := r.byID[id]
	if len(vs) == 0 {
		return Prompt{}, sextant.Errorf(sextant.ENOTFOUND, "no prompt %q (see 'sextant prompts list')", id)
	}
	return vs[len(vs)-1], nil
}

// GetVersion returns one version of a prompt.
func (r *Registry) GetVersion(id string, version int) (Prompt, error) {
	for _, p := range r.byID[id] {
		if p.Version == version {
			return p, nil
		}
	}
	if len(r.byID[id]) == 0 {
		return Prompt{}, sextant.Errorf(sextant.ENOTFOUND, "no prompt %q (see 'sextant prompts list')", id)
	}
	return Prompt{}, sextant.Errorf(sextant.ENOTFOUND, "prompt %q has no version %d", id, version)
}

// Lookup returns the prompt a reference names: "id" for the latest
// version, "id@version" for one version.
func (r *Registry) Lookup(ref string) (Prompt, error) {
	id, v, err := ParseRef(ref)
	if err != nil {
		return Prompt{}, err
	}
	if v == 0 {
		return r.Get(id)
	}
	return r.GetVersion(id, v)
}

// List returns every version of every prompt, by id, then version.
func (r *Registry) List() []Prompt {
	var out []Prompt
	for _, vs := range r.byID {
		out = append(out, vs...)
	}
	slices.SortFunc(out, func(a, b Prompt) int {
		if c := strings.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		return a.Version - b.Version
	})
	return out
}

// ParseRef splits "id@version" (version 0: none given).
func ParseRef(ref string) (id string, version int, err error) {
	id, vs, hasV := strings.Cut(strings.TrimSpace(ref), "@")
	if !idRE.MatchString(id) {
		return "", 0, sextant.Errorf(sextant.EINVALID, "bad prompt reference %q: want ID or ID@VERSION", ref)
	}
	if hasV {
		version, err = strconv.Atoi(strings.TrimPrefix(vs, "v"))
		if err != nil || version < 1 {
			return "", 0, sextant.Errorf(sextant.EINVALID, "bad prompt version in %q: want a positive integer", ref)
		}
	}
	return id, version, nil
}

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// Parse reads a prompt file: front matter, then the content.
func Parse(b []byte) (Prompt, error) {
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	if !strings.HasPrefix(s, "---\n") {
		return Prompt{}, fmt.Errorf("no front matter: the file must start with a --- line")
	}
	head, content, ok := strings.Cut(s[4:], "\n---\n")
	if !ok {
		return Prompt{}, fmt.Errorf("front matter is not closed by a --- line")
	}
	var p Prompt
	for n, line := range strings.Split(head, "\n") {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return Prompt{}, fmt.Errorf("front matter line %d: want key: value", n+2)
		}
		v = strings.Trim(strings.TrimSpace(v), `"'`)
		switch strings.TrimSpace(k) {
		case "id":
			p.ID = v
		case "version":
			ver, err := strconv.Atoi(v)
			if err != nil || ver < 1 {
				return Prompt{}, fmt.Errorf("front matter line %d: version must be a positive integer", n+2)
			}
			p.Version = ver
		case "description":
			p.Description = v
		case "schema":
			p.Schema = v
		default:
			return Prompt{}, fmt.Errorf("front matter line %d: unknown key %q (want id, version, description, schema)", n+2, strings.TrimSpace(k))
		}
	}
	switch {
	case !idRE.MatchString(p.ID):
		return Prompt{}, fmt.Errorf("front matter: id %q must be lower-case letters, digits, '.', '_' or '-'", p.ID)
	case p.Version == 0:
		return Prompt{}, fmt.Errorf("front matter: no version")
	case p.Schema == "":
		return Prompt{}, fmt.Errorf("front matter: no schema")
	}
	p.Content = content
	sum := sha256.Sum256([]byte(content))
	p.Hash = hex.EncodeToString(sum[:])

	si := strings.Index(content, systemMarker)
	ui := strings.Index(content, userMarker)
	if si < 0 || ui < 0 || ui < si {
		return Prompt{}, fmt.Errorf("content needs a %s section followed by a %s section", systemMarker, userMarker)
	}
	p.system = strings.TrimSpace(content[si+len(systemMarker) : ui])
	userText := strings.TrimSpace(content[ui+len(userMarker):])
	t, err := template.New(p.Ref()).Option("missingkey=error").Parse(userText)
	if err != nil {
		return Prompt{}, fmt.Errorf("user template: %v", err)
	}
	p.user = t
	return p, nil
}
