package trivy

import (
	"fmt"
	"strings"

	"github.com/sextant-dev/sextant"
)

// metadata is a report's (or a k8s resource's) Metadata: what Trivy knows
// about the scanned image.
type metadata struct {
	OS          *osInfo
	ImageID     string
	DiffIDs     []string
	RepoTags    []string
	RepoDigests []string
	ImageConfig struct {
		History []historyEntry `json:"history"`
		RootFS  struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
}

type osInfo struct {
	Family string
	Name   string
	EOSL   bool
}

// historyEntry is one entry of an image config's history.
type historyEntry struct {
	CreatedBy  string `json:"created_by"`
	EmptyLayer bool   `json:"empty_layer"`
}

// hasImage reports whether the metadata identifies an image. Trivy k8s
// writes an all-zero Metadata for resources without one.
func (m *metadata) hasImage() bool {
	return m.ImageID != "" || len(nonEmpty(m.RepoTags)) > 0 || len(nonEmpty(m.RepoDigests)) > 0
}

// topArtifact returns the artifact of a schema-2 or legacy report, as far
// as the fields read so far describe it.
func (p *parser) topArtifact() sextant.Artifact {
	t := p.top
	if t.artifactComputed {
		return t.artifact
	}
	t.artifactComputed = true
	t.artifactWarnings = nil
	if t.legacy {
		t.artifact = p.legacyArtifact()
		return t.artifact
	}
	a := artifactFromMetadata(t.artifactName, t.artifactType, &t.meta)
	if t.artifactName == "" && a.Name != "" {
		t.artifactWarnings = append(t.artifactWarnings, fmt.Sprintf("ArtifactName is empty; the artifact is named %s from its metadata", a.Name))
	}
	if a.Name == "" {
		a.Name = p.src.File
		t.artifactWarnings = append(t.artifactWarnings, fmt.Sprintf("the report names no artifact; findings are attributed to the report file %q", p.src.File))
	}
	t.artifact = a
	return a
}

// legacyArtifact names the artifact of a legacy report after its first
// result's Target.
func (p *parser) legacyArtifact() sextant.Artifact {
	t := p.top
	target := t.legacyTarget
	if image, family, version := splitTarget(target); image != "" {
		a := sextant.Artifact{Name: image, Type: "container_image", OSFamily: family, OSVersion: version}
		setRepoTag(&a, image)
		return a
	}
	if target == "" || target == "-" {
		t.artifactWarnings = append(t.artifactWarnings, fmt.Sprintf("the report names no artifact; findings are attributed to the report file %q", p.src.File))
		return sextant.Artifact{Name: p.src.File}
	}
	return sextant.Artifact{Name: target, Type: "filesystem"}
}

// artifactFromMetadata builds an artifact from what Trivy wrote about it.
func artifactFromMetadata(name, artifactType string, m *metadata) sextant.Artifact {
	a := sextant.Artifact{Name: name, Type: artifactTypeName(artifactType, m)}
	tags := nonEmpty(m.RepoTags)
	digests := nonEmpty(m.RepoDigests)
	if a.Name == "" {
		switch {
		case len(tags) > 0:
			a.Name = tags[0]
		case len(digests) > 0:
			a.Name = digests[0]
		default:
			a.Name = m.ImageID
		}
	}
	if len(tags) > 0 {
		repo, _, _ := sextant.SplitImageRef(tags[0])
		a.Repository = repo
		for _, t := range tags {
			if r, tag, _ := sextant.SplitImageRef(t); r == repo && tag != "" {
				a.Tags = append(a.Tags, tag)
			}
		}
	} else if a.Type == "container_image" && name != "" && looksLikeImageRef(name) {
		setRepoTag(&a, name)
	}
	a.RepoDigests = digests
	a.Digest = m.ImageID
	if a.Digest == "" && len(digests) > 0 {
		_, _, a.Digest = sextant.SplitImageRef(digests[0])
	}
	if m.OS != nil {
		a.OSFamily, a.OSVersion = m.OS.Family, m.OS.Name
	}
	a.Layers = m.DiffIDs
	if len(a.Layers) == 0 {
		a.Layers = m.ImageConfig.RootFS.DiffIDs
	}
	a.BaseLayers = baseLayers(m.ImageConfig.History, len(a.Layers))
	return a
}

// looksLikeImageRef tells an image reference from the other names Trivy
// gives images: an image ID, or the path of an image archive.
func looksLikeImageRef(name string) bool {
	return !strings.HasPrefix(name, "sha256:") && !strings.HasSuffix(name, ".tar") &&
		!strings.HasSuffix(name, ".tar.gz") && !strings.ContainsAny(name, " \\")
}

// setRepoTag fills Repository and Tags from an image reference.
func setRepoTag(a *sextant.Artifact, ref string) {
	repo, tag, _ := sextant.SplitImageRef(ref)
	a.Repository = repo
	if tag != "" {
		a.Tags = []string{tag}
	}
}

// artifactTypeName maps Trivy's ArtifactType onto sextant's words.
func artifactTypeName(t string, m *metadata) string {
	switch t {
	case "cyclonedx", "spdx":
		return "sbom"
	case "":
		if m.hasImage() {
			return "container_image"
		}
	}
	return t
}

// baseLayers guesses how many of an image's layers come from its base
// image, the way Trivy's image analysis does: walking the history from the
// end, the image's own trailing no-op entries (CMD, ENTRYPOINT, EXPOSE…)
// are passed over; after the first entry that made a layer, the next CMD
// or ENTRYPOINT no-op going backwards is taken as the end of the base
// image. The layers made up to it are the base. 0 means unknown.
func baseLayers(history []historyEntry, nLayers int) int {
	end := -1
	madeLayer := false
	for i := len(history) - 1; i >= 0; i-- {
		h := history[i]
		if !h.EmptyLayer {
			madeLayer = true
			continue
		}
		if madeLayer && endsBaseImage(h.CreatedBy) {
			end = i
			break
		}
	}
	if end < 0 {
		return 0
	}
	n := 0
	for _, h := range history[:end] {
		if !h.EmptyLayer {
			n++
		}
	}
	if n == 0 || n >= nLayers {
		// The history does not match the layers: better unknown than
		// wrong.
		return 0
	}
	return n
}

// endsBaseImage reports whether a history entry is a CMD or ENTRYPOINT,
// written by the classic builder ("/bin/sh -c #(nop)  CMD [...]") or by
// BuildKit ("CMD [...]").
func endsBaseImage(createdBy string) bool {
	s := strings.TrimSpace(createdBy)
	if rest, ok := strings.CutPrefix(s, "/bin/sh -c #(nop)"); ok {
		s = strings.TrimSpace(rest)
	}
	return strings.HasPrefix(s, "CMD ") || strings.HasPrefix(s, "CMD[") ||
		strings.HasPrefix(s, "ENTRYPOINT ") || strings.HasPrefix(s, "ENTRYPOINT[")
}

// nonEmpty returns ss without empty strings, sharing ss when it has none.
func nonEmpty(ss []string) []string {
	for i, s := range ss {
		if s == "" {
			out := append([]string(nil), ss[:i]...)
			for _, s := range ss[i+1:] {
				if s != "" {
					out = append(out, s)
				}
			}
			return out
		}
	}
	return ss
}
