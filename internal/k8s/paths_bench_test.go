package k8s

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// pathsCluster generates a cluster of n pods, 100 per namespace: a Service per pod (every 20th a LoadBalancer, every 20th+1 a
// NodePort), an Ingress per 100 pods, 20 ServiceAccounts and 10 Secrets
// (one a database password) per namespace, a secret-reader Role bound per
// namespace, "edit" in every 10th namespace, one cluster-admin binding, a
// default-deny NetworkPolicy in every other namespace, every 25th pod
// privileged, every 50th mounting the Docker socket, one "postgres" pod per
// namespace, and vulnerability summaries for the images.
func pathsCluster(n int) (*Inventory, map[string]VulnSummary) {
	inv := &Inventory{}
	vulns := map[string]VulnSummary{}
	add := func(kind, ns, name string, lbls map[string]string, typed any) {
		inv.Objects = append(inv.Objects, &Object{APIVersion: "v1", Kind: kind, Namespace: ns, Name: name, Labels: lbls, Typed: typed})
	}
	nsCount := max(n/100, 1)
	yes := true
	for i := 0; i < 500; i++ {
		img := fmt.Sprintf("registry.example.com/app-%d:1.0", i)
		switch {
		case i%7 == 0:
			vulns[img] = VulnSummary{KEV: 1, Critical: 2, MaxScore: 9.8, CVEs: []string{"CVE-2024-3094"}}
		case i%3 == 0:
			vulns[img] = VulnSummary{Critical: 1, MaxScore: 9.1}
		default:
			vulns[img] = VulnSummary{MaxScore: 5.3}
		}
	}
	for s := 0; s < nsCount; s++ {
		ns := fmt.Sprintf("ns-%03d", s)
		add("Namespace", "", ns, nil, &corev1.Namespace{})
		for a := 0; a < 20; a++ {
			add("ServiceAccount", ns, fmt.Sprintf("sa-%d", a), nil, &corev1.ServiceAccount{})
		}
		for k := 0; k < 10; k++ {
			name := fmt.Sprintf("secret-%d", k)
			if k == 0 {
				name = "postgres-password"
			}
			add("Secret", ns, name, nil, &corev1.Secret{Type: corev1.SecretTypeOpaque})
		}
		add("Role", ns, "secret-reader", nil, &rbacv1.Role{Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}}}})
		add("RoleBinding", ns, "sa-0-secrets", nil, &rbacv1.RoleBinding{
			RoleRef:  rbacv1.RoleRef{Kind: "Role", Name: "secret-reader"},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "sa-0"}}})
		if s%10 == 0 {
			add("RoleBinding", ns, "sa-1-edit", nil, &rbacv1.RoleBinding{
				RoleRef:  rbacv1.RoleRef{Kind: "ClusterRole", Name: "edit"},
				Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "sa-1"}}})
		}
		if s%2 == 1 {
			add("NetworkPolicy", ns, "default-deny", nil, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns},
				Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}})
		}
	}
	add("ClusterRoleBinding", "", "ops-admin", nil, &rbacv1.ClusterRoleBinding{
		RoleRef:  rbacv1.RoleRef{Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: fmt.Sprintf("ns-%03d", nsCount/2), Name: "sa-2"}}})
	for i := 0; i < n; i++ {
		ns := fmt.Sprintf("ns-%03d", min(i/100, nsCount-1))
		name := fmt.Sprintf("pod-%d", i)
		if i%100 == 50 {
			name = fmt.Sprintf("postgres-%d", i)
		}
		lbls := map[string]string{"app": name}
		c := corev1.Container{Name: "app", Image: fmt.Sprintf("registry.example.com/app-%d:1.0", i%500),
			Ports: []corev1.ContainerPort{{ContainerPort: 8080}}}
		spec := corev1.PodSpec{ServiceAccountName: fmt.Sprintf("sa-%d", i%20)}
		if i%25 == 0 {
			c.SecurityContext = &corev1.SecurityContext{Privileged: &yes}
		}
		if i%50 == 1 {
			spec.Volumes = []corev1.Volume{{Name: "sock", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/run/docker.sock"}}}}
			c.VolumeMounts = []corev1.VolumeMount{{Name: "sock", MountPath: "/var/run/docker.sock"}}
		}
		spec.Containers = []corev1.Container{c}
		add("Pod", ns, name, lbls, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: lbls}, Spec: spec})
		svc := &corev1.Service{Spec: corev1.ServiceSpec{Selector: lbls, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}}}
		switch i % 20 {
		case 0:
			svc.Spec.Type = corev1.ServiceTypeLoadBalancer
		case 1:
			svc.Spec.Type = corev1.ServiceTypeNodePort
		}
		add("Service", ns, name, nil, svc)
		if i%100 == 2 {
			add("Ingress", ns, name, nil, &networkingv1.Ingress{Spec: networkingv1.IngressSpec{DefaultBackend: &networkingv1.IngressBackend{
				Service: &networkingv1.IngressServiceBackend{Name: name, Port: networkingv1.ServiceBackendPort{Number: 80}}}}})
		}
	}
	return inv, vulns
}

func TestPathsGeneratedCluster(t *testing.T) {
	inv, vulns := pathsCluster(1000)
	g := pathsGraph(t, inv, GraphOptions{Vulns: vulns})
	paths := FindPaths(g, PathOptions{})
	kinds := map[NodeKind]int{}
	for _, p := range paths {
		kinds[p.TargetKind]++
	}
	for _, k := range []NodeKind{NodeHost, NodeClusterAdmin, NodeSecret, NodeWorkload} {
		if kinds[k] == 0 {
			t.Errorf("no path to a %s in the generated cluster (paths by target kind: %v)", k, kinds)
		}
	}
}

// BenchmarkPaths10k measures the attack-path analysis of 10,000 pods:
// building the graph, finding the paths and the report with the blast
// radius of every entry workload.
func BenchmarkPaths10k(b *testing.B) {
	inv, vulns := pathsCluster(10000)
	b.Run("build", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := BuildGraph(inv, GraphOptions{Vulns: vulns}); err != nil {
				b.Fatal(err)
			}
		}
	})
	g, err := BuildGraph(inv, GraphOptions{Vulns: vulns})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("paths", func(b *testing.B) {
		b.ReportAllocs()
		var n int
		for b.Loop() {
			n = len(FindPaths(g, PathOptions{}))
		}
		b.ReportMetric(float64(n), "paths")
		b.ReportMetric(float64(len(g.Nodes)), "nodes")
		b.ReportMetric(float64(len(g.Edges)), "edges")
	})
	b.Run("all", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			g, err := BuildGraph(inv, GraphOptions{Vulns: vulns})
			if err != nil {
				b.Fatal(err)
			}
			r := NewPathReport(g, FindPaths(g, PathOptions{}))
			if len(r.Paths) == 0 {
				b.Fatal("no paths")
			}
		}
	})
}
