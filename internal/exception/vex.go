package exception

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/vex"
)

// Skipped is an assessment that gives no VEX statement, and why.
type Skipped struct {
	ID  string
	Why string
}

// Statements returns the OpenVEX statements of the accepted not_affected
// assessments, one per vulnerability: the products are the images by
// digest (the request's artifact when it names a digest or a package URL,
// else the repository digests the scans give), with the request's purl as
// their subcomponent; the justification, the impact statement, and a
// status note naming the exception and its expiry. Assessments that are
// not accepted, or accepted_risk, are skipped with a reason; an accepted
// not_affected exception whose product or vulnerability cannot be named is
// an EINVALID error, since a statement must say what it is about.
func Statements(as []Assessment) ([]vex.Statement, []Skipped, error) {
	var out []vex.Statement
	var skipped []Skipped
	for _, a := range as {
		r := a.Request
		switch {
		case r.Status != NotAffected:
			skipped = append(skipped, Skipped{r.ID, "accepted_risk is not a VEX status; only not_affected exceptions are exported"})
			continue
		case !a.Accepted:
			skipped = append(skipped, Skipped{r.ID, fmt.Sprintf("not accepted (verdict %s%s)", a.Verdict, firstFailure(a))})
			continue
		}
		products, err := products(a)
		if err != nil {
			return nil, nil, err
		}
		vulns := map[string][]string{}
		var order []string
		addVuln := func(id string, aliases []string) {
			if _, ok := vulns[id]; !ok {
				order = append(order, id)
			}
			for _, al := range aliases {
				if !strings.EqualFold(al, id) && !slices.Contains(vulns[id], al) {
					vulns[id] = append(vulns[id], al)
				}
			}
			if vulns[id] == nil {
				vulns[id] = []string{}
			}
		}
		if r.Vulnerability != "" {
			var aliases []string
			for _, f := range a.Facts.Findings {
				if strings.EqualFold(f.Vulnerability, r.Vulnerability) {
					aliases = append(aliases, f.Aliases...)
				}
			}
			addVuln(r.Vulnerability, aliases)
		} else {
			for _, f := range a.Facts.Findings {
				addVuln(f.Vulnerability, f.Aliases)
			}
		}
		if len(order) == 0 {
			return nil, nil, sextant.Errorf(sextant.EINVALID, "exception %s: no vulnerability to state: name it (vulnerability:) or give the scans that report the %s", r.ID, strings.SplitN(r.Key(), " ", 2)[0])
		}
		note := fmt.Sprintf("sextant exception %q accepted under policy %s until %s", r.ID, a.Policy.Name, r.Expires)
		if r.Approval != nil && a.Verdict == Route {
			note += fmt.Sprintf("; approved by %s on %s", r.Approval.By, r.Approval.At)
		}
		for _, id := range order {
			out = append(out, vex.Statement{
				Vulnerability:   vex.Vulnerability{Name: id, Aliases: vulns[id]},
				Timestamp:       a.AssessedAt,
				Products:        products,
				Status:          vex.NotAffected,
				StatusNotes:     note,
				Justification:   r.Justification,
				ImpactStatement: r.ImpactStatement,
			})
		}
	}
	return out, skipped, nil
}

// products returns the products a not_affected exception is about.
func products(a Assessment) ([]vex.Product, error) {
	r := a.Request
	var refs []string
	switch {
	case strings.HasPrefix(r.Artifact, "pkg:"):
		c, err := vex.PackageComponent(r.Artifact)
		if err != nil {
			return nil, sextant.Errorf(sextant.EINVALID, "exception %s: artifact: %s", r.ID, sextant.ErrorMessage(err))
		}
		return withSub(r, []vex.Product{{Component: c}})
	case strings.Contains(r.Artifact, "@"):
		refs = []string{r.Artifact}
	default:
		for _, f := range a.Facts.Findings {
			if f.Digest != "" && !slices.Contains(refs, f.Digest) {
				refs = append(refs, f.Digest)
			}
		}
	}
	if len(refs) == 0 {
		return nil, sextant.Errorf(sextant.EINVALID, "exception %s: the image is not named by digest: write artifact as registry/repo@sha256:… or give a scan that reports its repository digest", r.ID)
	}
	var ps []vex.Product
	for _, ref := range refs {
		p, err := vex.ImageProduct(ref)
		if err != nil {
			return nil, sextant.Errorf(sextant.EINVALID, "exception %s: %s", r.ID, sextant.ErrorMessage(err))
		}
		ps = append(ps, p)
	}
	return withSub(r, ps)
}

func withSub(r Request, ps []vex.Product) ([]vex.Product, error) {
	if r.PURL == "" {
		return ps, nil
	}
	c, err := vex.PackageComponent(r.PURL)
	if err != nil {
		return nil, sextant.Errorf(sextant.EINVALID, "exception %s: purl: %s", r.ID, sextant.ErrorMessage(err))
	}
	for i := range ps {
		ps[i].Subcomponents = []vex.Component{c}
	}
	return ps, nil
}

func firstFailure(a Assessment) string {
	for _, x := range a.Reasons {
		if x.Outcome == a.Verdict && x.Outcome != Approve {
			return ": " + x.Check + ", " + x.Message
		}
	}
	return ""
}
