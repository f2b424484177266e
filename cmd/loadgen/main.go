// Command loadgen puts load on a running `sextant serve` and measures its
// intake: payloads and findings accepted per second, the time to 202
// (p50, p90, p99, max) and, given the server's process ID, its resident
// memory and CPU time during the run. Every request carries a distinct
// generated Trivy image report (-findings vulnerabilities on distinct
// packages). scripts/bench-serve.sh runs the scenarios recorded in
// BENCHMARKS.md; by hand:
//
//	SEXTANT_TOKEN=sxt_… go run ./cmd/loadgen -url http://127.0.0.1:8080 \
//	    -mode reports -findings 200 -concurrency 8 -duration 20s
//	BENCH_SECRET=… go run ./cmd/loadgen -mode webhook -webhook-source bench \
//	    -secret-env BENCH_SECRET -rate 200 -duration 20s -pid "$(pgrep -n sextant)"
//
// With -rate N the load is open-loop: request i is started at i/N seconds,
// whatever the answers so far, and its latency is measured from then, so a
// stalled server shows in the percentiles instead of slowing the load down
// (no coordinated omission). With -rate 0 it is closed-loop: -concurrency
// workers each send their next request when the last is answered, which
// measures the most the server sustains.
//
// -o json prints one Result object (see its fields); -o text a summary.
// The exit status is 1 when the run could not be made, not when requests
// failed: failures are in the output, by status.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// run parses the command line, sends the load and writes the result.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	var (
		o         options
		secretEnv string
		output    string
	)
	fs.StringVar(&o.URL, "url", "http://127.0.0.1:8080", "the server's base URL")
	// The token's default is read after parsing, so that -h never prints it.
	fs.StringVar(&o.Token, "token", "", "API token for -mode reports (default $SEXTANT_TOKEN)")
	fs.StringVar(&o.Mode, "mode", modeReports, "what to post: reports (POST /v1/reports) or webhook (POST /v1/webhooks/{source}, HMAC-SHA256)")
	fs.StringVar(&o.Source, "webhook-source", "", "webhook source name, for -mode webhook")
	fs.StringVar(&secretEnv, "secret-env", "", "environment variable holding the webhook's HMAC key")
	fs.Float64Var(&o.Rate, "rate", 0, "requests started per second, open loop; 0: closed loop at -concurrency")
	fs.IntVar(&o.Concurrency, "concurrency", 16, "closed-loop workers (-rate 0)")
	fs.IntVar(&o.MaxInFlight, "max-inflight", 512, "open loop: most requests outstanding at once")
	fs.DurationVar(&o.Duration, "duration", 30*time.Second, "how long to send; 0: until -requests are sent")
	fs.IntVar(&o.Requests, "requests", 0, "stop after this many requests; 0: no bound")
	fs.IntVar(&o.Findings, "findings", 1, "findings (vulnerabilities) per generated report")
	fs.DurationVar(&o.Timeout, "timeout", time.Minute, "time limit of one request")
	fs.IntVar(&o.PID, "pid", 0, "the server's process ID: sample its RSS (every second) and CPU time")
	fs.StringVar(&output, "o", "text", "output: text or json")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if output != "text" && output != "json" {
		return fmt.Errorf("-o %q: want text or json", output)
	}
	if o.Token == "" {
		o.Token = getenv("SEXTANT_TOKEN")
	}
	if secretEnv != "" {
		o.Secret = []byte(getenv(secretEnv))
	}
	if err := o.check(); err != nil {
		return err
	}
	res, err := measure(ctx, o, strconv.FormatInt(time.Now().UnixNano(), 36))
	if err != nil {
		return err
	}
	if output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	return res.writeText(stdout)
}

// measure sends the load of o and samples the server if o.PID is set. run
// names this run in the generated image names.
func measure(ctx context.Context, o options, run string) (Result, error) {
	var s *sampler
	if o.PID > 0 {
		var err error
		if s, err = startSampler(o.PID); err != nil {
			return Result{}, err
		}
	}
	l := newLoader(o, run)
	tallies, elapsed := l.run(ctx)
	res := summarise(o, tallies, elapsed)
	if s != nil {
		ps := s.Stop()
		res.Server = &ps
	}
	return res, nil
}
