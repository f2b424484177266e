package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ProcStats is what was sampled of the server process during a run:
// resident memory (VmRSS of /proc/PID/status) once a second, and the CPU
// time it used.
type ProcStats struct {
	PID         int     `json:"pid"`
	Samples     int     `json:"samples"`
	RSSStartMiB float64 `json:"rss_start_mib"`
	RSSMaxMiB   float64 `json:"rss_max_mib"`
	RSSEndMiB   float64 `json:"rss_end_mib"`
	// RSSMiB is every sample, a second apart: flat or growing.
	RSSMiB []float64 `json:"rss_mib"`
	// CPUSeconds is the user and system time the process used during the
	// run.
	CPUSeconds float64 `json:"cpu_seconds"`
}

// clockTicks is USER_HZ, the unit of the times in /proc/PID/stat: 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// readRSS returns the resident set size of pid in KiB.
func readRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(b) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			f := strings.Fields(string(rest)) // "12345 kB"
			if len(f) == 2 && f[1] == "kB" {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no VmRSS in kB", pid)
}

// readCPU returns the user and system time pid has used, in clock ticks.
func readCPU(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: count the fields
	// after its closing parenthesis, where field 3 (state) comes first and
	// utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	return utime + stime, nil
}

// sampler samples a process once a second until stopped.
type sampler struct {
	pid  int
	cpu0 int64
	stop chan struct{}
	done chan struct{}

	mu    sync.Mutex
	stats ProcStats
}

// startSampler takes a first sample of pid, failing if it cannot be read,
// and goes on sampling every second until Stop.
func startSampler(pid int) (*sampler, error) {
	rss, err := readRSS(pid)
	if err != nil {
		return nil, fmt.Errorf("sample server process: %v", err)
	}
	cpu, err := readCPU(pid)
	if err != nil {
		return nil, fmt.Errorf("sample server process: %v", err)
	}
	s := &sampler{pid: pid, cpu0: cpu, stop: make(chan struct{}), done: make(chan struct{})}
	s.stats = ProcStats{PID: pid, Samples: 1, RSSStartMiB: mib(rss), RSSMaxMiB: mib(rss), RSSEndMiB: mib(rss), RSSMiB: []float64{math.Round(mib(rss)*10) / 10}}
	go func() {
		defer close(s.done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.sample()
			}
		}
	}()
	return s, nil
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

func (s *sampler) sample() {
	rss, err := readRSS(s.pid)
	if err != nil {
		return // the process is gone; keep what was seen
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Samples++
	s.stats.RSSMiB = append(s.stats.RSSMiB, math.Round(mib(rss)*10)/10)
	s.stats.RSSEndMiB = mib(rss)
	s.stats.RSSMaxMiB = max(s.stats.RSSMaxMiB, mib(rss))
}

// Stop takes a last sample and returns what was seen.
func (s *sampler) Stop() ProcStats {
	close(s.stop)
	<-s.done
	s.sample()
	if cpu, err := readCPU(s.pid); err == nil {
		s.stats.CPUSeconds = float64(cpu-s.cpu0) / clockTicks
	}
	return s.stats
}
