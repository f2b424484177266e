package main

import (
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/intel"
	"github.com/sextant-dev/sextant/internal/risk"
	"github.com/sextant-dev/sextant/internal/triage"
)

func (m *Main) intelCache(dir string) *intel.Cache {
	if dir == "" {
		dir = m.Getenv("SEXTANT_INTEL_DIR")
	}
	return &intel.Cache{Dir: dir, Version: sextantVersion(), Client: &http.Client{},
		KEVURL: m.Getenv("SEXTANT_KEV_URL"), EPSSURL: m.Getenv("SEXTANT_EPSS_URL")}
}

// loadIntel fills the engine options with KEV and EPSS lookups, from the
// files given or the cache, warning about anything missing or stale. It
// fails only when a file the user named cannot be read.
func (m *Main) loadIntel(f triageFlags, opts *triage.Options, warnf func(string, ...any)) (triage.IntelStatus, error) {
	var st triage.IntelStatus
	st.ReportScores = true
	if f.noIntel {
		return st, nil
	}
	var kev *intel.KEV
	var epss *intel.EPSS
	var err error
	if f.kev != "" {
		if kev, err = intel.LoadKEVFile(f.kev); err != nil {
			return st, fmt.Errorf("--kev: %w", err)
		}
	}
	if f.epss != "" {
		if epss, err = intel.LoadEPSSFile(f.epss); err != nil {
			return st, fmt.Errorf("--epss: %w", err)
		}
	}
	if kev == nil || epss == nil {
		c := m.intelCache(f.intelDir)
		ck, ce, cst, err := c.Load()
		if err != nil {
			warnf("threat-intel cache unreadable (%v); going on without it", err)
		}
		if kev == nil {
			kev = ck
			feedWarning(warnf, "KEV catalog", cst.KEV)
		}
		if epss == nil {
			epss = ce
			feedWarning(warnf, "EPSS scores", cst.EPSS)
		}
	}
	if kev != nil && kev.Len() > 0 {
		for _, w := range kev.Warnings {
			warnf("KEV catalog: %s", w)
		}
		opts.KEV = func(cve string) (risk.KEVFact, bool) {
			e, ok := kev.Lookup(cve)
			if !ok {
				return risk.KEVFact{}, false
			}
			return risk.KEVFact{DateAdded: e.DateAdded.Format("2006-01-02"), Ransomware: e.Ransomware}, true
		}
		st.KEV, st.KEVVersion = true, kev.CatalogVersion
	}
	if epss != nil && epss.Len() > 0 {
		for _, w := range epss.Warnings {
			warnf("EPSS scores: %s", w)
		}
		opts.EPSS = epss.Lookup
		st.EPSS, st.EPSSModel = true, epss.ModelVersion
		if !epss.ScoreDate.IsZero() {
			st.EPSSDate = epss.ScoreDate.Format("2006-01-02")
		}
	}
	return st, nil
}

func feedWarning(warnf func(string, ...any), what string, s intel.FeedStatus) {
	switch {
	case s.Err != nil:
		warnf("cached %s unreadable (%v); going on without them. Run 'sextant intel update'", what, s.Err)
	case !s.Present:
		warnf("no %s: scoring without them. Run 'sextant intel update' (needs network) or pass a file", what)
	case s.Stale:
		warnf("cached %s are %s old; run 'sextant intel update'", what, roundAge(s.Age))
	}
}

func roundAge(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	}
	return d.Round(time.Minute).String()
}

func (m *Main) intelCommand() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "intel",
		Short: "Manage the threat-intel cache (CISA KEV catalog, FIRST EPSS scores)",
		Long: `sextant scores vulnerabilities with the CISA Known Exploited Vulnerabilities
catalog and FIRST EPSS exploit-prediction scores. 'intel update' downloads both
from their publishers into a cache directory; 'triage' reads them from there
and works without them (with a warning) when they are missing.

The cache directory is --dir, else $SEXTANT_INTEL_DIR, else the user cache
directory (~/.cache/sextant/intel on Linux). Behind a proxy, the usual
HTTPS_PROXY variables apply; from a mirror, set SEXTANT_KEV_URL and
SEXTANT_EPSS_URL.`,
	}
	cmd.PersistentFlags().StringVar(&dir, "dir", "", "cache directory")
	update := &cobra.Command{
		Use:   "update",
		Short: "Download the KEV catalog and EPSS scores (conditional requests; keeps the old copy on failure)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := m.intelCache(dir)
			errw := cmd.ErrOrStderr()
			res, err := c.Update(cmd.Context(), func(e intel.Event) {
				if e.Kind == intel.EventChecking {
					fmt.Fprintf(errw, "%s: checking %s\n", e.Feed, e.URL)
				}
			})
			out := cmd.OutOrStdout()
			for _, r := range []struct {
				name string
				r    intel.FeedResult
			}{{"KEV", res.KEV}, {"EPSS", res.EPSS}} {
				switch r.r.Outcome {
				case intel.Updated:
					fmt.Fprintf(out, "%-4s updated (%d bytes)\n", r.name, r.r.Bytes)
				case intel.NotModified:
					fmt.Fprintf(out, "%-4s already current\n", r.name)
				default:
					fmt.Fprintf(out, "%-4s not updated: %v\n", r.name, r.r.Err)
				}
			}
			if err != nil {
				// Each feed's failure is printed above; the cached copies
				// are untouched.
				if perr := m.printIntelStatus(cmd, c); perr != nil {
					return perr
				}
				return sextant.Errorf(sextant.EUNAVAILABLE, "intel update failed (see above); cached copies are unchanged and triage works without them")
			}
			return m.printIntelStatus(cmd, c)
		},
	}
	status := &cobra.Command{
		Use:   "status",
		Short: "Show what the cache holds and how old it is",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return m.printIntelStatus(cmd, m.intelCache(dir))
		},
	}
	cmd.AddCommand(update, status)
	return cmd
}

func (m *Main) printIntelStatus(cmd *cobra.Command, c *intel.Cache) error {
	_, _, st, err := c.Load()
	if err != nil {
		return sextant.Errorf(sextant.EUNAVAILABLE, "read threat-intel cache: %v", err)
	}
	out := cmd.OutOrStdout()
	for _, r := range []struct {
		name string
		s    intel.FeedStatus
	}{{"KEV", st.KEV}, {"EPSS", st.EPSS}} {
		switch {
		case !r.s.Present:
			fmt.Fprintf(out, "%-4s missing (%s)\n", r.name, r.s.Path)
		default:
			stale := ""
			if r.s.Stale {
				stale = " STALE"
			}
			fmt.Fprintf(out, "%-4s %s, fetched %s (%s ago)%s  %s\n", r.name, orDash(r.s.Version),
				r.s.FetchedAt.UTC().Format(time.RFC3339), roundAge(r.s.Age), stale, r.s.Path)
		}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
