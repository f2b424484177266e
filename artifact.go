package sextant

import "strings"

// Artifact is the thing that was scanned: a container image, a filesystem
// or repository, a Kubernetes resource.
type Artifact struct {
	// Name is how the report named the artifact ("nginx:1.25", "./app").
	Name string `json:"name"`
	// Type is "container_image", "filesystem", "repository", "sbom",
	// "kubernetes" or the report's own word.
	Type string `json:"type,omitempty"`
	// Repository is the image repository without tag or digest.
	Repository string   `json:"repository,omitempty"`
	Tags       []string `json:"tags,omitempty"`
	// Digest is the image ID (config digest) when known, else the manifest
	// (repo) digest.
	Digest      string   `json:"digest,omitempty"`
	RepoDigests []string `json:"repo_digests,omitempty"`
	OSFamily    string   `json:"os_family,omitempty"`
	OSVersion   string   `json:"os_version,omitempty"`
	// Layers are the image's layer diff IDs, base first, when known.
	Layers []string `json:"layers,omitempty"`
	// BaseLayers is how many of Layers come from the base image, when the
	// report lets that be inferred (0: unknown).
	BaseLayers int `json:"base_layers,omitempty"`
	// BaseImage names the base image when the report says so.
	BaseImage string `json:"base_image,omitempty"`
}

// Key returns the identity of the artifact used in fingerprints: the digest
// when there is one, else repository:tag, else the name.
func (a Artifact) Key() string {
	if a.Digest != "" {
		return strings.ToLower(a.Digest)
	}
	if a.Repository != "" && len(a.Tags) > 0 {
		return a.Repository + ":" + a.Tags[0]
	}
	return a.Name
}

// InBaseImage reports whether a layer (by diff ID) belongs to the base image:
// known only when both Layers and BaseLayers are set.
func (a Artifact) InBaseImage(diffID string) (in, known bool) {
	if a.BaseLayers <= 0 || len(a.Layers) == 0 || diffID == "" {
		return false, false
	}
	for i, l := range a.Layers {
		if l == diffID {
			return i < a.BaseLayers, true
		}
	}
	return false, false
}

// SplitImageRef splits "registry/repo:tag@sha256:…" into repository, tag
// and digest. A port in the registry host is not mistaken for a tag.
func SplitImageRef(ref string) (repo, tag, digest string) {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref, digest = ref[:i], ref[i+1:]
	}
	slash := strings.LastIndex(ref, "/")
	if i := strings.LastIndex(ref, ":"); i > slash {
		return ref[:i], ref[i+1:], digest
	}
	return ref, "", digest
}

// IsDigest reports whether s looks like a content digest, "algorithm:hex"
// with at least 32 hex digits ("sha256:9f86d0…").
func IsDigest(s string) bool {
	alg, hex, ok := strings.Cut(s, ":")
	if !ok || alg == "" || len(hex) < 32 {
		return false
	}
	for i := 0; i < len(hex); i++ {
		c := hex[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// ArtifactContext is what is known about where an artifact runs. Until the
// Kubernetes inventory fills it in, users supply it in a context file.
type ArtifactContext struct {
	// Environment is "production", "staging", "development"…
	Environment string `json:"environment,omitempty"`
	// Exposed means reachable from the internet.
	Exposed bool `json:"exposed,omitempty"`
	// Privileged means it runs privileged, as root with host access, or
	// with dangerous capabilities.
	Privileged bool `json:"privileged,omitempty"`
	// LoadedPackages are package names seen loaded by a running process.
	LoadedPackages []string `json:"loaded_packages,omitempty"`
	Owner          string   `json:"owner,omitempty"`
	// Workloads and Replicas measure the blast radius: how many workloads
	// and pods run the image.
	Workloads int `json:"workloads,omitempty"`
	Replicas  int `json:"replicas,omitempty"`
	// Evidence says where each of the above came from, by field name.
	Evidence map[string]string `json:"evidence,omitempty"`
}
