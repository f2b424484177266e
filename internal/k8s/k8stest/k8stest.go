// Package k8stest runs a real Kubernetes API server for tests: etcd and
// kube-apiserver as child processes on free loopback ports, with their data,
// certificates and tokens in the test's temporary directory, RBAC
// authorization on, and both stopped when the test ends.
//
// The binaries come from the directory named by SEXTANT_KUBE_ASSETS, which
// holds kube-apiserver and etcd; scripts/kube-apiserver.sh builds and caches
// them and prints that directory:
//
//	export SEXTANT_KUBE_ASSETS="$(scripts/kube-apiserver.sh)"
//
// Without them, Start skips the test, except when CI=true, where it fails so
// that CI always runs these tests.
//
// No controller-manager runs: Deployments make no ReplicaSets or Pods, no
// namespace gets a "default" ServiceAccount by itself (create it before
// creating Pods, which the ServiceAccount admission plugin requires), and
// the aggregated ClusterRoles view, edit and admin have no rules.
package k8stest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// AssetsEnv is the environment variable naming the directory that holds the
// kube-apiserver and etcd binaries.
const AssetsEnv = "SEXTANT_KUBE_ASSETS"

// startTimeout bounds how long Start waits for /readyz; a start takes about
// 4 s on 2 cores.
const startTimeout = 90 * time.Second

// Assets returns the directory holding kube-apiserver and etcd, or a
// message saying what is missing and how to build them.
func Assets() (string, error) {
	how := "build them with: export " + AssetsEnv + "=\"$(scripts/kube-apiserver.sh)\" (about 15 minutes the first time, cached afterwards)"
	dir := os.Getenv(AssetsEnv)
	if dir == "" {
		return "", errors.New(AssetsEnv + " is not set; " + how)
	}
	for _, b := range []string{"kube-apiserver", "etcd"} {
		fi, err := os.Stat(filepath.Join(dir, b))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return "", fmt.Errorf("%s/%s is missing or not executable; %s", dir, b, how)
		}
	}
	return dir, nil
}

// Start starts etcd and kube-apiserver for t and returns a client config for
// an administrator (a bearer token in the group system:masters). Both
// processes stop in t.Cleanup. When the binaries are missing (see Assets),
// Start skips t, or fails it when CI=true.
func Start(t testing.TB) *rest.Config {
	t.Helper()
	assets, err := Assets()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("k8stest: %v", err)
		}
		t.Skipf("k8stest: %v", err)
	}
	dir := t.TempDir()
	p, err := writePKI(dir)
	if err != nil {
		t.Fatalf("k8stest: %v", err)
	}
	ports, err := freePorts(3)
	if err != nil {
		t.Fatalf("k8stest: %v", err)
	}
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	peerURL := "http://127.0.0.1:" + strconv.Itoa(ports[1])
	etcd := startProc(t, dir, filepath.Join(assets, "etcd"),
		"--name=k8stest", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=k8stest="+peerURL, "--listen-metrics-urls=",
		"--logger=zap", "--log-level=warn")
	apiserver := startProc(t, dir, filepath.Join(assets, "kube-apiserver"),
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(ports[2]),
		// Required with a loopback advertise address.
		"--endpoint-reconciler-type=none",
		"--tls-cert-file="+p.serverCert, "--tls-private-key-file="+p.serverKey,
		"--client-ca-file="+p.caCert, "--token-auth-file="+p.tokens,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+p.saPub, "--service-account-signing-key-file="+p.saKey,
		"--service-cluster-ip-range=10.0.0.0/24", "--allow-privileged=true",
		"--cert-dir="+filepath.Join(dir, "certs"))
	cfg := &rest.Config{
		Host:            "https://127.0.0.1:" + strconv.Itoa(ports[2]),
		BearerToken:     p.adminToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: p.caPEM},
		// Tests create many objects quickly; the default 5/s would crawl.
		QPS:   1000,
		Burst: 1000,
	}
	if err := waitReady(cfg, p.caPEM, etcd, apiserver); err != nil {
		t.Fatalf("k8stest: %v\n--- etcd log (tail) ---\n%s\n--- kube-apiserver log (tail) ---\n%s",
			err, etcd.logTail(), apiserver.logTail())
	}
	return cfg
}

// ServiceAccountConfig returns a client config that authenticates as the
// ServiceAccount namespace/name, with a token from the TokenRequest API. The
// namespace and the ServiceAccount are created when missing; admin must be
// allowed to do so.
func ServiceAccountConfig(t testing.TB, admin *rest.Config, namespace, name string) *rest.Config {
	t.Helper()
	ctx := context.Background()
	cs, err := kubernetes.NewForConfig(admin)
	if err != nil {
		t.Fatalf("k8stest: client: %v", err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("k8stest: create namespace %s: %v", namespace, err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	if _, err := cs.CoreV1().ServiceAccounts(namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("k8stest: create serviceaccount %s/%s: %v", namespace, name, err)
	}
	hour := int64(3600)
	tr, err := cs.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &hour}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("k8stest: token for serviceaccount %s/%s: %v", namespace, name, err)
	}
	c := rest.AnonymousClientConfig(admin)
	c.BearerToken = tr.Status.Token
	return c
}

// UserConfig returns a client config acting as user (in groups, plus
// system:authenticated) by impersonation through admin: a way to test what
// a user with limited rights sees without issuing credentials.
func UserConfig(admin *rest.Config, user string, groups ...string) *rest.Config {
	c := rest.CopyConfig(admin)
	c.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	return c
}

// WriteKubeconfig writes a kubeconfig with one context (and one cluster and
// one user of the same name) per entry of contexts, current as the current
// context, into a temporary file and returns its path. Bearer tokens, CA
// data and impersonation are carried over.
func WriteKubeconfig(t testing.TB, current string, contexts map[string]*rest.Config) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	for name, c := range contexts {
		kc.Clusters[name] = &clientcmdapi.Cluster{Server: c.Host, CertificateAuthorityData: c.CAData}
		kc.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: c.BearerToken,
			Impersonate: c.Impersonate.UserName, ImpersonateGroups: c.Impersonate.Groups}
		kc.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	}
	kc.CurrentContext = current
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatalf("k8stest: write kubeconfig: %v", err)
	}
	return path
}

// proc is one child process.
type proc struct {
	name string
	log  string
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done is closed
}

// startProc starts bin with args, its output in a log file in dir, and
// registers its stop (SIGTERM, then SIGKILL after 10 s) with t.Cleanup.
func startProc(t testing.TB, dir, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: filepath.Base(bin), log: filepath.Join(dir, filepath.Base(bin)+".log"), done: make(chan struct{})}
	f, err := os.Create(p.log)
	if err != nil {
		t.Fatalf("k8stest: %v", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("k8stest: start %s: %v", p.name, err)
	}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
			return
		default:
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// logTail returns the last few KB of the process's log.
func (p *proc) logTail() string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return err.Error()
	}
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return string(b)
}

// exited reports whether the process has exited, and how.
func (p *proc) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// waitReady polls /readyz until it answers 200, a process exits, or
// startTimeout passes.
func waitReady(cfg *rest.Config, caPEM []byte, procs ...*proc) error {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer hc.CloseIdleConnections()
	deadline := time.Now().Add(startTimeout)
	var last string
	for time.Now().Before(deadline) {
		for _, p := range procs {
			if gone, err := p.exited(); gone {
				return fmt.Errorf("%s exited early: %v", p.name, err)
			}
		}
		req, err := http.NewRequest(http.MethodGet, cfg.Host+"/readyz", nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+cfg.BearerToken)
		resp, err := hc.Do(req)
		if err == nil {
			var body bytes.Buffer
			_, _ = body.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("/readyz: %s", resp.Status)
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("kube-apiserver not ready after %v (last: %s)", startTimeout, last)
}

// freePorts returns n distinct free TCP ports on 127.0.0.1. They are free
// when returned; another process could still take one before the servers
// bind it, which is unlikely enough on a test machine.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %v", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
