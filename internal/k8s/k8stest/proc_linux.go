package k8stest

import "syscall"

// sysProcAttr makes the kernel kill a server when the test process dies
// without running its cleanups (a panic, a -timeout), so no etcd or
// kube-apiserver outlives its test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
