package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/sextant-dev/sextant/internal/k8s/k8stest"
)

// TestK8sScanLiveCluster runs `sextant k8s scan --kubeconfig … --context …`
// and `k8s paths` against a real kube-apiserver: a privileged Deployment
// behind a LoadBalancer must be found, scored and given its fix.
func TestK8sScanLiveCluster(t *testing.T) {
	admin := k8stest.Start(t)
	cs, err := kubernetes.NewForConfig(admin)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{"environment": "production"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	priv := true
	labels := map[string]string{"app": "web"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "web", Image: "registry.example.com/shop/web:1.4",
					SecurityContext: &corev1.SecurityContext{Privileged: &priv},
				}}},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments("shop").Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Selector: labels, Ports: []corev1.ServicePort{{Port: 443}}},
	}
	if _, err := cs.CoreV1().Services("shop").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kubeconfig := k8stest.WriteKubeconfig(t, "other", map[string]*rest.Config{"prod": admin, "other": admin})

	code, out, errs := run(t, "", "k8s", "scan", "--kubeconfig", kubeconfig, "--context", "prod", "-n", "shop", "-o", "json")
	if code != exitOK {
		t.Fatalf("k8s scan: exit %d\n%s", code, errs)
	}
	var rep struct {
		Cluster  string `json:"cluster"`
		Findings []struct {
			Check   string
			Score   float64
			Object  struct{ Kind, Namespace, Name string }
			Factors []struct {
				Name     string
				Evidence string
			}
			Fix *struct{ Kubectl string }
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if rep.Cluster != "prod" {
		t.Errorf("cluster = %q, want the context name prod", rep.Cluster)
	}
	found := false
	for _, f := range rep.Findings {
		if f.Check == "SX-K8S-001" && f.Object.Name == "web" && f.Object.Namespace == "shop" {
			found = true
			if f.Fix == nil || !strings.Contains(f.Fix.Kubectl, "kubectl patch deployment web -n shop") {
				t.Errorf("privileged fix = %+v", f.Fix)
			}
			exposed := false
			for _, fc := range f.Factors {
				if fc.Name == "internet_exposure" && strings.Contains(fc.Evidence, "LoadBalancer") {
					exposed = true
				}
			}
			if !exposed {
				t.Errorf("privileged finding's factors do not show the LoadBalancer exposure: %+v", f.Factors)
			}
		}
	}
	if !found {
		t.Errorf("no SX-K8S-001 (privileged) on Deployment shop/web in:\n%.3000s", out)
	}

	code, out, errs = run(t, "", "k8s", "paths", "--kubeconfig", kubeconfig, "--context", "prod")
	if code != exitOK || !strings.Contains(out, "internet -> Service/shop/web") {
		t.Errorf("k8s paths: exit %d\n%s\n%s", code, out, errs)
	}
}
