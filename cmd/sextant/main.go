// Command sextant turns container-security findings into the few actions
// that matter: ranked by real risk, with exact fix commands.
//
// This package is the only place that wires: flags, configuration, the
// registry of report formats, and the threat-intel cache.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sextant-dev/sextant"
)

// Exit codes. They are part of the CLI's contract (README, "Exit codes").
const (
	exitOK    = 0
	exitError = 1 // usage or input error
	exitGate  = 3 // --fail-on tripped
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

func sextantVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// Main is one run of the program, with its standard streams and
// environment injected so tests can run the real thing in-process.
type Main struct {
	Args   []string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// IsTerminal reports whether a stream is an interactive terminal.
	IsTerminal func(any) bool
}

// gateError says that --fail-on tripped; it carries no message of its own.
type gateError struct{ n int }

func (g *gateError) Error() string {
	return fmt.Sprintf("%d action(s) at or above the --fail-on priority", g.n)
}

// Run runs the command line and returns the process exit code.
func (m *Main) Run(ctx context.Context) int {
	if m.Getenv == nil {
		m.Getenv = os.Getenv
	}
	if m.IsTerminal == nil {
		m.IsTerminal = func(any) bool { return false }
	}
	root := m.rootCommand()
	root.SetArgs(m.Args)
	root.SetIn(m.Stdin)
	root.SetOut(m.Stdout)
	root.SetErr(m.Stderr)
	err := root.ExecuteContext(ctx)
	var g *gateError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &g):
		fmt.Fprintf(m.Stderr, "sextant: gate failed: %v\n", err)
		return exitGate
	default:
		fmt.Fprintf(m.Stderr, "sextant: %s\n", errorText(err))
		return exitError
	}
}

// errorText shows application errors by their message and anything else in
// full: an unexpected error is still the user's best clue.
func errorText(err error) string {
	var e *sextant.Error
	if errors.As(err, &e) && err.Error() == e.Message {
		return e.Message
	}
	return err.Error()
}

func (m *Main) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "sextant",
		Short: "Turn container-security findings into ranked, explained fix actions",
		Long: `sextant reads scanner reports (Trivy, Grype, CycloneDX, SARIF, GitLab, ASFF,
Trivy Operator), merges what every source says about each finding, scores it
by real risk (CISA KEV, FIRST EPSS, CVSS, fix availability, runtime context)
and groups the findings into actions: one upgrade that fixes many CVEs, one
base-image rebuild that fixes hundreds.

Start with:
  sextant triage report.json            ranked actions in a table
  sextant intel update                  fetch the KEV catalog and EPSS scores`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       sextantVersion(),
	}
	root.AddCommand(m.triageCommand(), m.k8sCommand(), m.intelCommand(), m.versionCommand())
	root.AddCommand(m.configCommand())
	root.AddCommand(m.promptsCommand())
	root.AddCommand(m.pushCommand())
	root.AddCommand(m.findingsCommand())
	root.AddCommand(m.actionsCommand())
	root.AddCommand(m.auditCommand())
	root.AddCommand(m.tokenCommand())
	root.AddCommand(m.serveCommand(), m.replayCommand())
	root.AddCommand(m.ciCommand(), m.approvalsCommand(), m.sinksCommand())
	root.AddCommand(m.investigateCommand())
	root.AddCommand(m.exceptionCommand(), m.policyCommand(), m.evalCommand())
	return root
}

func (m *Main) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print sextant's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), "sextant", sextantVersion())
			return nil
		},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	m := &Main{
		Args:   os.Args[1:],
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Getenv: os.Getenv,
		IsTerminal: func(s any) bool {
			f, ok := s.(*os.File)
			return ok && term.IsTerminal(int(f.Fd()))
		},
	}
	// SEXTANT_CPUPROFILE=file writes a CPU profile of the run, for
	// `go tool pprof` (see BENCHMARKS.md).
	if p := os.Getenv("SEXTANT_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				defer f.Close()
				defer pprof.StopCPUProfile()
			}
		}
	}
	code := m.Run(ctx)
	stop()
	if code != exitOK {
		pprof.StopCPUProfile()
		os.Exit(code)
	}
}
