package trivy

import (
	"strings"

	"github.com/sextant-dev/sextant"
)

// resource is one Kubernetes resource of a `trivy k8s` report, with the
// results found in it.
type resource struct {
	Namespace string
	Kind      string
	Name      string
	meta      []metadata
	done      bool

	// image is the image of the latest OS result read, which the
	// language-package results after it belong to.
	image *imageRef
	// metaImage is the image of the resource's Metadata, for results
	// whose Target names none.
	metaImage *imageRef
}

// imageRef is an image named by a result Target.
type imageRef struct {
	name, family, version string
	art                   *sextant.Artifact
}

// resources walks an array of k8s resources: Resources (current shape),
// Findings (consolidated shape), or Vulnerabilities and Misconfigurations
// (the older summary shape).
func (p *parser) resources(name string) error {
	ok, err := p.expect('[', name)
	if err != nil || !ok {
		return err
	}
	for p.dec.PeekKind() != ']' {
		if err := p.resource(name); err != nil {
			return err
		}
	}
	_, err = p.dec.ReadToken()
	return err
}

func (p *parser) resource(arr string) error {
	off := p.dec.InputOffset()
	ok, err := p.expect('{', "an entry of "+arr)
	if err != nil {
		return err
	}
	if !ok {
		p.warnf("a null entry of %s at byte %d was skipped", arr, off)
		return nil
	}
	res := &resource{}
	for p.dec.PeekKind() != '}' {
		name, err := p.readName()
		if err != nil {
			return err
		}
		switch {
		case strings.EqualFold(name, "Namespace"):
			err = p.decode(&res.Namespace)
		case strings.EqualFold(name, "Kind"):
			err = p.decode(&res.Kind)
		case strings.EqualFold(name, "Name"):
			err = p.decode(&res.Name)
		case strings.EqualFold(name, "Metadata"):
			// One object in Trivy's output; accept a list too.
			if p.dec.PeekKind() == '[' {
				var ms []metadata
				err = p.decode(&ms)
				res.meta = append(res.meta, ms...)
			} else {
				var m metadata
				err = p.decode(&m)
				res.meta = append(res.meta, m)
			}
		case strings.EqualFold(name, "Results"):
			err = p.results(res)
		case strings.EqualFold(name, "Error"):
			var s string
			if err = p.decode(&s); err == nil && s != "" {
				p.partial = true
				p.warnf("resource %s was not scanned completely: %s", res.location(), s)
			}
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
	res.done = true
	return p.flush()
}

// resultDone links a finished result to the image it belongs to: the one
// its Target names, else the latest one named before it in the resource.
func (res *resource) resultDone(r *result) {
	if r.image != "" {
		res.image = &imageRef{name: r.image, family: r.osFamily, version: r.osVersion}
	}
	r.img = res.image
}

// location names the resource "namespace/Kind/name" (cluster-scoped
// resources have no namespace).
func (res *resource) location() string {
	var parts []string
	for _, s := range []string{res.Namespace, res.Kind, res.Name} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "/")
}

// artifact is the resource itself as an artifact: what misconfigurations
// are about.
func (res *resource) artifact() sextant.Artifact {
	return sextant.Artifact{Name: res.location(), Type: "kubernetes"}
}

// imageArtifactFor returns the artifact a vulnerability or secret of result
// r belongs to.
func (p *parser) imageArtifactFor(r *result, f *sextant.Finding) sextant.Artifact {
	res := r.resource
	if res == nil {
		return p.topArtifact()
	}
	img := res.imageOf(r)
	if img == nil {
		f.Warnings = append(f.Warnings, "no image is named for this finding; it is attributed to the Kubernetes resource")
		return res.artifact()
	}
	if img.art == nil {
		a := res.imageArtifact(img)
		img.art = &a
	}
	return *img.art
}

// imageOf returns the image a result was found in (see resultDone), else
// the image the resource's metadata describes.
func (res *resource) imageOf(r *result) *imageRef {
	if r.img != nil {
		return r.img
	}
	if res.metaImage == nil {
		for i := range res.meta {
			if res.meta[i].hasImage() {
				res.metaImage = &imageRef{}
				break
			}
		}
	}
	return res.metaImage
}

// imageArtifact builds the artifact of an image of the resource, from the
// metadata that names it when there is some.
func (res *resource) imageArtifact(img *imageRef) sextant.Artifact {
	var withImage []*metadata
	for i := range res.meta {
		if m := &res.meta[i]; m.hasImage() {
			withImage = append(withImage, m)
		}
	}
	var m *metadata
	for _, c := range withImage {
		for _, t := range c.RepoTags {
			if t == img.name || strings.TrimPrefix(img.name, "docker.io/") == t {
				m = c
			}
		}
	}
	if m == nil && len(withImage) == 1 && img.name == "" {
		m = withImage[0]
	}
	if m != nil {
		name := img.name
		if name == "" {
			if tags := nonEmpty(m.RepoTags); len(tags) > 0 {
				name = tags[0]
			}
		}
		return artifactFromMetadata(name, "container_image", m)
	}
	a := sextant.Artifact{Name: img.name, Type: "container_image", OSFamily: img.family, OSVersion: img.version}
	setRepoTag(&a, img.name)
	return a
}
