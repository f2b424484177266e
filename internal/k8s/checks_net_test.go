package k8s

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNetworkChecks(t *testing.T) {
	const deploy = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx}]
`
	tests := []struct {
		name  string
		check string
		yaml  string
		want  []string
	}{
		{"nodeport", CheckNetNodePort, `
apiVersion: v1
kind: Service
metadata: {name: s, namespace: shop}
spec:
  type: NodePort
  externalTrafficPolicy: Local
  ports: [{port: 80, nodePort: 30080}, {port: 81}]`, []string{"SX-K8S-201 Service/shop/s"}},
		{"clusterip", CheckNetNodePort, `
apiVersion: v1
kind: Service
metadata: {name: s, namespace: shop}
spec: {ports: [{port: 80}]}`, nil},
		{"open lb", CheckNetLBSourceRanges, `
apiVersion: v1
kind: Service
metadata: {name: s, namespace: shop}
spec: {type: LoadBalancer, ports: [{port: 443}]}`, []string{"SX-K8S-202 Service/shop/s"}},
		{"lb with ranges", CheckNetLBSourceRanges, `
apiVersion: v1
kind: Service
metadata: {name: s, namespace: shop}
spec: {type: LoadBalancer, loadBalancerSourceRanges: [10.0.0.0/8], ports: [{port: 443}]}`, nil},
		{"internal lb", CheckNetLBSourceRanges, `
apiVersion: v1
kind: Service
metadata:
  name: s
  namespace: shop
  annotations: {networking.gke.io/load-balancer-type: Internal}
spec: {type: LoadBalancer, ports: [{port: 443}]}`, nil},
		{"no policy", CheckNetNoPolicy, deploy + `---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: shop}
spec: {containers: [{name: c, image: x}]}`, []string{"SX-K8S-203 Deployment/shop/web"}},
		{"no policy, namespace object", CheckNetNoPolicy, deploy + `---
apiVersion: v1
kind: Namespace
metadata: {name: shop}`, []string{"SX-K8S-203 Namespace/shop"}},
		{"policy present", CheckNetNoPolicy, deploy + `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: np, namespace: shop}
spec: {podSelector: {}}`, nil},
		{"empty namespace", CheckNetNoPolicy, `
apiVersion: v1
kind: Namespace
metadata: {name: shop}`, nil},
		{"policy selects nothing", CheckNetPolicyNoPods, deploy + `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: np, namespace: shop}
spec: {podSelector: {matchLabels: {app: api}}}`, []string{"SX-K8S-204 NetworkPolicy/shop/np"}},
		{"policy selects web", CheckNetPolicyNoPods, deploy + `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: np, namespace: shop}
spec: {podSelector: {matchExpressions: [{key: app, operator: In, values: [web, api]}]}}`, nil},
		{"ingress without tls", CheckNetIngressTLS, `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: i, namespace: shop}
spec: {rules: [{host: shop.example.com}]}`, []string{"SX-K8S-205 Ingress/shop/i"}},
		{"ingress host without tls", CheckNetIngressTLS, `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: i, namespace: shop}
spec:
  tls: [{hosts: [shop.example.com], secretName: tls}]
  rules: [{host: shop.example.com}, {host: admin.example.com}]`, []string{"SX-K8S-205 Ingress/shop/i"}},
		{"ingress with tls", CheckNetIngressTLS, `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: i, namespace: shop}
spec:
  tls: [{hosts: [shop.example.com], secretName: tls}]
  rules: [{host: shop.example.com}]`, nil},
		{"ingress without hosts or tls", CheckNetIngressTLS, `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: i, namespace: shop}
spec: {defaultBackend: {service: {name: web, port: {number: 80}}}}`, []string{"SX-K8S-205 Ingress/shop/i"}},
		{"ingress host without tls, secret name taken", CheckNetIngressTLS, `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: i, namespace: shop}
spec:
  tls: [{hosts: [shop.example.com], secretName: i-tls}]
  rules: [{host: shop.example.com}, {host: admin.example.com}, {host: api.example.com}]`, []string{"SX-K8S-205 Ingress/shop/i"}},
		{"workload outside the policies", CheckNetWorkloadNoPolicy, deploy + `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-only, namespace: shop}
spec: {podSelector: {matchLabels: {app: api}}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress, namespace: shop}
spec: {podSelector: {}, policyTypes: [Egress]}`, []string{"SX-K8S-207 Deployment/shop/web"}},
		{"workload selected for ingress", CheckNetWorkloadNoPolicy, deploy + `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec: {podSelector: {matchLabels: {app: web}}, policyTypes: [Ingress, Egress]}`, nil},
		{"workload under default deny", CheckNetWorkloadNoPolicy, deploy + `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec: {podSelector: {}}`, nil},
		{"policy in another namespace", CheckNetWorkloadNoPolicy, deploy + `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: other}
spec: {podSelector: {}}`, nil},
		{"external ips", CheckNetServiceExternalIP, `
apiVersion: v1
kind: Service
metadata: {name: s, namespace: shop}
spec: {externalIPs: [1.2.3.4], ports: [{port: 80}]}`, []string{"SX-K8S-206 Service/shop/s"}},
		{"no external ips", CheckNetServiceExternalIP, `
apiVersion: v1
kind: Service
metadata: {name: s, namespace: shop}
spec: {ports: [{port: 80}]}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := sxtInventory(t, tt.yaml)
			c := sxtCheck(t, tt.check)
			got := sxtRun(inv, c)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Run(%s) = %v, want %v (-want +got):\n%s", tt.check, got, tt.want, diff)
			}
			sxtVerifyAll(t, inv, c)
		})
	}
}

// TestNetworkFixDetails pins the operations and texts of the network fixes
// that carry placeholders or names derived from the object.
func TestNetworkFixDetails(t *testing.T) {
	tests := []struct {
		name, check, yaml string
		want              Fix
	}{
		{"open lb", CheckNetLBSourceRanges, `
apiVersion: v1
kind: Service
metadata: {name: s, namespace: shop}
spec: {type: LoadBalancer, ports: [{port: 443}]}`, Fix{
			Ops: []PatchOp{{Op: "add", Path: "/spec/loadBalancerSourceRanges", Value: []string{"10.0.0.0/8"}}},
			Breaks: "10.0.0.0/8 is a placeholder: replace it with the real client CIDRs. Until then only clients in that " +
				"private range reach the load balancer; every client on the internet is refused.",
		}},
		{"ingress without tls", CheckNetIngressTLS, `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec: {rules: [{host: shop.example.com}, {host: www.example.com}, {host: shop.example.com}]}`, Fix{
			Ops: []PatchOp{{Op: "add", Path: "/spec/tls", Value: []any{map[string]any{
				"hosts": []string{"shop.example.com", "www.example.com"}, "secretName": "web-tls"}}}},
			Breaks: "The Secret shop/web-tls (type kubernetes.io/tls) must hold a certificate for shop.example.com, " +
				"www.example.com; until it exists the ingress controller serves its default, untrusted certificate for " +
				"them, and controllers that redirect HTTP to HTTPS once TLS is configured send plain-HTTP clients there too.",
			Companion: "With cert-manager, also annotate the Ingress with cert-manager.io/cluster-issuer: <your issuer> " +
				"and it issues the certificate into web-tls; the fix leaves that to you, as the issuer's name is not known.",
		}},
		{"ingress with a host left out", CheckNetIngressTLS, `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  tls: [{hosts: [shop.example.com], secretName: web-tls}]
  rules: [{host: shop.example.com}, {host: admin.example.com}]`, Fix{
			Ops: []PatchOp{{Op: "add", Path: "/spec/tls/-", Value: map[string]any{
				"hosts": []string{"admin.example.com"}, "secretName": "web-tls-2"}}},
			Breaks: "The Secret shop/web-tls-2 (type kubernetes.io/tls) must hold a certificate for admin.example.com; " +
				"until it exists the ingress controller serves its default, untrusted certificate for them, and " +
				"controllers that redirect HTTP to HTTPS once TLS is configured send plain-HTTP clients there too.",
			Companion: "With cert-manager, also annotate the Ingress with cert-manager.io/cluster-issuer: <your issuer> " +
				"and it issues the certificate into web-tls-2; the fix leaves that to you, as the issuer's name is not known.",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := sxtInventory(t, tt.yaml)
			c := sxtCheck(t, tt.check)
			vs := c.Run(inv.Objects[0], inv)
			if len(vs) != 1 || vs[0].Fix == nil {
				t.Fatalf("%s.Run(%s) = %+v, want one violation with a fix", tt.check, tt.name, vs)
			}
			if diff := cmp.Diff(tt.want, *vs[0].Fix); diff != "" {
				t.Errorf("%s.Run(%s) fix (-want +got):\n%s", tt.check, tt.name, diff)
			}
			sxtVerifyAll(t, inv, c)
		})
	}
}

func TestIngTLSSecretName(t *testing.T) {
	long := strings.Repeat("a", 250)
	tests := []struct {
		name  string
		taken []string
		want  string
	}{
		{"web", nil, "web-tls"},
		{"web", []string{"web-tls", "web-tls-2"}, "web-tls-3"},
		{long, nil, strings.Repeat("a", 249) + "-tls"},
	}
	for _, tt := range tests {
		taken := map[string]bool{}
		for _, s := range tt.taken {
			taken[s] = true
		}
		if got := ingTLSSecretName(tt.name, taken); got != tt.want || len(got) > 253 {
			t.Errorf("ingTLSSecretName(%q, %v) = %q, want %q", tt.name, tt.taken, got, tt.want)
		}
	}
}

func TestNetworkFixtures(t *testing.T) {
	tests := []struct {
		file []string
		want []string
	}{
		{[]string{"k8s", "kube-score", "networkpolicy-not-matching.yaml"}, []string{
			// The pod is in "default", the policy in "testspace"; its
			// podSelector is malformed (no matchLabels) and so empty.
			"SX-K8S-204 NetworkPolicy/testspace/testapp-netpol",
			"SX-K8S-203 Pod/pod-test-1",
		}},
		{[]string{"k8s", "kube-score", "service-nodeport.yaml"}, []string{"SX-K8S-201 Service/foospace/node-port-service"}},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file[len(tt.file)-1]), func(t *testing.T) {
			inv := sxtInventory(t, sxtReadFixture(t, tt.file...))
			var got []string
			for _, v := range Run(inv, append(RBACChecks(), NetworkChecks()...), sxtNow) {
				got = append(got, v.CheckID+" "+v.Object.String())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("checks(%s) = %v, want %v (-want +got):\n%s", tt.file, got, tt.want, diff)
			}
			for _, c := range NetworkChecks() {
				sxtVerifyAll(t, inv, c)
			}
		})
	}
}

// TestNetWorkloadNoPolicyMessage: the message names the namespace's
// policies and what each selects, so that the user can extend one.
func TestNetWorkloadNoPolicyMessage(t *testing.T) {
	inv := sxtInventory(t, `
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, image: x}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-only, namespace: shop}
spec: {podSelector: {matchLabels: {app: api}}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress, namespace: shop}
spec: {podSelector: {}, policyTypes: [Egress]}`)
	vs := sxtCheck(t, CheckNetWorkloadNoPolicy).Run(inv.Objects[0], inv)
	if len(vs) != 1 {
		t.Fatalf("Run(Pod/shop/p) = %+v, want one violation", vs)
	}
	for _, want := range []string{"api-only (selects {app=api})", "egress (egress only)", "no automatic fix"} {
		if !strings.Contains(vs[0].Message, want) {
			t.Errorf("Message = %q, want it to contain %q", vs[0].Message, want)
		}
	}
	if want := "pod labels {app=web} match no ingress NetworkPolicy in namespace shop"; vs[0].Evidence != want {
		t.Errorf("Evidence = %q, want %q", vs[0].Evidence, want)
	}
}
