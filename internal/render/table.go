package render

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/triage"
)

const (
	ansiReset = "\x1b[0m"
	ansiBold  = "\x1b[1m"
	ansiDim   = "\x1b[2m"
)

var priorityColor = map[sextant.Priority]string{
	sextant.P0: "\x1b[1;31m", // bold red
	sextant.P1: "\x1b[33m",   // yellow
	sextant.P2: "\x1b[36m",   // cyan
	sextant.P3: "\x1b[2m",    // dim
}

// Table writes the ranked actions as a terminal table: one row per action
// with its priority, score, title and what it fixes, and under it the
// commands that carry it out. It fits Options.Width and uses colour only
// when Options.Color is set.
func Table(w io.Writer, res *triage.Result, o Options) error {
	// Width 0 means no limit (output to a file or a pipe): nothing is cut.
	width := o.Width
	if width > 0 && width < 60 {
		width = 60
	}
	c := func(code, s string) string {
		if !o.Color || code == "" {
			return s
		}
		return code + s + ansiReset
	}
	acts := actions(res, o)
	bw := &errWriter{w: w}
	if len(acts) == 0 {
		if res.Summary.Findings == 0 {
			bw.printf("No findings.\n")
		} else {
			bw.printf("No actions at %s or above.\n", o.MinPriority)
		}
	} else {
		const fixesW = 22
		// "  #  PRI  SCORE  " prefix is 18 wide.
		titleW := width - 18 - fixesW - 2
		if width == 0 {
			titleW = 0
			for _, ai := range acts {
				titleW = max(titleW, utf8.RuneCountInString(res.Actions[ai].Title))
			}
		}
		if titleW < 20 {
			titleW = 20
		}
		cmdW := width - 20
		if width == 0 {
			cmdW = 1 << 20
		}
		bw.printf("%s\n", c(ansiBold, fmt.Sprintf("%3s  %-3s  %5s  %-*s  %s", "#", "PRI", "SCORE", titleW, "ACTION", "FIXES")))
		for i, ai := range acts {
			a := res.Actions[ai]
			bw.printf("%3d  %s  %5.1f  %-*s  %s\n", i+1, c(priorityColor[a.Priority], a.Priority.String()), a.Score,
				titleW, truncate(a.Title, titleW), fixes(res.Vulnerabilities(ai), res.FindingCount(ai)))
			indent := strings.Repeat(" ", 18)
			for _, cmd := range a.Commands {
				// A one-line command gets a prompt; a multi-line snippet
				// (a build-file override) is shown as it is, indented.
				prompt := "$ "
				if strings.Contains(cmd, "\n") {
					prompt = "  "
				}
				for _, line := range strings.Split(cmd, "\n") {
					bw.printf("%s%s\n", indent, c(ansiDim, prompt+truncate(line, cmdW)))
				}
			}
			if x := o.Explanations[a.ID]; x != nil && x.Risk != "" {
				bw.printf("%s%s\n", indent, "» "+truncate(x.Risk, cmdW-2))
			}
		}
	}
	bw.printf("\n%s\n", summaryLine(res, acts, o))
	return bw.err
}

func fixes(vulns []string, findings int) string {
	n := len(vulns)
	switch {
	case n == 1:
		return vulns[0]
	case n > 1:
		return fmt.Sprintf("%d vulnerabilities", n)
	}
	return fmt.Sprintf("%d findings", findings)
}

func summaryLine(res *triage.Result, shown []int, o Options) string {
	s := res.Summary
	var parts []string
	for _, p := range []string{"P0", "P1", "P2", "P3"} {
		parts = append(parts, fmt.Sprintf("%s %d", p, s.ByPriority[p].Actions))
	}
	line := fmt.Sprintf("%d findings from %d report(s) in %d artifact(s) → %d actions (%s)",
		s.Findings, s.Reports, s.Artifacts, s.Actions, strings.Join(parts, ", "))
	if len(shown) < s.Actions {
		line += fmt.Sprintf("; showing %d", len(shown))
	}
	intel := "intel: "
	if s.Intel.KEV {
		intel += "KEV " + orDash(s.Intel.KEVVersion)
	} else {
		intel += "KEV off"
	}
	if s.Intel.EPSS {
		intel += ", EPSS " + orDash(s.Intel.EPSSDate)
	} else if s.Intel.ReportScores {
		intel += ", EPSS from reports"
	} else {
		intel += ", EPSS off"
	}
	if s.KEVFindings > 0 {
		intel += fmt.Sprintf("; %d known-exploited findings", s.KEVFindings)
	}
	return line + "\n" + intel
}

func orDash(s string) string {
	if s == "" {
		return "(undated)"
	}
	return s
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 1 {
		return "…"
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err != nil {
		return
	}
	_, e.err = fmt.Fprintf(e.w, format, args...)
}
