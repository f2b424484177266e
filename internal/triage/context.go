package triage

import (
	"bytes"
	"os"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/sextant-dev/sextant"
)

// ContextFile is the on-disk shape of a context file: what is known about
// where each image runs, until the Kubernetes inventory supplies it. YAML or
// JSON:
//
//	images:
//	  registry.example.com/shop/web:1.4:   # repo:tag, repo, image ID or digest
//	    environment: production
//	    exposed: true                      # reachable from the internet
//	    privileged: false
//	    loaded_packages: [openssl, libssl3]
//	    owner: team-web
//	    workloads: 3
//	    replicas: 12
//
// An image is matched by digest first, then repository:tag, then repository
// alone, then the name the report gave it.
type ContextFile struct {
	Images map[string]sextant.ArtifactContext `json:"images"`
}

// Contexts looks artifacts up in a context file.
type Contexts struct {
	byKey map[string]*sextant.ArtifactContext
}

// LoadContexts reads a context file. Unknown keys are an error naming them,
// so that a typo does not silently drop context.
func LoadContexts(path string) (*Contexts, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, sextant.Errorf(sextant.EINVALID, "read context file: %v", err)
	}
	return ParseContexts(b, path)
}

// ParseContexts parses the bytes of a context file; name is used in errors.
func ParseContexts(b []byte, name string) (*Contexts, error) {
	var cf ContextFile
	if err := yaml.UnmarshalStrict(bytes.TrimSpace(b), &cf); err != nil {
		return nil, sextant.Errorf(sextant.EINVALID, "parse context file %s: %v", name, err)
	}
	c := &Contexts{byKey: make(map[string]*sextant.ArtifactContext, len(cf.Images))}
	for k, v := range cf.Images {
		if strings.TrimSpace(k) == "" {
			return nil, sextant.Errorf(sextant.EINVALID, "parse context file %s: an image key is empty", name)
		}
		if v.Workloads < 0 || v.Replicas < 0 {
			return nil, sextant.Errorf(sextant.EINVALID, "parse context file %s: image %q: workloads and replicas must not be negative", name, k)
		}
		v := v
		if v.Evidence == nil {
			v.Evidence = map[string]string{}
		}
		for _, field := range []string{"environment", "exposed", "privileged", "loaded_packages", "owner", "workloads"} {
			if _, ok := v.Evidence[field]; !ok {
				v.Evidence[field] = "context file " + name
			}
		}
		c.byKey[strings.ToLower(k)] = &v
	}
	return c, nil
}

// Len returns the number of images described.
func (c *Contexts) Len() int { return len(c.byKey) }

// Lookup returns the context of an artifact, or nil.
func (c *Contexts) Lookup(a sextant.Artifact) *sextant.ArtifactContext {
	if c == nil {
		return nil
	}
	try := []string{a.Digest}
	try = append(try, a.RepoDigests...)
	for _, t := range a.Tags {
		try = append(try, a.Repository+":"+t)
	}
	try = append(try, a.Repository, a.Name)
	if repo, tag, _ := sextant.SplitImageRef(a.Name); repo != "" {
		if tag != "" {
			try = append(try, repo+":"+tag)
		}
		try = append(try, repo)
	}
	for _, k := range try {
		if k == "" {
			continue
		}
		if v, ok := c.byKey[strings.ToLower(k)]; ok {
			return v
		}
	}
	return nil
}
