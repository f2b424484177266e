package k8s

import (
	"fmt"
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/sextant-dev/sextant"
)

// CheckPodConfigMapSecret is the check for secrets kept in ConfigMaps.
const CheckPodConfigMapSecret = "SX-K8S-042"

// ConfigMap data is never read: the loader drops data and binaryData (keys
// and values alike) from every ConfigMap as it decodes it, as it does for
// Secrets. The check therefore works from what the workloads that consume a
// ConfigMap reveal about it: the keys they read (env valueFrom.
// configMapKeyRef, items of configMap and projected volumes), the variables
// they fill from it, and the names of ConfigMaps they read whole (envFrom,
// volumes without items). A ConfigMap that holds a password under an
// innocent key name, or that no workload of the inventory reads, is not
// found; Polaris's sensitiveConfigmapContent, which reads the values, can.
func checkConfigMapSecret() Check {
	return podCheck(Check{
		ID:       CheckPodConfigMapSecret,
		Title:    "Workload reads secret-looking data from a ConfigMap",
		Severity: sextant.SeverityMedium,
		Rationale: "ConfigMaps are not secrets: they are readable by every subject with get on configmaps (the " +
			"built-in view role included), shown by kubectl describe, logged by tools and never encrypted at rest. " +
			"sextant never reads ConfigMap data; it judges by the key and ConfigMap names the workload uses.",
		Mappings: []string{"CIS 5.4.1", nsaSecrets, "Polaris: sensitiveConfigmapContent"},
	}, func(t *podTarget) []Violation {
		var out []Violation
		for _, pc := range t.containers(allContainers...) {
			var refs []string
			for _, e := range pc.c.Env {
				if e.ValueFrom == nil || e.ValueFrom.ConfigMapKeyRef == nil {
					continue
				}
				r := e.ValueFrom.ConfigMapKeyRef
				if sensitiveEnvName(e.Name) || cmSensitiveKey(r.Key) || cmSensitiveName(r.Name) {
					refs = append(refs, fmt.Sprintf("env %s from ConfigMap %s key %q", e.Name, r.Name, r.Key))
				}
			}
			for _, e := range pc.c.EnvFrom {
				if e.ConfigMapRef != nil && cmSensitiveName(e.ConfigMapRef.Name) {
					refs = append(refs, "envFrom ConfigMap "+e.ConfigMapRef.Name)
				}
			}
			if len(refs) == 0 {
				continue
			}
			out = append(out, t.violation(CheckPodConfigMapSecret, &pc,
				fmt.Sprintf("Container %q reads what look like secrets from ConfigMaps: %s. Move them into a Secret, "+
					"reference it with secretKeyRef, secretRef or a secret volume, and rotate them: every reader of "+
					"ConfigMaps has seen them. No automatic fix exists because the Secret must be created with the "+
					"values, which sextant never reads.", pc.c.Name, strings.Join(refs, "; ")),
				fmt.Sprintf("%s at %s (names only; ConfigMap data is never read)", strings.Join(refs, "; "), pc.path()), nil))
		}
		var refs []string
		for _, v := range t.spec.Volumes {
			var sources []*corev1.ConfigMapProjection
			if v.ConfigMap != nil {
				sources = append(sources, &corev1.ConfigMapProjection{LocalObjectReference: v.ConfigMap.LocalObjectReference, Items: v.ConfigMap.Items})
			}
			if v.Projected != nil {
				for _, s := range v.Projected.Sources {
					if s.ConfigMap != nil {
						sources = append(sources, s.ConfigMap)
					}
				}
			}
			for _, s := range sources {
				var keys []string
				for _, it := range s.Items {
					if cmSensitiveKey(it.Key) || cmSensitiveKey(path.Base(it.Path)) {
						keys = append(keys, fmt.Sprintf("%q", it.Key))
					}
				}
				switch {
				case len(keys) > 0:
					refs = append(refs, fmt.Sprintf("volume %s mounts ConfigMap %s key %s", v.Name, s.Name, strings.Join(keys, ", ")))
				case cmSensitiveName(s.Name):
					refs = append(refs, fmt.Sprintf("volume %s mounts ConfigMap %s", v.Name, s.Name))
				}
			}
		}
		if len(refs) > 0 {
			out = append(out, t.violation(CheckPodConfigMapSecret, nil,
				fmt.Sprintf("The pod mounts what look like secrets from ConfigMaps: %s. Store them in a Secret and mount "+
					"a secret volume instead, then rotate them. No automatic fix exists because the Secret must be "+
					"created with the values, which sextant never reads.", strings.Join(refs, "; ")),
				fmt.Sprintf("%s at %s/volumes (names only; ConfigMap data is never read)", strings.Join(refs, "; "), t.specPath), nil))
		}
		return out
	})
}

// cmKeyFiles are file names that hold credentials whatever their words say.
var cmKeyFiles = map[string]bool{
	"id_rsa": true, "id_dsa": true, "id_ecdsa": true, "id_ed25519": true, ".pgpass": true, ".netrc": true,
	".htpasswd": true, ".git-credentials": true, ".dockercfg": true, ".dockerconfigjson": true, "kubeconfig": true,
}

// cmKeyExts are extensions of private-key and keystore files (not of
// certificates: a CA bundle in a ConfigMap is fine).
var cmKeyExts = map[string]bool{".key": true, ".p12": true, ".pfx": true, ".jks": true, ".keystore": true, ".ppk": true}

// cmSensitiveKey reports whether a ConfigMap key (or the file it is
// mounted as) names a secret.
func cmSensitiveKey(key string) bool {
	k := strings.ToLower(key)
	return cmKeyFiles[k] || cmKeyExts[path.Ext(k)] || cmSensitiveName(key)
}

// cmSensitiveName reports whether a name says it holds secrets, reading
// plural words as singular ("db-credentials", "app-secrets", "api-keys").
func cmSensitiveName(name string) bool {
	words := podEnvWords(name)
	for i, w := range words {
		if s := strings.TrimSuffix(w, "s"); s != w && (sensitiveWords[s] || s == "key") {
			words[i] = s
		}
	}
	return sensitiveEnvName(strings.Join(words, "_"))
}
