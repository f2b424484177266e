package main

// The commands that talk to a running `sextant serve`: push, findings list,
// actions list. They speak the server's JSON API with an API token and
// decode only what they show, so that fields the server adds later are
// ignored.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/sextant-dev/sextant"
)

// defaultServerURL is where the client commands look for the server when
// neither --server nor SEXTANT_SERVER says otherwise.
const defaultServerURL = "http://127.0.0.1:8080"

// ingestPollInterval is how often `push --wait` asks how an ingest stands.
const ingestPollInterval = 500 * time.Millisecond

// clientFlags are the flags every client command has.
type clientFlags struct {
	server  string
	token   string
	timeout time.Duration
}

func (f *clientFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.server, "server", "", "URL of the sextant server (default: $SEXTANT_SERVER, else "+defaultServerURL+")")
	fl.StringVar(&f.token, "token", "", "API token (default: $SEXTANT_TOKEN, which keeps it out of the process list)")
	fl.DurationVar(&f.timeout, "timeout", 60*time.Second, "time limit of each request to the server")
}

// apiClient calls the API of one server with one token.
type apiClient struct {
	base    *url.URL // the server's URL, without a trailing slash
	token   string
	timeout time.Duration
	http    *http.Client
}

// newAPIClient resolves the server and token from the flags and the
// environment. Errors never contain the token.
func (m *Main) newAPIClient(cmd *cobra.Command, f clientFlags) (*apiClient, error) {
	server := f.server
	if !cmd.Flags().Changed("server") {
		server = cmpOr(m.Getenv("SEXTANT_SERVER"), defaultServerURL)
	}
	u, err := url.Parse(strings.TrimSpace(server))
	if err != nil {
		// url.Error repeats the URL, which might hold a password.
		return nil, sextant.Errorf(sextant.EINVALID, "the server URL is not a URL: want http(s)://host[:port][/path]")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, sextant.Errorf(sextant.EINVALID, "server URL %q: want http(s)://host[:port][/path], without credentials, query or fragment", u.Redacted())
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	token := f.token
	if !cmd.Flags().Changed("token") {
		token = m.Getenv("SEXTANT_TOKEN")
	}
	// A token read from a file with $(cat …) often ends in a newline.
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, sextant.Errorf(sextant.EINVALID, "no API token: set SEXTANT_TOKEN (or --token); an admin creates one with 'sextant token create'")
	}
	if strings.IndexFunc(token, func(r rune) bool { return r <= ' ' || r >= unicode.MaxASCII }) >= 0 {
		return nil, sextant.Errorf(sextant.EINVALID, "the API token holds spaces or control characters; check SEXTANT_TOKEN or --token")
	}
	if f.timeout <= 0 {
		return nil, sextant.Errorf(sextant.EINVALID, "--timeout must be positive, got %s", f.timeout)
	}
	if u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
		fmt.Fprintf(cmd.ErrOrStderr(), "sextant: warning: the API token goes unencrypted to %s; use https://\n", u.Redacted())
	}
	return &apiClient{base: u, token: token, timeout: f.timeout, http: &http.Client{Timeout: f.timeout}}, nil
}

// apiError is an answer of the server other than 2xx.
type apiError struct {
	Status  int
	Code    string // the server's error code: "invalid", "unauthorized", …
	Message string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("server refused it (HTTP %d): %s", e.Status, e.Message)
}

// authFailed reports whether err is a refusal of the token itself, which
// every further request would get too.
func authFailed(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && (ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden)
}

func (c *apiClient) newRequest(ctx context.Context, method, path string, query url.Values, body io.Reader) (*http.Request, error) {
	u := *c.base
	u.Path += path
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "sextant/"+sextantVersion())
	return req, nil
}

// do sends req and returns the response of a 2xx answer, an *apiError for
// any other, or an error saying why the server could not be reached.
func (c *apiClient) do(req *http.Request) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.transportError(req.Context(), err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, readAPIError(resp)
}

// readAPIError decodes {"error":{"code","message"}}, or makes do with the
// status when a proxy in between answered something else.
func readAPIError(resp *http.Response) *apiError {
	e := &apiError{Status: resp.StatusCode}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &body) == nil && body.Error.Message != "" {
		e.Code, e.Message = body.Error.Code, clean(body.Error.Message)
	} else {
		e.Message = http.StatusText(resp.StatusCode)
		if e.Message == "" {
			e.Message = "unexpected answer"
		}
	}
	if resp.StatusCode == http.StatusUnauthorized {
		e.Message += " (check SEXTANT_TOKEN or --token)"
	}
	return e
}

func (c *apiClient) transportError(ctx context.Context, err error) error {
	server := c.base.Redacted()
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("interrupted: %w", ctx.Err())
	case errors.Is(err, syscall.ECONNREFUSED):
		return sextant.Errorf(sextant.EUNAVAILABLE, "cannot connect to %s: connection refused. Is 'sextant serve' running there? (set --server or SEXTANT_SERVER)", server)
	case errors.As(err, &dnsErr):
		return sextant.Errorf(sextant.EUNAVAILABLE, "cannot find the server %s: %v", server, dnsErr)
	case errors.As(err, &netErr) && netErr.Timeout():
		return sextant.Errorf(sextant.EUNAVAILABLE, "no answer from %s within %s (--timeout)", server, c.timeout)
	}
	// *url.Error repeats the method and URL; say it once, our way.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return sextant.Errorf(sextant.EUNAVAILABLE, "cannot reach %s: %v", server, err)
}

// getJSON decodes the answer of GET path?query into v.
func (c *apiClient) getJSON(ctx context.Context, path string, query url.Values, v any) error {
	req, err := c.newRequest(ctx, http.MethodGet, path, query, nil)
	if err != nil {
		return err
	}
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return sextant.Errorf(sextant.EINTERNAL, "GET %s: the server's answer is not the JSON expected: %v", path, err)
	}
	return nil
}

// pushed is a report the server accepted.
type pushed struct {
	name     string
	IngestID string `json:"ingest_id"`
	Status   string `json:"status"`
	Findings int    `json:"findings"`
}

// ingestState is the body of GET /v1/ingests/{id}, as far as push reads it.
type ingestState struct {
	Status   string `json:"status"`
	Findings int    `json:"findings"`
	Error    string `json:"error"`
}

func (m *Main) pushCommand() *cobra.Command {
	var cf clientFlags
	var source string
	var wait bool
	cmd := &cobra.Command{
		Use:   "push [flags] REPORT|- ...",
		Short: "Send scanner reports to a running sextant server",
		Long: `push sends each report to the server's intake queue (POST /v1/reports), as it
is, streamed from the file: any format 'sextant triage' reads, plain or
gzip-compressed. The server commits it and answers at once; its workers then
parse, score and record the findings. - reads standard input.

With --wait, push follows each report until the server has processed it and
prints the outcome. --timeout limits each request, not the wait: the server's
queue retries an ingest and marks it failed after its last attempt.

The server is --server, else $SEXTANT_SERVER, else ` + defaultServerURL + `; the
API token (role analyst or above) is --token, else $SEXTANT_TOKEN.

Exit codes: 0 every report accepted (and, with --wait, processed); 1 any
refused or failed. A report the server refuses does not stop the others; an
unreachable server or a refused token stops them all.`,
		Example: `  export SEXTANT_TOKEN=sxt_…
  sextant push scans/*.json
  trivy image -f json nginx:1.25 | sextant push --source trivy --wait -
  sextant push --server https://sextant.example.com report.json.gz`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.runPush(cmd, args, cf, source, wait)
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&source, "source", "", "name recorded as the ingest's source (trivy, nightly-ci, …); the format is detected from the content either way")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the server has processed each report, and print the outcome")
	return cmd
}

func (m *Main) runPush(cmd *cobra.Command, args []string, cf clientFlags, source string, wait bool) error {
	if len(args) == 0 {
		return sextant.Errorf(sextant.EINVALID, "no reports given: name files, or - for standard input (see 'sextant push --help')")
	}
	stdin := 0
	for _, a := range args {
		if a == "-" {
			stdin++
		}
	}
	if stdin > 1 {
		return sextant.Errorf(sextant.EINVALID, "- (standard input) is given %d times; it can be read once", stdin)
	}
	c, err := m.newAPIClient(cmd, cf)
	if err != nil {
		return err
	}
	ctx, out, errw := cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr()
	var accepted []pushed
	refused := 0
	for _, name := range args {
		p, err := c.push(ctx, name, cmd.InOrStdin(), source)
		if err != nil {
			if authFailed(err) || sextant.ErrorCode(err) == sextant.EUNAVAILABLE || ctx.Err() != nil {
				// Every other file would get the same answer.
				return fmt.Errorf("%s: %w", displayName(name), err)
			}
			refused++
			fmt.Fprintf(errw, "%s: %v\n", displayName(name), err)
			continue
		}
		accepted = append(accepted, p)
		fmt.Fprintf(out, "%s: queued as %s (%d findings)\n", p.name, p.IngestID, p.Findings)
	}
	failed := 0
	if wait {
		for _, p := range accepted {
			st, err := c.waitIngest(ctx, p.IngestID)
			switch {
			case err != nil && (authFailed(err) || sextant.ErrorCode(err) == sextant.EUNAVAILABLE || ctx.Err() != nil):
				return fmt.Errorf("%s: waiting for %s: %w", p.name, p.IngestID, err)
			case err != nil:
				failed++
				fmt.Fprintf(errw, "%s: waiting for %s: %v\n", p.name, p.IngestID, err)
			case st.Status == string(sextant.IngestFailed):
				failed++
				fmt.Fprintf(errw, "%s: %s failed: %s\n", p.name, p.IngestID, cmpOr(clean(st.Error), "no reason given"))
			default:
				fmt.Fprintf(out, "%s: %s done (%d findings)\n", p.name, p.IngestID, st.Findings)
			}
		}
	}
	switch {
	case refused > 0 && failed > 0:
		return fmt.Errorf("%d of %d reports refused, %d failed processing", refused, len(args), failed)
	case refused > 0:
		return fmt.Errorf("%d of %d reports refused", refused, len(args))
	case failed > 0:
		return fmt.Errorf("%d of %d reports failed processing", failed, len(args))
	}
	return nil
}

func displayName(name string) string {
	if name == "-" {
		return "stdin"
	}
	return name
}

// push streams one report to POST /v1/reports.
func (c *apiClient) push(ctx context.Context, name string, stdin io.Reader, source string) (pushed, error) {
	p := pushed{name: displayName(name)}
	var r io.Reader = stdin
	size := int64(-1)
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return p, sextant.Errorf(sextant.EINVALID, "%v", err)
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return p, sextant.Errorf(sextant.EINVALID, "%v", err)
		}
		if st.IsDir() {
			return p, sextant.Errorf(sextant.EINVALID, "is a directory: name the report files in it")
		}
		if st.Mode().IsRegular() {
			size = st.Size()
		}
		r = f
	}
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(2)
	if len(magic) == 0 {
		if err != nil && err != io.EOF {
			return p, sextant.Errorf(sextant.EINVALID, "read: %v", err)
		}
		return p, sextant.Errorf(sextant.EINVALID, "is empty: nothing to push")
	}
	contentType := "application/json"
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		contentType = "application/gzip"
	}
	q := url.Values{}
	if source != "" {
		q.Set("source", source)
	}
	req, err := c.newRequest(ctx, http.MethodPost, "/v1/reports", q, br)
	if err != nil {
		return p, err
	}
	req.Header.Set("Content-Type", contentType)
	// A known length lets the server refuse an oversized report before
	// reading it; standard input goes chunked.
	req.ContentLength = size
	if size < 0 {
		req.ContentLength = 0 // with a body: unknown length
	}
	resp, err := c.do(req)
	if err != nil {
		return p, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || p.IngestID == "" {
		return p, sextant.Errorf(sextant.EINTERNAL, "the server accepted it (HTTP %d) but did not say its ingest ID", resp.StatusCode)
	}
	p.IngestID = clean(p.IngestID)
	return p, nil
}

// waitIngest polls GET /v1/ingests/{id} until the ingest is done or failed.
func (c *apiClient) waitIngest(ctx context.Context, id string) (ingestState, error) {
	for {
		var st ingestState
		// id goes into URL.Path, which String escapes.
		if err := c.getJSON(ctx, "/v1/ingests/"+id, nil, &st); err != nil {
			return st, err
		}
		if sextant.IngestStatus(st.Status).Finished() {
			return st, nil
		}
		t := time.NewTimer(ingestPollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return st, fmt.Errorf("interrupted: %w (the server goes on with it)", ctx.Err())
		case <-t.C:
		}
	}
}

// listFlags are the filters and output of `findings list` and `actions
// list`, which take the query parameters their endpoints take.
type listFlags struct {
	actions                           bool // listing actions, not findings
	status, priority, artifact, owner string
	vulnerability, source, kind       string
	limit                             int
	all                               bool
	output                            string
}

func (f *listFlags) register(cmd *cobra.Command, actions bool) {
	f.actions = actions
	what := "findings"
	statuses := "open, resolved, suppressed, accepted_risk or false_positive"
	if actions {
		what, statuses = "actions", "open or resolved"
	}
	fl := cmd.Flags()
	fl.StringVar(&f.status, "status", "", "only "+what+" with this status: "+statuses)
	fl.StringVar(&f.priority, "priority", "", "only "+what+" at this priority (P0..P3)")
	fl.StringVar(&f.artifact, "artifact", "", "only "+what+" of this artifact (its key: image digest, else repository:tag, else name)")
	if actions {
		fl.StringVar(&f.kind, "kind", "", "only actions of this kind: upgrade-package, rebuild-base-image, no-fix-available, fix-configuration or remove-secret")
	} else {
		fl.StringVar(&f.vulnerability, "vulnerability", "", "only findings of this vulnerability or check ID (CVE-2021-44228)")
		fl.StringVar(&f.source, "source", "", "only findings reported by this scanner (trivy, grype, …)")
	}
	fl.StringVar(&f.owner, "owner", "", "only "+what+" of artifacts with this owner")
	fl.IntVar(&f.limit, "limit", 0, "page size (default: the server's, 50; at most 1000)")
	fl.BoolVar(&f.all, "all", false, "follow the pages to the end")
	fl.StringVarP(&f.output, "output", "o", "table", "output format: table or json")
}

// query checks the flags and returns the query of the listing.
func (f listFlags) query() (url.Values, error) {
	q := url.Values{}
	if f.status != "" {
		valid := sextant.Status(f.status).Valid()
		want := "open, resolved, suppressed, accepted_risk or false_positive"
		if f.actions {
			valid, want = sextant.ActionStatus(f.status).Valid(), "open or resolved"
		}
		if !valid {
			return nil, sextant.Errorf(sextant.EINVALID, "--status: unknown status %q: want %s", f.status, want)
		}
		q.Set("status", f.status)
	}
	if f.priority != "" {
		p, err := sextant.ParsePriority(f.priority)
		if err != nil {
			return nil, fmt.Errorf("--priority: %w", err)
		}
		q.Set("priority", p.String())
	}
	for _, kv := range [][2]string{{"artifact", f.artifact}, {"vulnerability", f.vulnerability}, {"source", f.source}, {"kind", f.kind}, {"owner", f.owner}} {
		if kv[1] != "" {
			q.Set(kv[0], kv[1])
		}
	}
	if f.limit < 0 {
		return nil, sextant.Errorf(sextant.EINVALID, "--limit must not be negative")
	}
	if f.limit > 0 {
		q.Set("limit", fmt.Sprint(f.limit))
	}
	switch f.output {
	case "table", "json":
	default:
		return nil, sextant.Errorf(sextant.EINVALID, "unknown output format %q: want table or json", f.output)
	}
	return q, nil
}

// page is one page of a listing, its items kept raw so that -o json passes
// on every field, known or not.
type page struct {
	Items []json.RawMessage `json:"items"`
	Next  string            `json:"next"`
}

// list reads the pages of a listing, calling each for every item, and
// returns whether more pages follow that were not read.
func (c *apiClient) list(ctx context.Context, path string, q url.Values, all bool, each func(json.RawMessage) error) (more bool, err error) {
	seen := map[string]bool{}
	for {
		var p page
		if err := c.getJSON(ctx, path, q, &p); err != nil {
			return false, err
		}
		for _, it := range p.Items {
			if err := each(it); err != nil {
				return false, err
			}
		}
		if p.Next == "" {
			return false, nil
		}
		if !all {
			return true, nil
		}
		if seen[p.Next] {
			return false, sextant.Errorf(sextant.EINTERNAL, "GET %s: the server gave the same page cursor twice", path)
		}
		seen[p.Next] = true
		q.Set("cursor", p.Next)
	}
}

// jsonArray writes items as one indented JSON array, as they come, so that
// --all never holds every page.
type jsonArray struct {
	w io.Writer
	n int
}

func (a *jsonArray) add(item json.RawMessage) error {
	var b bytes.Buffer
	if a.n == 0 {
		b.WriteString("[\n  ")
	} else {
		b.WriteString(",\n  ")
	}
	if err := json.Indent(&b, item, "  ", "  "); err != nil {
		return sextant.Errorf(sextant.EINTERNAL, "the server sent an item that is not JSON: %v", err)
	}
	a.n++
	_, err := a.w.Write(b.Bytes())
	return err
}

func (a *jsonArray) close() error {
	end := "\n]\n"
	if a.n == 0 {
		end = "[]\n"
	}
	_, err := io.WriteString(a.w, end)
	return err
}

// findingItem is what `findings list` shows of a FindingRecord.
type findingItem struct {
	Finding struct {
		VulnerabilityID string `json:"vulnerability"`
		Package         struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"package"`
		Artifact struct {
			Name       string `json:"name"`
			Repository string `json:"repository"`
			Digest     string `json:"digest"`
		} `json:"artifact"`
		Source struct {
			Scanner string `json:"scanner"`
		} `json:"source"`
	} `json:"finding"`
	Score struct {
		Value    float64 `json:"score"`
		Priority string  `json:"priority"`
	} `json:"score"`
	Status       string `json:"status"`
	Attributions []struct {
		Source string `json:"source"`
	} `json:"attributions"`
}

func (it findingItem) row() []string {
	f := it.Finding
	var sources []string
	for _, a := range it.Attributions {
		sources = append(sources, a.Source)
	}
	if len(sources) == 0 && f.Source.Scanner != "" {
		sources = append(sources, f.Source.Scanner)
	}
	sort.Strings(sources)
	sources = slices.Compact(sources)
	artifact := cmpOr(f.Artifact.Name, cmpOr(f.Artifact.Repository, f.Artifact.Digest))
	return []string{it.Score.Priority, fmt.Sprintf("%.1f", it.Score.Value), it.Status, f.VulnerabilityID,
		f.Package.Name, f.Package.Version, artifact, strings.Join(sources, ",")}
}

// actionItem is what `actions list` shows of an action record.
type actionItem struct {
	Action struct {
		Priority string  `json:"priority"`
		Score    float64 `json:"score"`
		Kind     string  `json:"kind"`
		Title    string  `json:"title"`
		Artifact string  `json:"artifact"`
	} `json:"action"`
	Findings int `json:"findings"`
}

func (it actionItem) row() []string {
	a := it.Action
	return []string{a.Priority, fmt.Sprintf("%.1f", a.Score), a.Kind, a.Title, fmt.Sprint(it.Findings), a.Artifact}
}

// listing says how to list one kind of record.
type listing[T interface{ row() []string }] struct {
	what    string // "findings"
	path    string // "/v1/findings"
	columns []string
}

func (l listing[T]) run(m *Main, cmd *cobra.Command, cf clientFlags, f listFlags) error {
	q, err := f.query()
	if err != nil {
		return err
	}
	c, err := m.newAPIClient(cmd, cf)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	var more bool
	if f.output == "json" {
		arr := &jsonArray{w: out}
		if more, err = c.list(cmd.Context(), l.path, q, f.all, arr.add); err != nil {
			return fmt.Errorf("list %s: %w", l.what, err)
		}
		if err := arr.close(); err != nil {
			return err
		}
	} else {
		var rows [][]string
		more, err = c.list(cmd.Context(), l.path, q, f.all, func(raw json.RawMessage) error {
			var it T
			if err := json.Unmarshal(raw, &it); err != nil {
				return sextant.Errorf(sextant.EINTERNAL, "the server sent an item that is not one of %s: %v", l.what, err)
			}
			rows = append(rows, it.row())
			return nil
		})
		if err != nil {
			return fmt.Errorf("list %s: %w", l.what, err)
		}
		if len(rows) == 0 {
			fmt.Fprintf(cmd.ErrOrStderr(), "no %s\n", l.what)
		} else if err := writeTable(out, l.columns, rows); err != nil {
			return err
		}
	}
	if more {
		fmt.Fprintf(cmd.ErrOrStderr(), "more %s follow: use --all to list them all\n", l.what)
	}
	return nil
}

// writeTable writes rows under a header, in aligned columns.
func writeTable(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		for i := range r {
			r[i] = cmpOr(clean(r[i]), "-")
		}
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// clean makes text from the server safe to print on one line of a
// terminal: the server relays what scanners reported, and a control
// character there (an escape sequence, a tab in a table) must not reach
// the terminal.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

func (m *Main) findingsCommand() *cobra.Command {
	var cf clientFlags
	var f listFlags
	list := &cobra.Command{
		Use:   "list [flags]",
		Short: "List the findings a sextant server holds, highest score first",
		Long: `list asks a running sextant server for its findings (GET /v1/findings),
highest score first, one page (--limit) or all of them (--all), and prints a
table or, with -o json, the finding records as one JSON array.

The server is --server, else $SEXTANT_SERVER, else ` + defaultServerURL + `; the
API token is --token, else $SEXTANT_TOKEN.`,
		Example: `  sextant findings list --status open --priority P0
  sextant findings list --vulnerability CVE-2021-44228 --all -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return listing[findingItem]{what: "findings", path: "/v1/findings",
				columns: []string{"PRIORITY", "SCORE", "STATUS", "VULNERABILITY", "PACKAGE", "VERSION", "ARTIFACT", "SOURCES"},
			}.run(m, cmd, cf, f)
		},
	}
	cf.register(list)
	f.register(list, false)
	cmd := &cobra.Command{Use: "findings", Short: "Read the findings of a running sextant server"}
	cmd.AddCommand(list)
	return cmd
}

func (m *Main) actionsCommand() *cobra.Command {
	var cf clientFlags
	var f listFlags
	list := &cobra.Command{
		Use:   "list [flags]",
		Short: "List the actions a sextant server plans, highest score first",
		Long: `list asks a running sextant server for its actions (GET /v1/actions): the
upgrades, rebuilds and fixes that resolve its findings, highest score first,
one page (--limit) or all of them (--all), as a table or, with -o json, as
one JSON array.

The server is --server, else $SEXTANT_SERVER, else ` + defaultServerURL + `; the
API token is --token, else $SEXTANT_TOKEN.`,
		Example: `  sextant actions list --priority P0
  sextant actions list --kind rebuild-base-image --owner team-billing --all -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return listing[actionItem]{what: "actions", path: "/v1/actions",
				columns: []string{"PRIORITY", "SCORE", "KIND", "TITLE", "FINDINGS", "ARTIFACT"},
			}.run(m, cmd, cf, f)
		},
	}
	cf.register(list)
	f.register(list, true)
	cmd := &cobra.Command{Use: "actions", Short: "Read the actions of a running sextant server"}
	cmd.AddCommand(list)
	return cmd
}
