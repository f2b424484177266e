package fix

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/sextant-dev/sextant"
)

// DockerfileDiff returns a unified diff (---/+++ headers with name, @@
// hunks) that applies the plan's OS-package and base-image actions for one
// artifact to the given Dockerfile; the rest of the file is untouched. The
// headers read "a/name" and "b/name", so `git apply` and `patch -p1` take it
// from the directory name is relative to.
//
// In the final stage (the last FROM), it inserts one RUN instruction that
// upgrades every OS package of the ActionUpgradePackage actions, after the
// stage's last package-installing RUN or else right after its FROM, and
// clears the package cache. If a non-root USER is in effect there, the RUN
// is wrapped in USER root and back. The package manager follows the
// ecosystem; for RPM it follows the Dockerfile (microdnf, yum, tdnf…) and
// else the action's command.
//
// For an ActionRebuildBase, the FROM line of the final stage's base image
// (following FROM <stage> chains) gets its image replaced by the action's
// TargetVersion when that holds a newer image reference; a FROM ${ARG} with
// the ARG's default declared before the first FROM gets the default
// replaced. Without a known newer image, a comment above the FROM says to
// rebuild with --pull.
//
// Multi-stage files, FROM x AS y, ARG before FROM, line continuations, the
// escape parser directive, heredocs, CRLF line endings and a missing final
// newline are kept as they are. Other actions are ignored; with none to
// apply, the diff is "". Actions for more than one artifact, versions or
// names that are not legal for their ecosystem, a Dockerfile without FROM,
// or OS packages for a scratch or distroless final stage are errors with
// code EINVALID.
func DockerfileDiff(name string, dockerfile []byte, actions []sextant.Action) (string, error) {
	var upgrades []sextant.Action
	var base *sextant.Action
	artifact := ""
	for i := range actions {
		a := &actions[i]
		switch {
		case a.Kind == sextant.ActionUpgradePackage && sextant.OSEcosystem(a.Ecosystem):
			upgrades = append(upgrades, *a)
		case a.Kind == sextant.ActionRebuildBase:
			base = a
		default:
			continue
		}
		if artifact != "" && a.Artifact != artifact {
			return "", sextant.Errorf(sextant.EINVALID, "dockerfile diff: actions are for more than one artifact (%s and %s)", quoteForNote(artifact), quoteForNote(a.Artifact))
		}
		artifact = a.Artifact
	}
	if len(upgrades) == 0 && base == nil {
		return "", nil
	}
	df := parseDockerfile(string(dockerfile))
	if len(df.stages) == 0 {
		return "", sextant.Errorf(sextant.EINVALID, "dockerfile diff: %s has no FROM instruction", quoteForNote(name))
	}
	for _, s := range df.stages {
		if parseFrom(df.instrs[s].args).image == "" {
			return "", sextant.Errorf(sextant.EINVALID, "dockerfile diff: %s has a FROM instruction without an image (line %d)", quoteForNote(name), df.instrs[s].start+1)
		}
	}
	var edits []edit
	if len(upgrades) > 0 {
		e, err := df.upgradeEdits(upgrades)
		if err != nil {
			return "", err
		}
		edits = append(edits, e...)
	}
	if base != nil {
		e, err := df.baseEdits(*base)
		if err != nil {
			return "", err
		}
		edits = append(edits, e...)
	}
	return unifiedDiff(name, df.lines, df.apply(edits)), nil
}

// dockerfile is a parsed Dockerfile. lines keep their line terminators.
type dockerfile struct {
	lines  []string
	eol    string
	escape byte
	instrs []instr
	// stages index the FROM instructions in instrs.
	stages []int
}

// instr is one instruction, spanning physical lines start..end.
type instr struct {
	start, end int
	cmd        string
	// args is the instruction's text after the keyword, continuation
	// lines joined and comment lines inside them dropped.
	args string
}

// from is a parsed FROM instruction.
type from struct {
	image, alias string
}

var directiveRe = regexp.MustCompile(`^#\s*([A-Za-z]+)\s*=\s*(\S+)\s*$`)

// heredocRe finds heredoc markers (<<EOF, <<-"EOF") in RUN and COPY.
var heredocRe = regexp.MustCompile(`<<-?\s*["']?([A-Za-z_][A-Za-z0-9_]*)["']?`)

func parseDockerfile(s string) *dockerfile {
	df := &dockerfile{escape: '\\', eol: "\n"}
	crlf := 0
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			df.lines = append(df.lines, s)
			break
		}
		line := s[:i+1]
		if strings.HasSuffix(line, "\r\n") {
			crlf++
		}
		df.lines = append(df.lines, line)
		s = s[i+1:]
	}
	if crlf*2 > len(df.lines) {
		df.eol = "\r\n"
	}
	directives := true
	for i := 0; i < len(df.lines); i++ {
		text := bare(df.lines[i])
		t := strings.TrimSpace(text)
		if directives {
			if m := directiveRe.FindStringSubmatch(t); m != nil {
				if strings.EqualFold(m[1], "escape") && (m[2] == "`" || m[2] == `\`) {
					df.escape = m[2][0]
				}
				continue
			}
			directives = false
		}
		if t == "" || t[0] == '#' {
			continue
		}
		in := instr{start: i}
		logical := strings.TrimSpace(text)
		cont := df.continues(text)
		if cont {
			logical = strings.TrimSpace(strings.TrimSuffix(strings.TrimRight(text, " \t"), string(df.escape)))
		}
		for cont && i+1 < len(df.lines) {
			i++
			next := bare(df.lines[i])
			nt := strings.TrimSpace(next)
			if nt == "" || nt[0] == '#' {
				continue
			}
			cont = df.continues(next)
			if cont {
				nt = strings.TrimSpace(strings.TrimSuffix(strings.TrimRight(next, " \t"), string(df.escape)))
			}
			logical += " " + nt
		}
		cmd, args, _ := strings.Cut(logical, " ")
		in.cmd, in.args = strings.ToUpper(cmd), strings.TrimSpace(args)
		if in.cmd == "RUN" || in.cmd == "COPY" || in.cmd == "ADD" {
			for _, m := range heredocRe.FindAllStringSubmatch(in.args, -1) {
				for i+1 < len(df.lines) {
					i++
					if strings.TrimLeft(bare(df.lines[i]), "\t") == m[1] {
						break
					}
				}
			}
		}
		in.end = i
		if in.cmd == "FROM" {
			df.stages = append(df.stages, len(df.instrs))
		}
		df.instrs = append(df.instrs, in)
	}
	return df
}

// bare returns a line without its terminator.
func bare(line string) string {
	return strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
}

func (df *dockerfile) continues(text string) bool {
	t := strings.TrimRight(text, " \t")
	return len(t) > 0 && t[len(t)-1] == df.escape
}

func parseFrom(args string) from {
	var f from
	fields := strings.Fields(args)
	i := 0
	for i < len(fields) && strings.HasPrefix(fields[i], "--") {
		i++
	}
	if i < len(fields) {
		f.image = fields[i]
	}
	if i+2 < len(fields) && strings.EqualFold(fields[i+1], "AS") {
		f.alias = fields[i+2]
	}
	return f
}

// stageEnd returns the index in instrs after the last instruction of the
// stage that starts at instrs[s].
func (df *dockerfile) stageEnd(stage int) int {
	if stage+1 < len(df.stages) {
		return df.stages[stage+1]
	}
	return len(df.instrs)
}

// parentStage returns the stage that a stage's FROM names, or -1 when it
// names an image.
func (df *dockerfile) parentStage(stage int) int {
	img := parseFrom(df.instrs[df.stages[stage]].args).image
	for s := stage - 1; s >= 0; s-- {
		if a := parseFrom(df.instrs[df.stages[s]].args).alias; a != "" && strings.EqualFold(a, img) {
			return s
		}
	}
	return -1
}

// chain lists a stage and the stages it is built FROM, the stage first.
func (df *dockerfile) chain(stage int) []int {
	out := []int{stage}
	for s := df.parentStage(stage); s >= 0 && !slices.Contains(out, s); s = df.parentStage(s) {
		out = append(out, s)
	}
	return out
}

var (
	pkgInstallRe = regexp.MustCompile(`(?i)\b(apt-get|apt|aptitude|apk|dnf|yum|microdnf|tdnf|zypper)\b\s+([^&;|]*\s)?(install|add|upgrade|update|dist-upgrade|in|up)\b`)
	microdnfRe   = regexp.MustCompile(`\bmicrodnf\b`)
	tdnfRe       = regexp.MustCompile(`\btdnf\b`)
	zypperRe     = regexp.MustCompile(`\bzypper\b`)
	yumRe        = regexp.MustCompile(`\byum\b`)
	dnfRe        = regexp.MustCompile(`(^|[^a-z])dnf\b`)
)

// edit replaces del lines at line index at with ins.
type edit struct {
	at, del int
	ins     []string
}

// upgradeEdits inserts the OS-package RUN into the final stage.
func (df *dockerfile) upgradeEdits(upgrades []sextant.Action) ([]edit, error) {
	final := len(df.stages) - 1
	chain := df.chain(final)
	root := parseFrom(df.instrs[df.stages[chain[len(chain)-1]]].args).image
	if img := strings.ToLower(root); img == "scratch" || strings.Contains(img, "distroless") {
		return nil, sextant.Errorf(sextant.EINVALID, "dockerfile diff: the final stage is built from %s, which has no package manager: rebuild its base image instead", quoteForNote(root))
	}
	eco := upgrades[0].Ecosystem
	slices.SortFunc(upgrades, func(a, b sextant.Action) int { return strings.Compare(a.Package, b.Package) })
	mgr := df.rpmManagerHint(chain, root)
	specs := make([]string, 0, len(upgrades))
	var vulns []string
	for _, u := range upgrades {
		if u.Ecosystem != eco {
			return nil, sextant.Errorf(sextant.EINVALID, "dockerfile diff: OS packages of two ecosystems (%s and %s) for one image", quoteForNote(eco), quoteForNote(u.Ecosystem))
		}
		if why := checkLegal(eco, u.Package, u.TargetVersion); why != "" {
			return nil, sextant.Errorf(sextant.EINVALID, "dockerfile diff: %s", why)
		}
		if eco == "rpm" && mgr == "" && len(u.Commands) > 0 {
			mgr, _, _ = strings.Cut(u.Commands[0], " ")
		}
		vulns = append(vulns, u.Vulnerabilities...)
	}
	switch eco {
	case "deb":
		mgr = mgrApt
	case "apk":
		mgr = mgrApk
	default:
		switch mgr {
		case mgrDnf, mgrYum, mgrMicrodnf, mgrTdnf, mgrZypper:
		default:
			mgr = mgrDnf
		}
	}
	for _, u := range upgrades {
		specs = append(specs, osSpec(mgr, u.Package, u.TargetVersion))
	}

	// Insert after the stage's last package-installing RUN, so that the
	// upgrade also covers what that RUN installed, else after FROM.
	start, end := df.stages[final], df.stageEnd(final)
	after := start
	for i := start + 1; i < end; i++ {
		if df.instrs[i].cmd == "RUN" && pkgInstallRe.MatchString(df.instrs[i].args) {
			after = i
		}
	}
	user := df.userAt(chain, after)

	var lines []string
	lines = append(lines, fmt.Sprintf("# sextant: upgrade %s to fix %s", plural(len(upgrades), "OS package"), vulnWord(sextant.SortStrings(vulns))))
	if user != "" {
		lines = append(lines, "USER root")
	}
	lines = append(lines, df.runLines(mgr, specs)...)
	if user != "" {
		lines = append(lines, "USER "+user)
	}
	for i := range lines {
		lines[i] += df.eol
	}
	return []edit{{at: df.instrs[after].end + 1, ins: lines}}, nil
}

// rpmManagerHint reads which RPM package manager the stages use.
func (df *dockerfile) rpmManagerHint(chain []int, root string) string {
	var runs strings.Builder
	for _, s := range chain {
		for i := df.stages[s] + 1; i < df.stageEnd(s); i++ {
			if df.instrs[i].cmd == "RUN" {
				runs.WriteString(df.instrs[i].args)
				runs.WriteByte('\n')
			}
		}
	}
	r := runs.String()
	img := strings.ToLower(root)
	switch {
	case microdnfRe.MatchString(r) || strings.Contains(img, "ubi") && strings.Contains(img, "minimal"):
		return mgrMicrodnf
	case tdnfRe.MatchString(r):
		return mgrTdnf
	case zypperRe.MatchString(r):
		return mgrZypper
	case dnfRe.MatchString(r):
		return mgrDnf
	case yumRe.MatchString(r):
		return mgrYum
	}
	return ""
}

// userAt returns the non-root user in effect after instrs[at] in the final
// stage of chain, or "" for root or when no USER is set.
func (df *dockerfile) userAt(chain []int, at int) string {
	user := ""
	for k := len(chain) - 1; k >= 0; k-- {
		s := chain[k]
		end := df.stageEnd(s)
		if k == 0 {
			end = at + 1
		}
		for i := df.stages[s] + 1; i < end; i++ {
			if df.instrs[i].cmd == "USER" {
				user = df.instrs[i].args
			}
		}
	}
	switch user {
	case "", "root", "0", "root:root", "0:0", "root:0", "0:root":
		return ""
	}
	return user
}

// runLines renders the upgrade as one RUN instruction: one line when short,
// else one package per continuation line.
func (df *dockerfile) runLines(mgr string, specs []string) []string {
	one := "RUN " + upgradeLine(mgr, specs, true)
	if len(one) <= 100 {
		return []string{one}
	}
	prefix, suffix := upgradeParts(mgr, true)
	esc := " " + string(df.escape)
	var out []string
	// "a && b" prefixes start a new line at each "&&" for readability.
	parts := strings.Split(prefix, " && ")
	out = append(out, "RUN "+parts[0]+esc)
	for _, p := range parts[1:] {
		out = append(out, " && "+p+esc)
	}
	for i, s := range specs {
		line := "      " + shellQuote(s)
		if i < len(specs)-1 || suffix != "" {
			line += esc
		}
		out = append(out, line)
	}
	if suffix != "" {
		out = append(out, " "+suffix)
	}
	return out
}

var argRe = regexp.MustCompile(`^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$`)

// baseEdits points the base image's FROM at a newer image, or comments it.
func (df *dockerfile) baseEdits(a sextant.Action) ([]edit, error) {
	chain := df.chain(len(df.stages) - 1)
	fi := df.instrs[df.stages[chain[len(chain)-1]]]
	f := parseFrom(fi.args)
	if strings.EqualFold(f.image, "scratch") {
		return nil, sextant.Errorf(sextant.EINVALID, "dockerfile diff: the final stage is built FROM scratch, which has no base image to rebuild")
	}
	newer := strings.TrimSpace(a.TargetVersion)
	if validImageRef(newer) && newer != f.image {
		if m := argRe.FindStringSubmatch(f.image); m != nil {
			if e, ok := df.argDefaultEdit(m[1], newer); ok {
				return []edit{e}, nil
			}
		} else if fi.start == fi.end {
			if line, ok := replaceWord(df.lines[fi.start], f.image, newer); ok {
				return []edit{{at: fi.start, del: 1, ins: []string{line}}}, nil
			}
		}
	}
	comment := fmt.Sprintf("# sextant: rebuild with docker build --pull --no-cache to pick up the patched base image (resolves %d findings); pin the newest patch tag of %s when one is published", len(a.FindingIDs), clean(f.image))
	return []edit{{at: fi.start, ins: []string{comment + df.eol}}}, nil
}

// argDefaultEdit replaces the default of a global ARG (declared before the
// first FROM, on one line).
func (df *dockerfile) argDefaultEdit(name, value string) (edit, bool) {
	for i := 0; i < df.stages[0]; i++ {
		in := df.instrs[i]
		if in.cmd != "ARG" || in.start != in.end {
			continue
		}
		k, v, ok := strings.Cut(in.args, "=")
		if !ok || strings.TrimSpace(k) != name {
			continue
		}
		v = strings.Trim(strings.TrimSpace(v), `"'`)
		if line, ok := replaceWord(df.lines[in.start], v, value); ok && v != "" {
			return edit{at: in.start, del: 1, ins: []string{line}}, true
		}
	}
	return edit{}, false
}

// replaceWord replaces the last whole-word occurrence of old in line.
func replaceWord(line, old, new string) (string, bool) {
	if old == "" {
		return "", false
	}
	for end := len(line); end > 0; {
		i := strings.LastIndex(line[:end], old)
		if i < 0 {
			break
		}
		before, after := byte(' '), byte(' ')
		if i > 0 {
			before = line[i-1]
		}
		if j := i + len(old); j < len(line) {
			after = line[j]
		}
		if strings.IndexByte(" \t=\"'", before) >= 0 && strings.IndexByte(" \t\r\n\"'", after) >= 0 {
			return line[:i] + new + line[i+len(old):], true
		}
		end = i
	}
	return "", false
}

// apply returns the lines after edits, keeping whether the file ended
// with a newline.
func (df *dockerfile) apply(edits []edit) []string {
	slices.SortStableFunc(edits, func(a, b edit) int {
		if a.at != b.at {
			return a.at - b.at
		}
		return a.del - b.del // insertions before a replacement at the same line
	})
	out := make([]string, 0, len(df.lines)+8)
	e := 0
	for i := 0; i <= len(df.lines); i++ {
		skip := 0
		for e < len(edits) && edits[e].at == i {
			out = append(out, edits[e].ins...)
			skip = max(skip, edits[e].del)
			e++
		}
		if i == len(df.lines) {
			break
		}
		if skip > 0 {
			i += skip - 1
			continue
		}
		out = append(out, df.lines[i])
	}
	if len(out) == 0 {
		return out
	}
	for i := range out[:len(out)-1] {
		if !strings.HasSuffix(out[i], "\n") {
			out[i] += df.eol
		}
	}
	last := &out[len(out)-1]
	if n := len(df.lines); n > 0 && !strings.HasSuffix(df.lines[n-1], "\n") {
		*last = bare(*last)
	} else if !strings.HasSuffix(*last, "\n") {
		*last += df.eol
	}
	return out
}

// plural says "1 thing" or "n things".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
