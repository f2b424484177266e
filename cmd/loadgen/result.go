package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// Result is the outcome of a run: the document `-o json` prints, one
// object; its field names are its schema.
type Result struct {
	Mode string `json:"mode"` // reports or webhook
	// Rate is the requests per second asked for; 0 for a closed loop.
	Rate        float64 `json:"rate"`
	Concurrency int     `json:"concurrency,omitempty"`  // closed-loop workers
	MaxInFlight int     `json:"max_inflight,omitempty"` // open-loop bound
	// FindingsPerPayload is how many findings each generated report holds.
	FindingsPerPayload int `json:"findings_per_payload"`
	// Seconds is the run's length, from the first request to the last
	// answer.
	Seconds  float64 `json:"seconds"`
	Sent     int     `json:"sent"`
	Accepted int     `json:"accepted"` // answered 202
	// Errors counts the other outcomes: by HTTP status ("503"), or
	// "transport" (no answer) or "bad-receipt" (a 202 whose body is not a
	// receipt). ErrorSamples holds the first message of each.
	Errors       map[string]int    `json:"errors"`
	ErrorSamples map[string]string `json:"error_samples,omitempty"`
	// RequestsPerSecond is Sent over Seconds; PayloadsPerSecond and
	// FindingsPerSecond count what was accepted, findings as the server's
	// receipts count them.
	RequestsPerSecond float64 `json:"requests_per_second"`
	PayloadsPerSecond float64 `json:"payloads_per_second"`
	FindingsPerSecond float64 `json:"findings_per_second"`
	FindingsAccepted  int     `json:"findings_accepted"`
	// Latency is the time to 202, over every 202.
	Latency Latency `json:"latency_ms"`
	// Server is the server process sampled during the run, with -pid.
	Server *ProcStats `json:"server,omitempty"`
}

// Latency summarises the times to 202, in milliseconds, by the
// nearest-rank method over every sample.
type Latency struct {
	Samples int     `json:"samples"`
	P50     float64 `json:"p50"`
	P90     float64 `json:"p90"`
	P99     float64 `json:"p99"`
	Max     float64 `json:"max"`
}

// percentile returns the p-th percentile (0 < p ≤ 100) of sorted, an
// ascending slice, by the nearest-rank method: the smallest sample that at
// least p% of the samples do not exceed.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// summarise merges the workers' tallies into a Result.
func summarise(opts options, tallies []*tally, elapsed time.Duration) Result {
	r := Result{
		Mode:               opts.Mode,
		Rate:               opts.Rate,
		FindingsPerPayload: opts.Findings,
		Seconds:            elapsed.Seconds(),
		Errors:             map[string]int{},
	}
	if opts.Rate > 0 {
		r.MaxInFlight = opts.MaxInFlight
	} else {
		r.Concurrency = opts.Concurrency
	}
	var lat []time.Duration
	for _, t := range tallies {
		r.Sent += t.sent
		r.Accepted += t.accepted
		r.FindingsAccepted += t.findings
		lat = append(lat, t.latencies...)
		for k, n := range t.errors {
			r.Errors[k] += n
		}
		for k, msg := range t.errorSamples {
			if r.ErrorSamples == nil {
				r.ErrorSamples = map[string]string{}
			}
			if _, ok := r.ErrorSamples[k]; !ok {
				r.ErrorSamples[k] = msg
			}
		}
	}
	if s := elapsed.Seconds(); s > 0 {
		r.RequestsPerSecond = float64(r.Sent) / s
		r.PayloadsPerSecond = float64(r.Accepted) / s
		r.FindingsPerSecond = float64(r.FindingsAccepted) / s
	}
	slices.Sort(lat)
	r.Latency = Latency{Samples: len(lat), P50: ms(percentile(lat, 50)), P90: ms(percentile(lat, 90)), P99: ms(percentile(lat, 99))}
	if len(lat) > 0 {
		r.Latency.Max = ms(lat[len(lat)-1])
	}
	return r
}

// writeText writes r for people.
func (r Result) writeText(w io.Writer) error {
	var b strings.Builder
	loop := fmt.Sprintf("closed loop, %d workers", r.Concurrency)
	if r.Rate > 0 {
		loop = fmt.Sprintf("open loop at %g requests/s, at most %d in flight", r.Rate, r.MaxInFlight)
	}
	fmt.Fprintf(&b, "mode          %s (%s), %d findings per payload\n", r.Mode, loop, r.FindingsPerPayload)
	fmt.Fprintf(&b, "duration      %.2f s\n", r.Seconds)
	fmt.Fprintf(&b, "requests      %d sent, %d accepted (202)", r.Sent, r.Accepted)
	if len(r.Errors) > 0 {
		b.WriteString(", errors:")
		for _, k := range slices.Sorted(maps.Keys(r.Errors)) {
			fmt.Fprintf(&b, " %s×%d", k, r.Errors[k])
		}
	}
	b.WriteByte('\n')
	fmt.Fprintf(&b, "rate          %.1f payloads/s accepted (%.1f requests/s sent)\n", r.PayloadsPerSecond, r.RequestsPerSecond)
	fmt.Fprintf(&b, "findings      %.1f findings/s accepted (%d in all)\n", r.FindingsPerSecond, r.FindingsAccepted)
	l := r.Latency
	fmt.Fprintf(&b, "time to 202   p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms  (%d samples)\n", l.P50, l.P90, l.P99, l.Max, l.Samples)
	if s := r.Server; s != nil {
		fmt.Fprintf(&b, "server RSS    start %.1f MiB  max %.1f MiB  end %.1f MiB  (%d samples)\n", s.RSSStartMiB, s.RSSMaxMiB, s.RSSEndMiB, s.Samples)
		fmt.Fprintf(&b, "server CPU    %.1f s (%.2f cores)\n", s.CPUSeconds, s.CPUSeconds/max(r.Seconds, 1e-9))
	}
	for _, k := range slices.Sorted(maps.Keys(r.ErrorSamples)) {
		fmt.Fprintf(&b, "first %s      %s\n", k, r.ErrorSamples[k])
	}
	_, err := io.WriteString(w, b.String())
	return err
}
