package explain

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"text/template"

	"github.com/sextant-dev/sextant"
)

// The offline explainer's identity in Explanation.Provider and Model.
const (
	OfflineProvider = "offline"
	OfflineModel    = "template-v1"
)

// offlineView is what the offline templates read: the facts, and phrases
// computed from them.
type offlineView struct {
	*Facts
	// IDs lists up to five vulnerability IDs, "and N more" after them.
	IDs string
	// Count is "2 known vulnerabilities", "1 known vulnerability".
	Count string
	// Worst is the highest severity among the listed vulnerabilities.
	Worst string
	// Exploited lists the IDs reported as known exploited.
	Exploited []string
	// KEV is true when the score's kev factor is true.
	KEV bool
	// Top are the factors that raised the score most, at most three.
	Top []offlineFactor
	// Command is the plan's commands joined as one instruction, "" when a
	// command spans lines (a build-file snippet).
	Command string
}

type offlineFactor struct {
	Name, Value, Contribution, Evidence string
}

var offlineFuncs = template.FuncMap{
	"join": strings.Join,
	"num":  factorValue,
	// period ends a sentence that may end in a command ending in a period.
	"period": func(s string) string {
		if strings.HasSuffix(s, ".") {
			return s
		}
		return s + "."
	},
}

// offlineTemplates hold, per field, a template for each action kind
// ("risk upgrade-package") and a default ("risk").
var offlineTemplates = template.Must(template.New("offline").Funcs(offlineFuncs).Parse(`
{{- define "risk upgrade-package" -}}
{{.Package.Name}} {{.Package.From}} in {{.Artifact}} has {{.Count}} ({{.IDs}}){{with .Worst}}, the worst rated {{.}}{{end}}.
{{- template "exploited" .}}
{{- end}}

{{- define "risk rebuild-base-image" -}}
The base image of {{.Artifact}} carries {{.Count}} in its operating-system packages ({{.IDs}}){{with .Worst}}, the worst rated {{.}}{{end}}.
{{- template "exploited" .}}
{{- end}}

{{- define "risk no-fix-available" -}}
{{with .Package}}{{.Name}} {{.From}}{{else}}A component{{end}} in {{.Artifact}} has {{.Count}} ({{.IDs}}){{with .Worst}}, the worst rated {{.}}{{end}}, and no fixed version is available yet.
{{- template "exploited" .}}
{{- end}}

{{- define "risk fix-configuration" -}}
{{.Artifact}} fails the configuration check {{.IDs}}{{with .Worst}}, rated {{.}}{{end}}: a weaker setting than it should have that an attacker can use once inside.
{{- end}}

{{- define "risk remove-secret" -}}
A secret ({{.IDs}}) is exposed in {{.Artifact}}: anyone who can read the artifact can use the credential.
{{- end}}

{{- define "risk" -}}
{{.Action.Title}}.
{{- end}}

{{- define "exploited" -}}
{{if .Exploited}} {{join .Exploited ", "}} {{if eq (len .Exploited) 1}}is{{else}}are{{end}} known to be exploited in the wild.
{{- else if .KEV}} The vulnerability that sets the score is listed in CISA KEV: it is exploited in the wild.
{{- end}}
{{- end}}

{{- define "why" -}}
{{.Priority}} with a score of {{num .Score}}
{{- if .Top}} because of {{range $i, $f := .Top}}{{if $i}}; {{end}}{{$f.Name}} {{$f.Value}} (+{{$f.Contribution}}{{with $f.Evidence}}: {{.}}{{end}}){{end}}.
{{- else}}: no factor raised the score.
{{- end}}
{{- end}}

{{- define "do upgrade-package" -}}
Upgrade {{.Package.Name}} from {{.Package.From}} to {{.Package.To}}
{{- if .Command}}: run {{period .Command}}{{else}} with the build-file change in this action's commands.{{end}}
{{- end}}

{{- define "do rebuild-base-image" -}}
Rebuild {{.Artifact}} on a patched base image
{{- if .Command}}: run {{period .Command}}{{else}}.{{end}} If no patched base image is published yet, upgrade the packages in the Dockerfile as this action's notes show.
{{- end}}

{{- define "do no-fix-available" -}}
No fix is released yet: reduce the exposure (the notes of this action give mitigations) or record an exception with an expiry date, and watch for a fixed version.
{{- end}}

{{- define "do fix-configuration" -}}
Change the configuration as this action describes
{{- if .Command}}: {{period .Command}}{{else}}.{{end}}
{{- end}}

{{- define "do remove-secret" -}}
Revoke and rotate the credential first, then remove it from the artifact and rebuild; this action's notes give the steps.
{{- end}}

{{- define "do" -}}
{{if .Command}}Run {{period .Command}}{{else}}Follow this action's notes.{{end}}
{{- end}}

{{- define "verify" -}}
{{if eq .Action.Kind "no-fix-available"}}Once a fix is released and applied, rescan{{else}}After the change, rescan{{end}} with {{index .VerifyCommands 0}} and run {{index .VerifyCommands 1}}: {{.IDs}} should no longer be reported for {{.Artifact}}.
{{- if eq .Action.Kind "remove-secret"}} The old credential should also be rejected by its issuer.{{end}}
{{- end}}
`))

// Offline writes the explanation of an action from its facts alone, with
// templates: deterministic, and grounded by construction.
func Offline(f *Facts) Answer {
	v := newOfflineView(f)
	field := func(name string) string {
		t := offlineTemplates.Lookup(name + " " + f.Action.Kind)
		if t == nil || (f.Package == nil && (f.Action.Kind == string(sextant.ActionUpgradePackage))) {
			t = offlineTemplates.Lookup(name)
		}
		var b strings.Builder
		if err := t.Execute(&b, v); err != nil {
			// The templates are fixed and their data is built above: a
			// failure is a bug, and the title still says what to do.
			return f.Action.Title + "."
		}
		return squash(b.String())
	}
	a := Answer{
		Risk:        field("risk"),
		WhyPriority: field("why"),
		WhatToDo:    field("do"),
		HowToVerify: field("verify"),
		CitedFacts:  []string{"priority", "score", "artifact"},
	}
	if f.Package != nil {
		a.CitedFacts = append(a.CitedFacts, "package.name", "package.from", "package.to")
	}
	for _, x := range v.Top {
		a.CitedFacts = append(a.CitedFacts, "factors["+x.Name+"]")
	}
	for i := range f.Commands {
		a.CitedFacts = append(a.CitedFacts, fmt.Sprintf("commands[%d]", i))
	}
	a.CitedFacts = append(a.CitedFacts, "vulns[]", "verify_commands[0]", "verify_commands[1]")
	return a
}

func newOfflineView(f *Facts) *offlineView {
	v := &offlineView{Facts: f}
	var ids []string
	sev := sextant.SeverityUnknown
	for _, x := range f.Vulns {
		ids = append(ids, x.ID)
		if s, ok := sextant.ParseSeverity(x.Severity); ok && s > sev {
			sev = s
		}
		if x.KnownExploited {
			v.Exploited = append(v.Exploited, x.ID)
		}
	}
	const shown = 5
	switch n := f.VulnCount; {
	case len(ids) == 0:
		v.IDs = "no listed identifiers"
	case n > shown || n > len(ids):
		v.IDs = strings.Join(ids[:min(shown, len(ids))], ", ") + fmt.Sprintf(" and %d more", n-min(shown, len(ids)))
	default:
		v.IDs = strings.Join(ids, ", ")
	}
	if sev != sextant.SeverityUnknown {
		v.Worst = sev.String()
	}
	what := "known vulnerabilities"
	if f.VulnCount == 1 {
		what = "known vulnerability"
	}
	v.Count = fmt.Sprintf("%d %s", f.VulnCount, what)

	var top []FactorFact
	for _, x := range f.Factors {
		if x.Name == "kev" {
			b, _ := x.Value.(bool)
			v.KEV = b
		}
		if x.Contribution > 0 {
			top = append(top, x)
		}
	}
	slices.SortStableFunc(top, func(a, b FactorFact) int { return cmp.Compare(b.Contribution, a.Contribution) })
	for _, x := range top[:min(3, len(top))] {
		ev, _, _ := strings.Cut(x.Evidence, ";")
		v.Top = append(v.Top, offlineFactor{Name: x.Name, Value: factorValue(x.Value), Contribution: factorValue(x.Contribution), Evidence: strings.TrimSpace(ev)})
	}
	multi := false
	for _, c := range f.Commands {
		multi = multi || strings.Contains(c, "\n")
	}
	if !multi && len(f.Commands) > 0 {
		v.Command = strings.Join(f.Commands, ", then ")
	}
	return v
}
