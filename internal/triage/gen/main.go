// Command gen writes a large synthetic Trivy report for benchmarks: a
// `trivy k8s` cluster report whose resources each run their own image with
// realistic Debian and npm findings (descriptions, CVSS, references), so
// that anyone can repeat the measurements in BENCHMARKS.md:
//
//	go run ./internal/triage/gen -findings 1000000 -o /tmp/big.json
//
// The output is deterministic for given flags.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/sextant-dev/sextant/internal/triage/gen/report"
)

func main() {
	n := flag.Int("findings", 100000, "number of findings to write")
	perImage := flag.Int("per-image", 500, "findings per image")
	out := flag.String("o", "-", "output file (- for standard output)")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	w := io.Writer(os.Stdout)
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	if err := report.Write(bw, *n, *perImage, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	if err := bw.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
