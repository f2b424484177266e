package k8stest_test

import (
	"context"
	"slices"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/sextant-dev/sextant/internal/k8s/k8stest"
)

// whoami asks the API server who cfg authenticates as.
func whoami(t *testing.T, cfg *rest.Config) (string, []string) {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := cs.AuthenticationV1().SelfSubjectReviews().Create(context.Background(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("SelfSubjectReview: %v", err)
	}
	return r.Status.UserInfo.Username, r.Status.UserInfo.Groups
}

func TestStart(t *testing.T) {
	began := time.Now()
	admin := k8stest.Start(t)
	t.Logf("etcd + kube-apiserver ready in %v", time.Since(began).Round(time.Millisecond))
	ctx := context.Background()

	if user, groups := whoami(t, admin); user != "admin" || !slices.Contains(groups, "system:masters") {
		t.Errorf("admin config authenticates as %q %v, want admin in system:masters", user, groups)
	}
	cs, err := kubernetes.NewForConfig(admin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().ClusterRoles().Get(ctx, "cluster-admin", metav1.GetOptions{}); err != nil {
		t.Errorf("get ClusterRole cluster-admin: %v, want the RBAC bootstrap roles", err)
	}

	// RBAC is enforced: a user without bindings may list nothing.
	bob := k8stest.UserConfig(admin, "bob")
	if user, _ := whoami(t, bob); user != "bob" {
		t.Errorf("UserConfig(bob) authenticates as %q", user)
	}
	bobCS, err := kubernetes.NewForConfig(bob)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bobCS.CoreV1().Secrets("default").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("bob lists secrets: err = %v, want Forbidden", err)
	}

	sa := k8stest.ServiceAccountConfig(t, admin, "team", "builder")
	if user, _ := whoami(t, sa); user != "system:serviceaccount:team:builder" {
		t.Errorf("ServiceAccountConfig(team, builder) authenticates as %q", user)
	}

	path := k8stest.WriteKubeconfig(t, "bob", map[string]*rest.Config{"admin": admin, "bob": bob})
	kc, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatalf("read back kubeconfig: %v", err)
	}
	if user, _ := whoami(t, kc); user != "bob" {
		t.Errorf("kubeconfig's current context authenticates as %q, want bob", user)
	}
}
