package trivy

import "strings"

// result is the header of one entry of Results: one target (an OS, a lock
// file, a config file) of the scan.
type result struct {
	Target string
	Class  string
	Type   string

	seenTarget, seenType bool
	done                 bool

	// resource is the `trivy k8s` resource the result belongs to, nil
	// for image, filesystem and legacy reports.
	resource *resource
	// image, osFamily and osVersion name the image a k8s or legacy result
	// was found in, from a Target such as "redis:6.0.5 (debian 10.4)".
	image               string
	osFamily, osVersion string
	// img is the image a k8s result belongs to, set when it is done.
	img *imageRef
}

// Finding array names inside a result.
const (
	arrVulnerabilities   = "Vulnerabilities"
	arrMisconfigurations = "Misconfigurations"
	arrSecrets           = "Secrets"
)

// results walks a Results array. res is the k8s resource that holds it, or
// nil.
func (p *parser) results(res *resource) error {
	ok, err := p.expect('[', "Results")
	if err != nil || !ok {
		return err
	}
	for p.dec.PeekKind() != ']' {
		if err := p.result(res); err != nil {
			return err
		}
	}
	_, err = p.dec.ReadToken()
	return err
}

// result walks one result object, streaming its finding arrays.
func (p *parser) result(res *resource) error {
	off := p.dec.InputOffset()
	ok, err := p.expect('{', "an entry of Results")
	if err != nil {
		return err
	}
	if !ok {
		p.warnf("a null entry of Results at byte %d was skipped", off)
		return nil
	}
	r := &result{resource: res}
	for p.dec.PeekKind() != '}' {
		name, err := p.readName()
		if err != nil {
			return err
		}
		switch {
		case strings.EqualFold(name, "Target"):
			if err := p.decode(&r.Target); err != nil {
				return err
			}
			r.seenTarget = true
			r.image, r.osFamily, r.osVersion = splitTarget(r.Target)
			if p.top.legacy && p.top.legacyTarget == "" {
				p.top.legacyTarget = r.Target
				p.top.artifactComputed = false
			}
		case strings.EqualFold(name, "Class"):
			if err := p.decode(&r.Class); err != nil {
				return err
			}
		case strings.EqualFold(name, "Type"):
			if err := p.decode(&r.Type); err != nil {
				return err
			}
			r.seenType = true
		case strings.EqualFold(name, arrVulnerabilities):
			err = p.findings(r, arrVulnerabilities)
		case strings.EqualFold(name, arrMisconfigurations):
			err = p.findings(r, arrMisconfigurations)
		case strings.EqualFold(name, arrSecrets):
			err = p.findings(r, arrSecrets)
		default:
			err = p.dec.SkipValue()
		}
		if err != nil {
			return err
		}
	}
	if _, err := p.dec.ReadToken(); err != nil {
		return err
	}
	r.done = true
	if p.top.legacy && p.top.legacyTarget == "" {
		// A first result without a Target: the artifact stays unnamed.
		p.top.legacyTarget = "-"
	}
	if res != nil {
		res.resultDone(r)
	}
	return p.flush()
}

// findings streams one finding array of a result, decoding one element at
// a time.
func (p *parser) findings(r *result, arr string) error {
	ok, err := p.expect('[', arr)
	if err != nil || !ok {
		return err
	}
	for {
		switch p.dec.PeekKind() {
		case ']':
			_, err := p.dec.ReadToken()
			return err
		case 'n':
			off := p.dec.InputOffset()
			if _, err := p.dec.ReadToken(); err != nil {
				return err
			}
			p.warnf("a null entry of %s at byte %d was skipped", arr, off)
			continue
		}
		it := item{res: r}
		switch arr {
		case arrVulnerabilities:
			v := new(vulnerability)
			if p.vulns == nil {
				p.vulns = &vulnDecoder{dec: p.dec}
			}
			if err := p.vulns.decodeVulnerability(v); err != nil {
				return err
			}
			it.vuln = v
		case arrMisconfigurations:
			m := new(misconfiguration)
			if err := p.decode(m); err != nil {
				return err
			}
			switch strings.ToUpper(strings.TrimSpace(m.Status)) {
			case "PASS":
				p.passed++
				continue
			case "EXCEPTION":
				p.excepted++
				continue
			}
			it.misconf = m
		default:
			s := new(secret)
			if err := p.decode(s); err != nil {
				return err
			}
			it.secret = s
		}
		if err := p.add(it); err != nil {
			return err
		}
	}
}

// splitTarget splits a Target such as "docker.io/redis:6.0.5 (debian 10.4)"
// into the image name and its OS. Targets that do not end in an OS in
// parentheses (lock files, config files) give empty strings.
func splitTarget(target string) (image, family, version string) {
	i := strings.Index(target, " (")
	if i < 0 || !strings.HasSuffix(target, ")") {
		return "", "", ""
	}
	inner := target[i+2 : len(target)-1]
	family, version, _ = strings.Cut(inner, " ")
	if !osFamily(family) {
		return "", "", ""
	}
	return target[:i], family, version
}

// osFamily reports whether a word names a Linux distribution Trivy knows.
func osFamily(word string) bool {
	switch strings.ToLower(word) {
	case "alpine", "alma", "amazon", "cbl-mariner", "azurelinux", "centos", "chainguard", "debian",
		"echo", "fedora", "minimos", "opensuse", "opensuse-leap", "opensuse-tumbleweed", "opensuse.leap",
		"opensuse.tumbleweed", "oracle", "photon", "redhat", "rocky", "sles", "suse", "ubuntu", "wolfi",
		"bottlerocket", "coreos", "distroless", "slem":
		return true
	}
	return false
}
