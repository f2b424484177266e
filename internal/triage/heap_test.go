package triage_test

import (
	"os"
	"runtime"
	"runtime/pprof"
	"testing"
)

func TestHeapProbe(t *testing.T) {
	p := os.Getenv("HEAP_PROBE")
	if p == "" {
		t.Skip()
	}
	e := newEngine()
	f, _ := os.Open(p)
	e.Read("x", f)
	res := e.Finish()
	runtime.GC()
	out, _ := os.Create("/tmp/heap.prof")
	pprof.WriteHeapProfile(out)
	out.Close()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("heap in use %d MB, findings %d", ms.HeapInuse>>20, res.Summary.Findings)
}
