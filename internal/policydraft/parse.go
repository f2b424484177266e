package policydraft

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/sextant-dev/sextant"
)

// maxRequest bounds a policy request, in bytes.
const maxRequest = 2000

// Parse reads a policy request in plain English — "no container may run
// as root in namespace payments", "images must come from
// registry.example.com except in kube-system" — into an Intent. It is
// deterministic and understands the rule kinds SupportedKinds lists,
// scoped with "in namespace X", "in namespaces X and Y", "in the X
// namespace" and "except (in) X". A request it cannot read completely (no
// known rule, a topic it does not draft, a request to allow rather than to
// restrict) is an EINVALID error that lists what it understands: a
// partial policy would be worse than none.
func Parse(text string) (Intent, error) {
	if len(text) > maxRequest {
		return Intent{}, sextant.Errorf(sextant.EINVALID, "policy request longer than %d bytes", maxRequest)
	}
	p := &parser{orig: text, s: []byte(asciiLower(text))}
	in, err := p.parse()
	if err != nil {
		return Intent{}, err
	}
	if err := in.Validate(); err != nil {
		return Intent{}, err
	}
	return in, nil
}

// unsupported returns an EINVALID error that says why a request was
// refused and lists the rule kinds sextant drafts.
func unsupported(why string) error {
	var b strings.Builder
	b.WriteString(why)
	b.WriteString(". sextant drafts policies for these intents (scope them with \"in namespace X\" or \"except in X\"):\n")
	for _, s := range supported {
		fmt.Fprintf(&b, "  %-30s %s — e.g. %q\n", s.Kind, s.Description, s.Example)
	}
	return sextant.Errorf(sextant.EINVALID, "%s", strings.TrimRight(b.String(), "\n"))
}

type parser struct {
	orig string
	s    []byte // lower-cased, consumed spans blanked
}

// consume blanks s[i:j] so that later matchers do not see it.
func (p *parser) consume(i, j int) {
	for k := i; k < j; k++ {
		p.s[k] = ' '
	}
}

// take finds every match of re, blanks it, and reports whether there was
// one.
func (p *parser) take(re *regexp.Regexp) bool {
	locs := re.FindAllIndex(p.s, -1)
	for _, l := range locs {
		p.consume(l[0], l[1])
	}
	return len(locs) > 0
}

var (
	// unsupportedRE finds topics that sound like policies sextant does
	// not draft.
	unsupportedRE = map[string]*regexp.Regexp{
		"seccomp profiles":             regexp.MustCompile(`\bseccomp\b`),
		"AppArmor":                     regexp.MustCompile(`\bapparmor\b`),
		"SELinux":                      regexp.MustCompile(`\bselinux\b`),
		"sysctls":                      regexp.MustCompile(`\bsysctls?\b`),
		"proc mounts":                  regexp.MustCompile(`\bproc\s*mounts?\b`),
		"host ports":                   regexp.MustCompile(`\bhost\s*ports?\b`),
		"service accounts":             regexp.MustCompile(`\bservice\s*accounts?\b|\bautomount`),
		"network policies":             regexp.MustCompile(`\bnetwork\s*polic`),
		"ingresses":                    regexp.MustCompile(`\bingress(?:es)?\b`),
		"RBAC":                         regexp.MustCompile(`\brbac\b|\brole\s*bindings?\b|\bcluster-?admin\b`),
		"secrets":                      regexp.MustCompile(`\bsecrets?\b`),
		"probes":                       regexp.MustCompile(`\bprobes?\b|\bliveness\b|\breadiness\b`),
		"replicas":                     regexp.MustCompile(`\breplicas?\b`),
		"labels and annotations":       regexp.MustCompile(`\blabels?\b|\bannotations?\b`),
		"image pull policies":          regexp.MustCompile(`\bpull\s*polic`),
		"image signatures":             regexp.MustCompile(`\bsign(?:ed|ature|atures)\b|\bcosign\b|\bsigstore\b|\bverif(?:y|ied)\s+images?\b`),
		"runtime classes":              regexp.MustCompile(`\bruntime\s*class`),
		"node selection":               regexp.MustCompile(`\bnode\s*selectors?\b|\baffinity\b|\btolerations?\b`),
		"pod disruption budgets":       regexp.MustCompile(`\bdisruption\b`),
		"groups and fsGroup":           regexp.MustCompile(`\bfs\s*group\b|\brun\s*as\s*group\b|\bsupplemental\s+groups\b`),
		"readOnly volumes and windows": regexp.MustCompile(`\bwindows\b|\bhostprocess\b`),
	}
	restrictiveRE = regexp.MustCompile(`\b(?:no|not|never|none|disallow|disallowed|deny|denied|forbid|forbidden|forbids|block|prevent|reject|must|mustn't|require|requires|required|only|should|shall|enforce|restrict|restricted|disable|without|cannot|can't|drop)\b`)
	allowRE       = regexp.MustCompile(`\b(?:allow|allows|allowed|permit|permits|permitted|let|enable|enabled)\b`)
	negatorRE     = regexp.MustCompile(`\b(?:no|not|never|cannot|disallow|deny|forbid|only|except|must|require)\b|n't\b`)

	dropAllRE    = regexp.MustCompile(`\bdrop(?:s|ped|ping)?\s+(?:of\s+)?(?:all|every)(?:\s+(?:linux\s+|kernel\s+)?capabilit(?:y|ies))?\b|\bcapabilities\s*\.?\s*drop\s*:?\s*\[?\s*"?all\b`)
	capWordRE    = regexp.MustCompile(`\bcapabilit(?:y|ies)\b`)
	capExceptRE  = regexp.MustCompile(`\b(?:except(?:\s+for)?|other\s+than|besides|beyond|apart\s+from|but)\b`)
	capAddRE     = regexp.MustCompile(`\b(?:add|adds|added|adding|additional|extra|new|grant|granted|gain)\b`)
	capTokenRE   = regexp.MustCompile(`\b(?:CAP_|cap_)?([A-Za-z]+(?:_[A-Za-z]+)*)\b`)
	registryTrig = regexp.MustCompile(`\bregistr(?:y|ies)\b|\b(?:come|comes|coming|pulled|pull|originate|originates)\s+(?:only\s+)?from\b|\bimages?\s+(?:[a-z]+\s+){0,3}from\b|\bfrom\s+(?:an?\s+)?(?:approved|allowed|trusted)\b`)
	hostTokenRE  = regexp.MustCompile(`\b(?:localhost(?::\d+)?|[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.[a-z]{2,}(?::\d+)?)(?:/[a-z0-9][a-z0-9._-]*[a-z0-9])*`)

	rulesRE = []struct {
		kinds []Kind
		re    *regexp.Regexp
	}{
		{[]Kind{DisallowHostPath}, regexp.MustCompile(`\bhost\s*paths?\b|\bhostpath\b|\bhost\s+(?:volumes?|director(?:y|ies)|mounts?|file\s*systems?)\b|\bmount(?:s|ing)?\s+(?:the\s+|a\s+)?(?:host|node)\b|\b(?:docker|containerd|crio)\.sock\b|\bdocker\s+socket\b|\bcontainer\s+runtime\s+socket\b`)},
		{[]Kind{RequireReadOnlyRootFS}, regexp.MustCompile(`\bread[-\s]?only\s+(?:root\s+)?(?:file\s*systems?|fs)\b|\breadonlyrootfilesystem\b|\bwritable\s+root\b|\broot\s+file\s*systems?\s+(?:must\s+be\s+|should\s+be\s+|is\s+)?read[-\s]?only\b`)},
		{[]Kind{DisallowPrivilegeEscalation}, regexp.MustCompile(`\bprivilege[sd]?\s+escalation\b|\ballowprivilegeescalation\b|\bescalat(?:e|es|ing|ion)\s+(?:of\s+|their\s+|its\s+)?privileges?\b`)},
		{[]Kind{RunAsNonRoot}, regexp.MustCompile(`\b(?:run|runs|running|execute|executing|start|started|operate)\s+as\s+(?:the\s+)?root\b|\bas\s+root\b|\b(?:no|not|never|without)\s+root\b|\broot\s+(?:user|uid|containers?|pods?|processes)\b|\bnon[-\s]?root\b|\brunasnonroot\b|\brunasuser\s*:?\s*0\b|\buid\s*0\b|\buser\s+(?:id\s+)?0\b`)},
		{[]Kind{DisallowPrivileged}, regexp.MustCompile(`\bprivileged\b`)},
		{[]Kind{DisallowHostNetwork, DisallowHostPID, DisallowHostIPC}, regexp.MustCompile(`\bhost\s+namespaces?\b`)},
		{[]Kind{DisallowHostNetwork}, regexp.MustCompile(`\bhost\s*network(?:ing)?\b|\bhost'?s\s+network\b|\bnode\s+network\b`)},
		{[]Kind{DisallowHostPID}, regexp.MustCompile(`\bhost\s*pid\b|\bhost'?s\s+(?:pid|process)\s+namespace\b|\bhost\s+process(?:es)?\b`)},
		{[]Kind{DisallowHostIPC}, regexp.MustCompile(`\bhost\s*ipc\b|\bhost'?s\s+ipc\b`)},
		{[]Kind{DisallowLatestTag}, regexp.MustCompile(`\blatest\b|\buntagged\b|\bimage\s+tags?\b|\bunpinned\b|\bpinned\b|\bmutable\s+tags?\b|\bwithout\s+(?:a\s+)?tags?\b`)},
	}
	limitsRE   = regexp.MustCompile(`\b(?:resource|cpu|memory|mem)(?:\s+(?:and|or|&)\s+(?:cpu|memory|mem))?\s+(?:requests\s+and\s+)?limits?\b|\blimits?\b|\bresources?\s+requests?\s+and\s+limits?\b`)
	memoryRE   = regexp.MustCompile(`\bmem(?:ory)?\b`)
	cpuRE      = regexp.MustCompile(`\bcpus?\b`)
	requestsRE = regexp.MustCompile(`\brequests?\b`)
)

func (p *parser) parse() (Intent, error) {
	lower := string(p.s)
	if strings.TrimSpace(lower) == "" {
		return Intent{}, unsupported("the policy request is empty")
	}
	var topics []string
	for name, re := range unsupportedRE {
		if re.MatchString(lower) {
			topics = append(topics, name)
		}
	}
	if len(topics) > 0 {
		slices.Sort(topics)
		return Intent{}, unsupported(fmt.Sprintf("the request is about %s, which sextant does not draft policies for", strings.Join(topics, ", ")))
	}
	if allowRE.MatchString(lower) && !negatorRE.MatchString(lower) {
		return Intent{}, unsupported("the request says what to allow; sextant drafts policies that forbid or require, scoped with \"except in X\" for what stays allowed")
	}
	if !restrictiveRE.MatchString(lower) {
		return Intent{}, unsupported("the request does not say what to forbid or require (write \"no …\", \"must …\", \"only …\")")
	}

	var in Intent
	rules := map[Kind]*Rule{}
	add := func(k Kind) *Rule {
		if r, ok := rules[k]; ok {
			return r
		}
		rules[k] = &Rule{Kind: k}
		return rules[k]
	}

	if err := p.capabilities(add); err != nil {
		return Intent{}, err
	}
	// Host paths before registries: "docker.sock" looks like a host name.
	if p.take(rulesRE[0].re) {
		add(DisallowHostPath)
	}
	if err := p.registries(add); err != nil {
		return Intent{}, err
	}
	p.scope(&in)
	for _, x := range rulesRE[1:] {
		if p.take(x.re) {
			for _, k := range x.kinds {
				add(k)
			}
		}
	}
	if loc := limitsRE.FindIndex(p.s); loc != nil {
		r := add(RequireResourceLimits)
		rest := string(p.s)
		mem, cpu := memoryRE.MatchString(rest), cpuRE.MatchString(rest)
		switch {
		case mem && !cpu:
			r.Resources = []string{"memory"}
		case cpu && !mem:
			r.Resources = []string{"cpu"}
		default:
			r.Resources = []string{"cpu", "memory"}
		}
		r.Requests = requestsRE.MatchString(rest)
		p.take(limitsRE)
		p.take(memoryRE)
		p.take(cpuRE)
		p.take(requestsRE)
	}
	if len(rules) == 0 {
		return Intent{}, unsupported(fmt.Sprintf("no rule sextant knows was found in %q", p.orig))
	}
	if nsWordRE.Match(p.s) {
		return Intent{}, unsupported("the request mentions namespaces whose names sextant could not read (write \"in namespace payments\", \"in namespaces payments and billing\" or \"except in kube-system\")")
	}

	for _, s := range supported {
		if r, ok := rules[s.Kind]; ok {
			in.Rules = append(in.Rules, *r)
		}
	}
	return in, nil
}

// capabilities reads "drop all capabilities", "no added capabilities
// (except X)", "no SYS_ADMIN".
func (p *parser) capabilities(add func(Kind) *Rule) error {
	dropped := p.take(dropAllRE)
	if dropped {
		add(RequireDropAll)
	}
	// Capability names: upper case in the original text, or with an
	// underscore in any case ("net_admin"), and known.
	type capTok struct {
		name       string
		start, end int
	}
	var caps []capTok
	for _, m := range capTokenRE.FindAllStringSubmatchIndex(p.orig, -1) {
		word := p.orig[m[0]:m[1]]
		name := strings.ToUpper(p.orig[m[2]:m[3]])
		if p.s[m[0]] == ' ' || !slices.Contains(capabilities, name) || name == "ALL" {
			continue
		}
		if word != strings.ToUpper(word) && !strings.Contains(word, "_") {
			continue
		}
		caps = append(caps, capTok{name, m[0], m[1]})
	}
	mentions := capWordRE.Match(p.s)
	if len(caps) == 0 {
		if !mentions {
			return nil
		}
		if capAddRE.Match(p.s) {
			add(RestrictCapabilities)
			p.take(capAddRE)
			p.take(capWordRE)
			return nil
		}
		if dropped {
			p.take(capWordRE)
			return nil
		}
		return unsupported("the request mentions capabilities without saying which: write \"drop all capabilities\", \"no added capabilities except NET_BIND_SERVICE\" or \"no container may add SYS_ADMIN\"")
	}
	// An except-word right before the first capability makes them an
	// allow list.
	allow := false
	if loc := capExceptRE.FindAllIndex(p.s[:caps[0].start], -1); len(loc) > 0 {
		last := loc[len(loc)-1]
		if strings.TrimSpace(strings.Trim(string(p.s[last[1]:caps[0].start]), " ,:")) == "" || strings.TrimSpace(string(p.s[last[1]:caps[0].start])) == "the" {
			allow = true
			p.consume(last[0], last[1])
		}
	}
	kind := DisallowCapabilities
	if allow {
		kind = RestrictCapabilities
	}
	r := add(kind)
	for _, c := range caps {
		r.Capabilities = append(r.Capabilities, c.name)
		p.consume(c.start, c.end)
	}
	p.take(capWordRE)
	p.take(capAddRE)
	return nil
}

// registries reads "images must come from a.example.com or b.io/team".
func (p *parser) registries(add func(Kind) *Rule) error {
	if !registryTrig.Match(p.s) {
		return nil
	}
	var regs []string
	for _, l := range hostTokenRE.FindAllIndex(p.s, -1) {
		tok := strings.TrimRight(string(p.s[l[0]:l[1]]), ".")
		if !strings.Contains(tok, ".") && !strings.HasPrefix(tok, "localhost") {
			continue
		}
		regs = append(regs, tok)
		p.consume(l[0], l[1])
	}
	if len(regs) == 0 {
		return unsupported("the request restricts registries without naming them (write \"images must come from registry.example.com or ghcr.io/acme\")")
	}
	r := add(RestrictRegistries)
	r.Registries = append(r.Registries, regs...)
	p.take(registryTrig)
	return nil
}

// token is a word of the request with its place.
type token struct {
	text       string
	start, end int
}

var nsWordRE = regexp.MustCompile(`\bnamespaces?\b`)

var tokenRE = regexp.MustCompile(`[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?|,|;|\.`)

// stopWords end a list of namespace names: they are words of the request,
// not names.
var stopWords = map[string]bool{
	"a": true, "an": true, "the": true, "and": true, "or": true, "no": true, "not": true, "any": true, "all": true,
	"every": true, "each": true, "in": true, "of": true, "to": true, "for": true, "from": true, "with": true,
	"without": true, "may": true, "must": true, "should": true, "can": true, "cannot": true, "be": true, "is": true,
	"are": true, "run": true, "runs": true, "use": true, "uses": true, "container": true, "containers": true,
	"pod": true, "pods": true, "image": true, "images": true, "workload": true, "workloads": true,
	"deployment": true, "deployments": true, "namespace": true, "namespaces": true, "except": true,
	"only": true, "also": true, "but": true, "there": true, "where": true, "which": true, "that": true,
	"cluster": true, "clusters": true, "either": true, "neither": true, "nor": true, "never": true,
	// Words that qualify "namespaces" without naming one.
	"listed": true, "following": true, "given": true, "specified": true, "named": true, "above": true,
	"below": true, "these": true, "those": true, "other": true, "some": true, "certain": true,
	"selected": true, "relevant": true, "sensitive": true, "critical": true, "important": true,
	"same": true, "different": true, "various": true, "multiple": true, "specific": true, "our": true,
	"their": true, "my": true, "your": true, "system": true, "user": true, "application": true,
}

var (
	excludeWords = map[string]int{"except": 1, "excluding": 1, "exclude": 1, "outside": 1, "besides": 1}
	excludePairs = map[[2]string]bool{{"but", "not"}: true, {"other", "than"}: true, {"apart", "from"}: true, {"outside", "of"}: true}
	includeWords = map[string]bool{"in": true, "within": true, "inside": true, "for": true, "to": true}
)

// scope reads the namespaces the policy applies in, and those exempted.
func (p *parser) scope(in *Intent) {
	var toks []token
	for _, l := range tokenRE.FindAllIndex(p.s, -1) {
		toks = append(toks, token{string(p.s[l[0]:l[1]]), l[0], l[1]})
	}
	isNS := func(i int) bool {
		return i < len(toks) && (toks[i].text == "namespace" || toks[i].text == "namespaces")
	}
	isName := func(i int) bool {
		return i < len(toks) && !stopWords[toks[i].text] && dnsLabelRE.MatchString(toks[i].text)
	}
	// names reads "a", "a and b", "a, b, or c" from i; it returns the
	// names and the index after them.
	names := func(i int) ([]string, int) {
		var out []string
		for isName(i) {
			out = append(out, toks[i].text)
			i++
			j := i
			for j < len(toks) && (toks[j].text == "," || toks[j].text == "and" || toks[j].text == "or") {
				j++
			}
			if j == i || !isName(j) {
				break
			}
			i = j
		}
		return out, i
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i].text
		// Exclusions: "except (in) (the) (namespace(s)) X (namespace)".
		j := -1
		if excludeWords[t] > 0 {
			j = i + 1
		}
		if i+1 < len(toks) && excludePairs[[2]string{t, toks[i+1].text}] {
			j = i + 2
		}
		if j > 0 {
			for j < len(toks) && (toks[j].text == "in" || toks[j].text == "for" || toks[j].text == "from" || toks[j].text == "of" || toks[j].text == "the") {
				j++
			}
			if isNS(j) {
				j++
			}
			if ns, end := names(j); len(ns) > 0 {
				if isNS(end) {
					end++
				}
				in.ExcludeNamespaces = append(in.ExcludeNamespaces, ns...)
				p.consume(toks[i].start, toks[end-1].end)
				i = end - 1
				continue
			}
		}
		// Inclusions: "in (the) namespace(s) X", "in the X namespace".
		if includeWords[t] {
			j := i + 1
			if j < len(toks) && toks[j].text == "the" {
				j++
			}
			if isNS(j) {
				if ns, end := names(j + 1); len(ns) > 0 {
					in.Namespaces = append(in.Namespaces, ns...)
					p.consume(toks[i].start, toks[end-1].end)
					i = end - 1
					continue
				}
			}
			if ns, end := names(j); len(ns) > 0 && isNS(end) {
				in.Namespaces = append(in.Namespaces, ns...)
				p.consume(toks[i].start, toks[end].end)
				i = end
				continue
			}
		}
		// "namespace X" anywhere else.
		if t == "namespace" || t == "namespaces" {
			if ns, end := names(i + 1); len(ns) > 0 {
				in.Namespaces = append(in.Namespaces, ns...)
				p.consume(toks[i].start, toks[end-1].end)
				i = end - 1
			}
		}
	}
}

// asciiLower lower-cases ASCII letters only, so that byte offsets stay
// those of the original text.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
