package k8s

import (
	"path/filepath"
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
