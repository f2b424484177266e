package trivyoperator

import (
	"fmt"
	"strings"

	"github.com/sextant-dev/sextant"
)

// complianceSpec is the spec of a ClusterComplianceReport: the controls of
// the benchmark.
type complianceSpec struct {
	Compliance struct {
		ID       string `json:"id"`
		Title    string `json:"title"`
		Controls []struct {
			ID          string `json:"id"`
			Name        string `json:"name"`
			Description string `json:"description"`
			Severity    string `json:"severity"`
		} `json:"controls"`
	} `json:"compliance"`
}

// complianceStatus is the status of a ClusterComplianceReport, in its
// summary form, its detail form, or both.
type complianceStatus struct {
	UpdateTimestamp timeValue `json:"updateTimestamp"`
	SummaryReport   *struct {
		ID           string `json:"id"`
		Title        string `json:"title"`
		ControlCheck []struct {
			ID        string `json:"id"`
			Name      string `json:"name"`
			Severity  string `json:"severity"`
			TotalFail *int   `json:"totalFail"`
		} `json:"controlCheck"`
	} `json:"summaryReport"`
	DetailReport *struct {
		ID      string `json:"id"`
		Title   string `json:"title"`
		Results []struct {
			ID          string `json:"id"`
			Name        string `json:"name"`
			Description string `json:"description"`
			Severity    string `json:"severity"`
			Checks      []struct {
				CheckID string `json:"checkID"`
				Success bool   `json:"success"`
			} `json:"checks"`
		} `json:"results"`
	} `json:"detailReport"`
}

// clusterArtifact is what compliance findings are about. Trivy Operator
// does not name the cluster in its resources.
var clusterArtifact = sextant.Artifact{Name: "cluster", Type: "kubernetes"}

// compliance emits one finding per failed control of a
// ClusterComplianceReport. The summary report decides when there is one
// (a control fails when totalFail > 0); otherwise the detail report (a
// control fails when one of its checks failed).
func (p *parser) compliance(o *object) error {
	st := o.Status
	if st == nil || (st.SummaryReport == nil && st.DetailReport == nil) {
		p.warnf("ClusterComplianceReport %q has no status report; no findings", o.Metadata.Name)
		return nil
	}
	src := p.source("", st.UpdateTimestamp)
	descr := map[string]string{}
	if o.Spec != nil {
		for _, c := range o.Spec.Compliance.Controls {
			descr[c.ID] = c.Description
		}
	}
	emit := func(benchmark, title, id, name, sev, detail string) error {
		f := &sextant.Finding{
			Kind:            sextant.KindMisconfiguration,
			VulnerabilityID: strings.TrimSpace(id),
			Title:           name,
			Description:     joinParagraphs(descr[id], detail),
			Location:        "compliance/" + benchmark,
			Artifact:        clusterArtifact,
			Source:          src,
			Warnings:        st.UpdateTimestamp.warnings(),
		}
		if title != "" {
			f.Title = title + ": " + id + " " + name
		}
		if f.VulnerabilityID == "" {
			f.Warnings = append(f.Warnings, "the control has no id")
		}
		severity(f, sev)
		return p.finish(f)
	}
	if sr := st.SummaryReport; sr != nil {
		benchmark := firstNonEmpty(sr.ID, o.Metadata.Name)
		for _, c := range sr.ControlCheck {
			if c.TotalFail == nil || *c.TotalFail <= 0 {
				p.passedControls++
				continue
			}
			detail := fmt.Sprintf("%d resources fail this control.", *c.TotalFail)
			if err := emit(benchmark, sr.Title, c.ID, c.Name, c.Severity, detail); err != nil {
				return err
			}
		}
		return nil
	}
	dr := st.DetailReport
	benchmark := firstNonEmpty(dr.ID, o.Metadata.Name)
	for _, c := range dr.Results {
		failed := 0
		for _, ch := range c.Checks {
			if !ch.Success {
				failed++
			}
		}
		if failed == 0 {
			p.passedControls++
			continue
		}
		if _, ok := descr[c.ID]; !ok {
			descr[c.ID] = c.Description
		}
		detail := fmt.Sprintf("%d checks of this control failed.", failed)
		if err := emit(benchmark, dr.Title, c.ID, c.Name, c.Severity, detail); err != nil {
			return err
		}
	}
	return nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
