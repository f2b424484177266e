package k8s

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/sextant-dev/sextant"
)

// LoadFiles reads Kubernetes manifests from files and directories.
// Directories are walked recursively for *.yaml, *.yml and *.json files
// (sorted, skipping hidden directories); a file named explicitly is read
// whatever its extension.
//
// A file may hold multi-document YAML, JSON (one object, several
// concatenated objects or JSON lines), List documents as `kubectl get -o
// yaml|json` writes them (kind "List" or any "…List" kind with an items
// array) and rendered Helm output, whose "# Source: chart/templates/x.yaml"
// comments are kept in Source.Template. Documents are read one at a time;
// neither a file nor a directory is held in memory.
//
// What is fatal and what is a warning:
//   - A path that does not exist or cannot be read, and an I/O error while
//     reading, are fatal: LoadFiles returns a *sextant.Error (EINVALID)
//     and no inventory.
//   - Everything about the content is a warning in Inventory.Warnings,
//     prefixed with "file:line: document N:", and the other documents still
//     load: a document that is not valid YAML or JSON (an unrendered
//     template is said to be one), a document that is not a Kubernetes
//     object (no apiVersion or kind, as in a scanner's JSON report; after
//     three such warnings a file gets one that counts the rest), and an
//     object of a known kind that does not decode into its k8s.io/api type
//     (it is kept, with Typed nil).
//
// Objects of namespaced kinds without a namespace are put in "default", as
// `kubectl apply` would without -n. Cluster-scoped kinds are the built-in
// ones (Namespace, Node, ClusterRole…) and any kind whose name starts with
// "Cluster"; every other kind is taken to be namespaced.
//
// Secrets and ConfigMaps are kept as metadata only: their data, stringData
// and binaryData, and the last-applied-configuration annotation that would
// repeat them, are dropped as soon as the document is decoded, from Raw and
// Typed alike; values are never kept or put in a warning.
//
// YAML is read as Kubernetes reads it (YAML 1.1 through sigs.k8s.io/yaml):
// an unquoted y, n, yes, no, on or off is a boolean.
func LoadFiles(paths ...string) (*Inventory, error) {
	inv := &Inventory{}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, sextant.Errorf(sextant.EINVALID, "load manifests: %v", err)
		}
		if !st.IsDir() {
			if err := ldLoadFile(inv, p); err != nil {
				return nil, err
			}
			continue
		}
		var files []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != p && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if ldManifestExt(path) && d.Type().IsRegular() {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, sextant.Errorf(sextant.EINVALID, "load manifests: %v", err)
		}
		sort.Strings(files)
		for _, f := range files {
			if err := ldLoadFile(inv, f); err != nil {
				return nil, err
			}
		}
	}
	return inv, nil
}

func ldManifestExt(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

func ldLoadFile(inv *Inventory, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return sextant.Errorf(sextant.EINVALID, "load manifests: %v", err)
	}
	defer f.Close()
	return ldLoad(inv, f, path)
}

// LoadReader reads manifests from r as LoadFiles reads a file; name is
// used as Source.File and in warnings.
func LoadReader(r io.Reader, name string) (*Inventory, error) {
	inv := &Inventory{}
	if err := ldLoad(inv, r, name); err != nil {
		return nil, err
	}
	return inv, nil
}

// load appends the objects in r to inv.
func ldLoad(inv *Inventory, r io.Reader, name string) error {
	br := bufio.NewReaderSize(r, 64<<10)
	l := &ldLoader{inv: inv, file: name}
	// JSON is read with a JSON decoder (it also takes concatenated objects
	// and JSON lines, which are not YAML); anything else as YAML.
	first, err := ldFirstByte(br)
	if err != nil {
		return sextant.Errorf(sextant.EINVALID, "read %s: %v", name, err)
	}
	switch first {
	case 0:
		return nil
	case '{', '[':
		err = l.readJSON(br)
	default:
		err = l.readYAML(br)
	}
	if err != nil {
		return sextant.Errorf(sextant.EINVALID, "read %s: %v", name, err)
	}
	l.finish()
	return nil
}

// ldFirstByte returns the first byte that is not white space (or a UTF-8
// byte-order mark) without consuming it, or 0 at the end of the input.
func ldFirstByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.Peek(1)
		if err == io.EOF {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			br.ReadByte()
			continue
		case 0xEF:
			if bom, _ := br.Peek(3); bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
				br.Discard(3)
				continue
			}
		}
		return b[0], nil
	}
}

type ldLoader struct {
	inv        *Inventory
	file       string
	doc        int // index of the next non-empty document
	notObjects int // documents without apiVersion or kind
}

// ldMaxSame is how many "not a Kubernetes object" warnings a file gets
// before the rest are counted in one.
const ldMaxSame = 3

// finish adds the count of warnings left out.
func (l *ldLoader) finish() {
	if n := l.notObjects - ldMaxSame; n > 0 {
		l.inv.Warnings = append(l.inv.Warnings,
			fmt.Sprintf("%s: %d more documents are not Kubernetes objects (no apiVersion or kind): skipped", l.file, n))
	}
}

func (l *ldLoader) warnf(line, doc int, format string, args ...any) {
	l.inv.Warnings = append(l.inv.Warnings,
		fmt.Sprintf("%s:%d: document %d: ", l.file, line, doc)+fmt.Sprintf(format, args...))
}

// readYAML splits the stream into documents at "---" lines and decodes
// them one at a time.
func (l *ldLoader) readYAML(br *bufio.Reader) error {
	var (
		buf      bytes.Buffer
		lineNo   int    // lines read so far
		start    int    // line of the first content line of the document
		template string // Helm "# Source:" of the current document
	)
	flush := func() {
		if start > 0 {
			l.yamlDoc(buf.Bytes(), start, template)
		}
		clear(buf.Bytes()) // the document may hold Secret values
		buf.Reset()
		start, template = 0, ""
	}
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			lineNo++
			trimmed := bytes.TrimRight(line, " \t\r\n")
			switch {
			case ldIsDocSeparator(trimmed):
				flush()
				// "--- {a: 1}" and "--- |" put content on the marker line.
				if rest := bytes.TrimSpace(trimmed[3:]); len(rest) > 0 && rest[0] != '#' {
					buf.Write(rest)
					buf.WriteByte('\n')
					start = lineNo
				}
				continue
			case bytes.Equal(trimmed, []byte("...")):
				flush()
				continue
			}
			if start == 0 {
				t := bytes.TrimSpace(trimmed)
				if len(t) == 0 || t[0] == '#' || t[0] == '%' {
					if src, ok := ldHelmSource(t); ok {
						template = src
					}
					if len(t) == 0 || t[0] == '#' {
						buf.Write(line)
						continue
					}
					// A %YAML directive belongs to the next document only.
					continue
				}
				start = lineNo
			}
			buf.Write(line)
			if line[len(line)-1] != '\n' {
				buf.WriteByte('\n')
			}
		}
		if err == io.EOF {
			flush()
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func ldIsDocSeparator(line []byte) bool {
	if !bytes.HasPrefix(line, []byte("---")) {
		return false
	}
	return len(line) == 3 || line[3] == ' ' || line[3] == '\t'
}

// ldHelmSource returns the template path of a "# Source: x" comment.
func ldHelmSource(line []byte) (string, bool) {
	const p = "# Source:"
	if !bytes.HasPrefix(line, []byte(p)) {
		return "", false
	}
	s := strings.TrimSpace(string(line[len(p):]))
	return s, s != ""
}

var ldYamlLineRE = regexp.MustCompile(`\bline (\d+)`)

// yamlDoc decodes one YAML document that starts at line start. The buffer
// holds blank and comment lines before start too, so line numbers in YAML
// errors count from the buffer's first line, which is line start minus
// those lines.
func (l *ldLoader) yamlDoc(doc []byte, start int, template string) {
	idx := l.doc
	l.doc++
	// Count the comment and blank lines before the first content line.
	lead := 0
	for rest := doc; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		t := bytes.TrimSpace(rest[:i])
		if len(t) != 0 && t[0] != '#' {
			break
		}
		lead++
		rest = rest[i+1:]
	}
	first := start - lead
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		msg := ldYamlLineRE.ReplaceAllStringFunc(err.Error(), func(m string) string {
			n, _ := strconv.Atoi(m[5:])
			return "line " + strconv.Itoa(first+n-1)
		})
		if bytes.Contains(doc, []byte("{{")) {
			l.warnf(start, idx, "not valid YAML, and it holds {{ … }}: an unrendered template? render it first (helm template): %s", msg)
			return
		}
		l.warnf(start, idx, "not valid YAML: %s", msg)
		return
	}
	l.value(js, start, idx, template)
}

// readJSON decodes a stream of JSON values.
func (l *ldLoader) readJSON(br *bufio.Reader) error {
	lc := &ldLineCounter{r: br}
	dec := json.NewDecoder(lc)
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var se *json.SyntaxError
			var te *json.UnmarshalTypeError
			if errors.As(err, &se) || errors.As(err, &te) || errors.Is(err, io.ErrUnexpectedEOF) {
				at := dec.InputOffset()
				if se != nil {
					at = se.Offset
				}
				l.warnf(lc.line(at), l.doc, "not valid JSON (the rest of the input is skipped): %v", err)
				return nil
			}
			return err
		}
		start := lc.line(dec.InputOffset() - int64(len(raw)))
		idx := l.doc
		l.doc++
		if len(raw) > 0 && raw[0] != '{' {
			l.warnf(start, idx, "a JSON %s, not a Kubernetes object: skipped", ldJsonKind(raw[0]))
			continue
		}
		l.value(raw, start, idx, "")
	}
}

func ldJsonKind(b byte) string {
	switch b {
	case '[':
		return "array"
	case '"':
		return "string"
	case 'n':
		return "null"
	case 't', 'f':
		return "boolean"
	}
	return "number"
}

// ldLineCounter counts lines in what passes through it, so that the line of
// an offset already read can be told. Offsets are asked in increasing
// order, so it keeps only the newlines not yet counted.
type ldLineCounter struct {
	r        io.Reader
	n        int64   // bytes read
	newlines []int64 // offsets of newlines not yet counted
	lines    int     // newlines counted
}

func (c *ldLineCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for i, b := range p[:n] {
		if b == '\n' {
			c.newlines = append(c.newlines, c.n+int64(i))
		}
	}
	c.n += int64(n)
	return n, err
}

// line returns the 1-based line of offset off.
func (c *ldLineCounter) line(off int64) int {
	i := 0
	for i < len(c.newlines) && c.newlines[i] < off {
		i++
	}
	c.lines += i
	c.newlines = c.newlines[i:]
	return c.lines + 1
}

// ldHead is the part of every object the ldLoader reads first.
type ldHead struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Metadata   json.RawMessage `json:"metadata"`
	Items      json.RawMessage `json:"items"`
}

type ldMeta struct {
	Name         string            `json:"name"`
	GenerateName string            `json:"generateName"`
	Namespace    string            `json:"namespace"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
}

// value handles one decoded document: an object or a List of them.
func (l *ldLoader) value(js []byte, line, doc int, template string) {
	if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
		return // an empty document
	}
	var h ldHead
	if err := json.Unmarshal(js, &h); err != nil {
		l.warnf(line, doc, "not a Kubernetes object: %v", ldJsonErr(err))
		return
	}
	if h.Kind == "List" || strings.HasSuffix(h.Kind, "List") && len(h.Items) > 0 && h.Items[0] == '[' {
		var items []json.RawMessage
		if len(h.Items) == 0 {
			return // "items: null", or none
		}
		if err := json.Unmarshal(h.Items, &items); err != nil {
			l.warnf(line, doc, "%s: items: %v", h.Kind, ldJsonErr(err))
			return
		}
		// Items of typed lists ("PodList") from the API carry no kind.
		itemKind := strings.TrimSuffix(h.Kind, "List")
		for i, it := range items {
			l.object(it, Source{File: l.file, Doc: doc, Item: i, Line: line, Template: template}, h.APIVersion, itemKind)
		}
		return
	}
	l.object(js, Source{File: l.file, Doc: doc, Item: -1, Line: line, Template: template}, "", "")
}

// object decodes one object; apiVersion and kind are the defaults for
// items of a typed List.
func (l *ldLoader) object(js []byte, src Source, apiVersion, kind string) {
	what := func() string {
		if src.Item >= 0 {
			return fmt.Sprintf("item %d: ", src.Item)
		}
		return ""
	}
	var h ldHead
	if err := json.Unmarshal(js, &h); err != nil {
		l.warnf(src.Line, src.Doc, "%snot a Kubernetes object: %v", what(), ldJsonErr(err))
		return
	}
	if h.Kind == "" && kind != "" && kind != "List" {
		h.Kind = kind
	}
	if h.APIVersion == "" && h.Kind == kind {
		h.APIVersion = apiVersion
	}
	if h.APIVersion == "" || h.Kind == "" {
		// A scanner's JSON lines would give one warning per line: say it
		// a few times, then count.
		if l.notObjects++; l.notObjects <= ldMaxSame {
			l.warnf(src.Line, src.Doc, "%snot a Kubernetes object (no apiVersion or kind): skipped", what())
		}
		return
	}
	sensitive := ldMetadataOnly(h.APIVersion, h.Kind)
	if sensitive {
		js = ldStripData(js)
	}
	m, err := ldDecodeMeta(h.Metadata)
	if err != nil {
		l.warnf(src.Line, src.Doc, "%s%s: metadata: %v", what(), h.Kind, err)
	}
	if sensitive {
		delete(m.Annotations, ldLastApplied)
	}
	o := &Object{
		APIVersion:  h.APIVersion,
		Kind:        h.Kind,
		Namespace:   m.Namespace,
		Name:        m.Name,
		Labels:      m.Labels,
		Annotations: m.Annotations,
		Raw:         js,
		Source:      src,
	}
	if o.Name == "" {
		o.Name = m.GenerateName
	}
	if o.Namespace == "" && !ldClusterScoped(h.Kind) {
		o.Namespace = "default"
	}
	if t := ldNewTyped(h.APIVersion, h.Kind); t != nil {
		if err := json.Unmarshal(js, t); err != nil {
			l.warnf(src.Line, src.Doc, "%s%s: does not decode as %s: %v", what(), o.Ref(), h.Kind, ldJsonErr(err))
		} else {
			if sensitive {
				ldScrubTyped(t)
			}
			if ing, ok := t.(*networkingv1.Ingress); ok && h.APIVersion != "networking.k8s.io/v1" {
				ldConvertIngressV1beta1(ing, js)
			}
			o.Typed = t
		}
	}
	l.inv.Objects = append(l.inv.Objects, o)
}

// ldJsonErr shortens encoding/json errors, which never quote the values.
func ldJsonErr(err error) string {
	return strings.TrimPrefix(err.Error(), "json: ")
}

// ldDecodeMeta reads the metadata leniently: a name or label value written as
// a number (name: 1) is taken as its text, with an error saying so.
func ldDecodeMeta(raw json.RawMessage) (ldMeta, error) {
	var m ldMeta
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return m, nil
	}
	if err := json.Unmarshal(raw, &m); err == nil {
		return m, nil
	}
	var loose map[string]any
	if err := json.Unmarshal(raw, &loose); err != nil {
		return ldMeta{}, errors.New("not an object")
	}
	var probs []string
	str := func(field string) string {
		v, ok := loose[field]
		if !ok || v == nil {
			return ""
		}
		if s, ok := v.(string); ok {
			return s
		}
		probs = append(probs, fmt.Sprintf("%s is not a string", field))
		if f, ok := v.(float64); ok {
			return strconv.FormatFloat(f, 'f', -1, 64)
		}
		return ""
	}
	strMap := func(field string) map[string]string {
		v, ok := loose[field]
		if !ok || v == nil {
			return nil
		}
		mm, ok := v.(map[string]any)
		if !ok {
			probs = append(probs, fmt.Sprintf("%s is not a map", field))
			return nil
		}
		out := make(map[string]string, len(mm))
		for k, x := range mm {
			switch x := x.(type) {
			case string:
				out[k] = x
			case float64:
				out[k] = strconv.FormatFloat(x, 'f', -1, 64)
				probs = append(probs, fmt.Sprintf("%s[%q] is not a string", field, k))
			case bool:
				out[k] = strconv.FormatBool(x)
				probs = append(probs, fmt.Sprintf("%s[%q] is not a string", field, k))
			default:
				probs = append(probs, fmt.Sprintf("%s[%q] is not a string", field, k))
			}
		}
		return out
	}
	m = ldMeta{
		Name:         str("name"),
		GenerateName: str("generateName"),
		Namespace:    str("namespace"),
		Labels:       strMap("labels"),
		Annotations:  strMap("annotations"),
	}
	sort.Strings(probs)
	return m, errors.New(strings.Join(probs, "; "))
}

const ldLastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// ldMetadataOnly reports whether only the metadata of a kind may be kept.
func ldMetadataOnly(apiVersion, kind string) bool {
	return (kind == "Secret" || kind == "ConfigMap") && ldApiGroup(apiVersion) == ""
}

// ldStripData removes data, stringData, binaryData and the last-applied
// annotation from a Secret or ConfigMap and zeroes the original bytes.
func ldStripData(js []byte) []byte {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(js, &obj); err != nil {
		clear(js)
		return []byte("{}")
	}
	for _, k := range []string{"data", "stringData", "binaryData"} {
		delete(obj, k)
	}
	if md, ok := obj["metadata"]; ok {
		var m map[string]json.RawMessage
		if json.Unmarshal(md, &m) == nil {
			if a, ok := m["annotations"]; ok {
				var ann map[string]json.RawMessage
				if json.Unmarshal(a, &ann) == nil {
					delete(ann, ldLastApplied)
					m["annotations"], _ = json.Marshal(ann)
				}
			}
			obj["metadata"], _ = json.Marshal(m)
		}
	}
	out, err := json.Marshal(obj)
	clear(js)
	if err != nil {
		return []byte("{}")
	}
	return out
}

// ldScrubTyped makes sure a typed Secret or ConfigMap holds no values.
func ldScrubTyped(t any) {
	switch t := t.(type) {
	case *corev1.Secret:
		t.Data, t.StringData = nil, nil
		delete(t.Annotations, ldLastApplied)
	case *corev1.ConfigMap:
		t.Data, t.BinaryData = nil, nil
		delete(t.Annotations, ldLastApplied)
	}
}

// ldApiGroup returns the group of an apiVersion ("" for the core group).
func ldApiGroup(apiVersion string) string {
	if i := strings.LastIndexByte(apiVersion, '/'); i >= 0 {
		return apiVersion[:i]
	}
	return ""
}

// ldNewTyped returns a new zero value of the k8s.io/api type of a kind, or
// nil for kinds sextant does not decode. Older API versions of the same
// kind (extensions/v1beta1 Deployment, batch/v1beta1 CronJob) decode into
// the current type: the fields sextant reads have not changed.
func ldNewTyped(apiVersion, kind string) any {
	switch ldApiGroup(apiVersion) + "/" + kind {
	case "/Pod":
		return &corev1.Pod{}
	case "/ReplicationController":
		return &corev1.ReplicationController{}
	case "/Service":
		return &corev1.Service{}
	case "/ServiceAccount":
		return &corev1.ServiceAccount{}
	case "/Secret":
		return &corev1.Secret{}
	case "/ConfigMap":
		return &corev1.ConfigMap{}
	case "/Namespace":
		return &corev1.Namespace{}
	case "/Node":
		return &corev1.Node{}
	case "apps/Deployment", "extensions/Deployment":
		return &appsv1.Deployment{}
	case "apps/StatefulSet":
		return &appsv1.StatefulSet{}
	case "apps/DaemonSet", "extensions/DaemonSet":
		return &appsv1.DaemonSet{}
	case "apps/ReplicaSet", "extensions/ReplicaSet":
		return &appsv1.ReplicaSet{}
	case "batch/Job":
		return &batchv1.Job{}
	case "batch/CronJob":
		return &batchv1.CronJob{}
	case "networking.k8s.io/Ingress", "extensions/Ingress":
		return &networkingv1.Ingress{}
	case "networking.k8s.io/NetworkPolicy", "extensions/NetworkPolicy":
		return &networkingv1.NetworkPolicy{}
	case "rbac.authorization.k8s.io/Role":
		return &rbacv1.Role{}
	case "rbac.authorization.k8s.io/ClusterRole":
		return &rbacv1.ClusterRole{}
	case "rbac.authorization.k8s.io/RoleBinding":
		return &rbacv1.RoleBinding{}
	case "rbac.authorization.k8s.io/ClusterRoleBinding":
		return &rbacv1.ClusterRoleBinding{}
	}
	return nil
}

// ldConvertIngressV1beta1 fills the v1 backends of an Ingress read from the
// v1beta1 API (serviceName/servicePort), so that context sees them.
func ldConvertIngressV1beta1(ing *networkingv1.Ingress, js []byte) {
	type backend struct {
		ServiceName string          `json:"serviceName"`
		ServicePort json.RawMessage `json:"servicePort"`
	}
	var old struct {
		Spec struct {
			Backend *backend `json:"backend"`
			Rules   []struct {
				HTTP *struct {
					Paths []struct {
						Backend backend `json:"backend"`
					} `json:"paths"`
				} `json:"http"`
			} `json:"rules"`
		} `json:"spec"`
	}
	if json.Unmarshal(js, &old) != nil {
		return
	}
	conv := func(b backend) networkingv1.IngressBackend {
		out := networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: b.ServiceName}}
		var n int32
		var s string
		if json.Unmarshal(b.ServicePort, &n) == nil {
			out.Service.Port.Number = n
		} else if json.Unmarshal(b.ServicePort, &s) == nil {
			out.Service.Port.Name = s
		}
		return out
	}
	if b := old.Spec.Backend; b != nil && b.ServiceName != "" && ing.Spec.DefaultBackend == nil {
		d := conv(*b)
		ing.Spec.DefaultBackend = &d
	}
	for i, r := range old.Spec.Rules {
		if r.HTTP == nil || i >= len(ing.Spec.Rules) || ing.Spec.Rules[i].HTTP == nil {
			continue
		}
		for j, p := range r.HTTP.Paths {
			if j < len(ing.Spec.Rules[i].HTTP.Paths) && p.Backend.ServiceName != "" && ing.Spec.Rules[i].HTTP.Paths[j].Backend.Service == nil {
				ing.Spec.Rules[i].HTTP.Paths[j].Backend = conv(p.Backend)
			}
		}
	}
}

// ldClusterScoped reports whether objects of a kind live outside namespaces.
func ldClusterScoped(kind string) bool {
	switch kind {
	case "Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding",
		"CustomResourceDefinition", "StorageClass", "PriorityClass", "IngressClass",
		"RuntimeClass", "PodSecurityPolicy", "CSIDriver", "CSINode", "VolumeAttachment",
		"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
		"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
		"MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding",
		"APIService", "CertificateSigningRequest", "ComponentStatus", "FlowSchema",
		"PriorityLevelConfiguration", "GatewayClass", "DeviceClass", "StorageVersion":
		return true
	}
	return strings.HasPrefix(kind, "Cluster")
}
