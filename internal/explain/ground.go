package explain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Answer is the structured answer of the action-summary prompt.
type Answer struct {
	Risk        string   `json:"risk"`
	WhyPriority string   `json:"why_priority"`
	WhatToDo    string   `json:"what_to_do"`
	HowToVerify string   `json:"how_to_verify"`
	CitedFacts  []string `json:"cited_facts"`
}

// answerSchema is the JSON Schema of Answer, sent to providers that can
// constrain their output to it (schema name "action-summary.v1").
const answerSchema = `{
  "type": "object",
  "additionalProperties": false,
  "required": ["risk", "why_priority", "what_to_do", "how_to_verify", "cited_facts"],
  "properties": {
    "risk": {"type": "string"},
    "why_priority": {"type": "string"},
    "what_to_do": {"type": "string"},
    "how_to_verify": {"type": "string"},
    "cited_facts": {"type": "array", "items": {"type": "string"}}
  }
}`

// schemas maps the schema names prompts declare to their JSON Schemas.
var schemas = map[string]json.RawMessage{
	"action-summary.v1": json.RawMessage(answerSchema),
}

// Reasons an answer is rejected. Each entry of Explanation.Rejected starts
// with one, then ": " and what was wrong.
const (
	RejectModelError       = "model_error"        // the provider failed
	RejectMalformed        = "malformed_json"     // not one JSON object of the schema
	RejectSchema           = "schema"             // a field is missing or empty
	RejectUnknownFact      = "unknown_fact"       // cites a fact key that was not sent
	RejectUngroundedID     = "ungrounded_id"      // a CVE/GHSA ID not in the facts
	RejectUngroundedVer    = "ungrounded_version" // a version not in the facts
	RejectUngroundedPkg    = "ungrounded_package" // a package name not in the facts
	RejectUngroundedCmd    = "ungrounded_command" // a command not in the plan
	RejectPriority         = "priority_changed"   // names another priority
	RejectDecisionOverride = "decision_override"  // dismisses, approves or calls it benign
)

// parseAnswer decodes a model's text into an Answer. A Markdown code fence
// around the object is tolerated; anything else is not.
func parseAnswer(text string) (Answer, error) {
	t := strings.TrimSpace(text)
	if strings.HasPrefix(t, "```") {
		t = strings.TrimPrefix(t, "```json")
		t = strings.TrimPrefix(t, "```")
		t = strings.TrimSuffix(strings.TrimSpace(t), "```")
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(t)))
	dec.DisallowUnknownFields()
	var a Answer
	if err := dec.Decode(&a); err != nil {
		return Answer{}, fmt.Errorf("%v", err)
	}
	if dec.More() {
		return Answer{}, fmt.Errorf("text after the JSON object")
	}
	return a, nil
}

var (
	// vulnIDRE finds the advisory identifiers an answer might name.
	vulnIDRE = regexp.MustCompile(`(?i)\b(?:CVE-\d{4}-\d{4,}|GHSA(?:-[23456789cfghjmpqrvwx]{4}){3})\b`)
	// versionRE finds version-like tokens: dotted numbers with an optional
	// suffix ("2.17.1", "3.0.13-1~deb12u1", "1.2.13.dfsg-1"). Numbers such
	// as scores and probabilities ("77.5", "0.247") match too, and must
	// come from the facts just the same.
	versionRE = regexp.MustCompile(`\d+(?:\.\d+)+(?:[-+~.]?[0-9A-Za-z]+(?:[-+~.][0-9A-Za-z]+)*)?`)
	// pinRE finds "name@version", "name==version" and "name=version".
	pinRE = regexp.MustCompile(`([A-Za-z0-9@/._:+-]*[A-Za-z][A-Za-z0-9/._:+-]*)(?:@|==|=|>=)v?(\d+(?:\.\d+)+)`)
	// pkgWordRE finds the word after "upgrade", "install", "package"…
	pkgWordRE = regexp.MustCompile(`(?i)\b(?:upgrade|update|install|bump|package|library|dependency|module|crate|gem)\s+(?:the\s+)?(?:package\s+|library\s+|module\s+)?([A-Za-z0-9@/._:+-]*[A-Za-z0-9])`)
	// commandRE finds text that reads as a shell command. Package and
	// tool names alone ("bash 5.0-4", "from grype (vendor rating)") are not
	// commands: they need what a command line has after them.
	commandRE = regexp.MustCompile(`\b(?:sudo\s+)?(?:rm\s+-|curl\s+(?:-|https?://)|wget\s+(?:-|https?://)|bash\s+(?:-|/|\./)|sh\s+-c|chmod\s|chown\s|kubectl\s+[a-z]|docker\s+(?:build|pull|run|push|exec|rmi|compose)\b|podman\s+[a-z]|apt-get\s+[a-z]|apt\s+(?:install|upgrade|remove|update)\b|apk\s+(?:add|upgrade|del)\b|(?:dnf|yum|microdnf|tdnf)\s+[a-z]|npm\s+(?:install|i|update|ci|uninstall|exec|audit)\b|yarn\s+(?:add|upgrade|install)\b|pnpm\s+[a-z]|pip3?\s+(?:install|uninstall)\b|mvn\s|gradle\s|bundle\s+(?:update|install|exec)\b|cargo\s+(?:update|install)\b|dotnet\s+(?:add|remove)\b|composer\s+(?:require|update)\b|helm\s+(?:upgrade|install)\b|trivy\s+(?:image|fs|repo|config|k8s)\b|grype\s+[^\s(]|sextant\s+[a-z]|go\s+(?:get|install|mod)\b)`)
	// commandEndRE ends a command found in prose: a sentence or clause end,
	// a quote or bracket, a line end.
	commandEndRE = regexp.MustCompile("[.;,:]\\s|[.;,:]$|[\"'`)\\n]")
	priorityRE   = regexp.MustCompile(`\bP[0-9]\b`)
	// overrideRE finds words that would overturn sextant's decision.
	overrideRE = regexp.MustCompile(`(?i)\b(?:benign|false positive|safe to ignore|can be (?:safely )?ignored|no action (?:is )?(?:needed|required)|not (?:a )?(?:real )?(?:risk|vulnerability|issue)|approved?|dismiss(?:ed)?|ignore (?:all |the |any )?(?:previous|prior|above)|disregard)\b`)
	codeSpanRE = regexp.MustCompile("`([^`\n]+)`")
)

// stopWords follow "upgrade"/"install" in prose without being package
// names.
var stopWords = map[string]bool{
	"a": true, "an": true, "the": true, "to": true, "it": true, "its": true, "this": true, "that": true,
	"these": true, "those": true, "all": true, "any": true, "each": true, "every": true, "now": true,
	"immediately": true, "first": true, "your": true, "their": true, "image": true, "images": true,
	"base": true, "fix": true, "fixed": true, "version": true, "versions": true, "of": true, "in": true,
	"on": true, "with": true, "from": true, "and": true, "or": true, "for": true, "as": true, "by": true,
	"which": true, "is": true, "are": true, "was": true, "be": true, "has": true, "have": true,
	"sextant": true, "command": true, "commands": true, "plan": true, "affected": true, "vulnerable": true,
	"installed": true, "latest": true, "newer": true, "new": true, "patched": true, "packages": true,
	"manager": true, "process": true, "path": true, "step": true, "will": true, "should": true,
	"must": true, "can": true, "again": true, "them": true, "dependencies": true, "container": true,
}

// groundSet is what an answer may name: the text of the facts that were
// sent, and the tokens found in it.
type groundSet struct {
	text     string
	lower    string
	ids      map[string]bool
	versions []string
	commands []string
	keys     map[string]bool
	priority string
}

func newGroundSet(f *Facts) *groundSet {
	b, _ := json.Marshal(f)
	// JSON escapes would hide "<" and "&" in commands; the set is built on
	// the strings themselves.
	var parts []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			parts = append(parts, x)
		case float64:
			parts = append(parts, factorValue(x))
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	var generic any
	_ = json.Unmarshal(b, &generic)
	walk(generic)
	slices.Sort(parts)
	g := &groundSet{text: strings.Join(parts, "\n"), ids: map[string]bool{}, keys: f.Keys(), priority: f.Priority}
	g.lower = strings.ToLower(g.text)
	for _, id := range vulnIDRE.FindAllString(g.text, -1) {
		g.ids[strings.ToUpper(id)] = true
	}
	g.versions = versionRE.FindAllString(g.text, -1)
	g.commands = append(append([]string{}, f.Commands...), f.VerifyCommands...)
	for i := range g.commands {
		g.commands[i] = squash(g.commands[i])
	}
	return g
}

// hasVersion reports whether v is a version the facts name, or the start
// of one up to its revision ("3.0.13" for "3.0.13-1~deb12u1").
func (g *groundSet) hasVersion(v string) bool {
	for _, fv := range g.versions {
		if fv == v || strings.HasPrefix(fv, v) && strings.IndexByte("-+~", fv[len(v)]) >= 0 {
			return true
		}
	}
	return false
}

// hasCommand reports whether cmd is one of the plan's commands, the start
// of one, or one followed by more words ("… in the Dockerfile").
func (g *groundSet) hasCommand(cmd string) bool {
	c := squash(cmd)
	for _, fc := range g.commands {
		if fc == c || strings.HasPrefix(fc, c) || strings.HasPrefix(c, fc+" ") {
			return true
		}
	}
	return false
}

// squash collapses runs of white space.
func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

// ground checks an answer against the facts that were sent and returns
// what is wrong with it, "reason: detail" each (none: it is grounded).
func ground(a Answer, f *Facts) []string {
	return groundWith(a, newGroundSet(f))
}

func groundWith(a Answer, g *groundSet) []string {
	var out []string
	add := func(reason, detail string) {
		e := reason + ": " + clip(detail, 80)
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	for _, fld := range [...]struct{ name, v string }{{"risk", a.Risk}, {"why_priority", a.WhyPriority}, {"what_to_do", a.WhatToDo}, {"how_to_verify", a.HowToVerify}} {
		if strings.TrimSpace(fld.v) == "" {
			add(RejectSchema, fld.name+" is empty")
		}
	}
	for _, k := range a.CitedFacts {
		if !g.keys[strings.TrimSpace(k)] {
			add(RejectUnknownFact, k)
		}
	}
	text := strings.Join([]string{a.Risk, a.WhyPriority, a.WhatToDo, a.HowToVerify}, "\n")
	for _, id := range vulnIDRE.FindAllString(text, -1) {
		if !g.ids[strings.ToUpper(id)] {
			add(RejectUngroundedID, id)
		}
	}
	for _, v := range versionRE.FindAllString(text, -1) {
		if !g.hasVersion(v) {
			add(RejectUngroundedVer, v)
		}
	}
	for _, m := range pinRE.FindAllStringSubmatch(text, -1) {
		if name := strings.TrimLeft(m[1], "@/"); !strings.Contains(g.lower, strings.ToLower(name)) {
			add(RejectUngroundedPkg, name)
		}
	}
	for _, m := range pkgWordRE.FindAllStringSubmatch(text, -1) {
		name := m[1]
		if stopWords[strings.ToLower(name)] || strings.HasPrefix(name, "[") {
			continue
		}
		if !strings.Contains(g.lower, strings.ToLower(name)) {
			add(RejectUngroundedPkg, name)
		}
	}
	covered := 0 // commands inside a command ("a && b") are part of it
	for _, loc := range commandRE.FindAllStringIndex(text, -1) {
		if loc[0] < covered {
			continue
		}
		rest := text[loc[0]:]
		if e := commandEndRE.FindStringIndex(rest); e != nil {
			rest = rest[:e[0]]
		}
		covered = loc[0] + len(rest)
		if !g.hasCommand(rest) {
			add(RejectUngroundedCmd, strings.TrimSpace(rest))
		}
	}
	for _, m := range codeSpanRE.FindAllStringSubmatch(text, -1) {
		if !strings.Contains(g.text, m[1]) && !g.hasCommand(m[1]) {
			add(RejectUngroundedCmd, m[1])
		}
	}
	for _, p := range priorityRE.FindAllString(text, -1) {
		if p != g.priority {
			add(RejectPriority, p)
		}
	}
	for _, w := range overrideRE.FindAllString(text, -1) {
		add(RejectDecisionOverride, w)
	}
	return out
}
