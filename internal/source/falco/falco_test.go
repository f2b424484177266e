package falco

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/fixtures"
)

func parseAll(t *testing.T, data []byte) ([]Event, Info, error) {
	t.Helper()
	var evs []Event
	info, err := Parse(bytes.NewReader(data), "test", func(e Event) error {
		evs = append(evs, e)
		return nil
	})
	return evs, info, err
}

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseMixedLog(t *testing.T) {
	evs, info, err := parseAll(t, read(t, "mixed.log"))
	if err != nil {
		t.Fatalf("Parse(mixed.log) error = %v", err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, e.Rule)
	}
	want := []string{"Terminal shell in container", "Disallowed SSH Connection Non Standard Port", "Read sensitive file untrusted",
		"Kubectl timestamps", "Netcat Remote Code Execution in Container", "No time", "Odd priority"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse(mixed.log) rules (-want +got):\n%s", diff)
	}
	if info.Events != 7 || info.Skipped != 7 || info.Lines != 31 || info.Format != FormatLines {
		t.Errorf("Parse(mixed.log) info = %+v, want 7 events, 7 skipped, 31 lines, json-lines", info)
	}
	wantWarn := []string{
		"lines 1-2: 2 lines that are not JSON skipped",
		"line 5: not JSON, skipped",
		"line 24: incomplete JSON object, skipped",
		"line 25: not a Falco event (no rule), skipped",
		"line 26: not a Falco event (no rule), skipped",
		"line 27: invalid JSON",
		"line 30: no readable time",
		`line 31: unknown priority "Severe"`,
	}
	if len(info.Warnings) != len(wantWarn) {
		t.Fatalf("warnings = %q, want %d", info.Warnings, len(wantWarn))
	}
	for i, w := range wantWarn {
		if !strings.HasPrefix(info.Warnings[i], w) {
			t.Errorf("warning %d = %q, want it to start with %q", i, info.Warnings[i], w)
		}
	}
	lines := []int{4, 6, 7, 28, 29, 30, 31}
	for i, e := range evs {
		if e.Line != lines[i] {
			t.Errorf("event %q Line = %d, want %d", e.Rule, e.Line, lines[i])
		}
	}

	// The first event: nanoseconds kept, dropped-syscall values gone.
	e := evs[0]
	if want := time.Date(2026, 3, 2, 10, 0, 0, 1, time.UTC); !e.Time.Equal(want) {
		t.Errorf("Time = %v, want %v", e.Time, want)
	}
	for _, k := range []string{"user.uid", "user.loginuid", "proc.aname[2]", "fd.name"} {
		if v, ok := e.Fields[k]; ok {
			t.Errorf("Fields[%q] = %q, want it left out (Falco could not fill it)", k, v)
		}
	}
	if e.Field("gcp.userAgent") != "curl/8" {
		t.Errorf("a key with trailing white space is not trimmed: %v", e.Fields)
	}
	if p := e.Process(); p.Name != "sh" || p.Parent != "runc" || p.UID != "" || p.TTY != "34816" || p.User != "root" {
		t.Errorf("Process() = %+v", p)
	}
	repo, tag, _ := e.Image()
	if e.Namespace() != "shop" || e.Pod() != "web-1" || e.ContainerID() != "3f2a9c1e7b4d" || repo != "docker.io/library/nginx" || tag != "1.25" {
		t.Errorf("subject = %s/%s %s %s:%s", e.Namespace(), e.Pod(), e.ContainerID(), repo, tag)
	}
	if got := e.MITRE(); !cmp.Equal(got, []string{"T1059", "mitre_execution"}) {
		t.Errorf("MITRE() = %v", got)
	}

	// The second: a host event with a connection and a lower-case priority
	// and a time with an offset.
	e = evs[1]
	if e.ContainerID() != "" || e.ContainerName() != "" || e.Namespace() != "" || e.Priority != PriorityWarning {
		t.Errorf("host event: container %q/%q ns %q priority %v", e.ContainerID(), e.ContainerName(), e.Namespace(), e.Priority)
	}
	if c, ok := e.Connection(); !ok || c.Address != "8.47.69.0" || c.Port != 443 || c.Proto != "tcp" {
		t.Errorf("Connection() = %+v, %v", c, ok)
	}
	if want := time.Date(2026, 3, 2, 9, 0, 1, 5e8, time.UTC); !e.Time.Equal(want) {
		t.Errorf("Time = %v, want %v", e.Time, want)
	}
	// The pretty-printed one takes its time from evt.time.
	if e := evs[2]; e.UUID == "" || e.File() != "/etc/shadow" || !e.Time.Equal(time.Unix(0, 1772445602123456789)) {
		t.Errorf("pretty event: uuid %q file %q time %v", e.UUID, e.File(), e.Time)
	}
	if e := evs[4]; e.UUID != "6f1a2b3c-0000-4000-8000-000000000002" || e.Priority != PriorityCritical || e.Hostname != "node-3" {
		t.Errorf("CloudEvents event = %+v", e)
	}
	if e := evs[5]; !e.Time.IsZero() {
		t.Errorf("event without time: Time = %v", e.Time)
	}
	if e := evs[6]; e.Priority != PriorityUnknown || !cmp.Equal(e.Tags, []string{"a"}) || e.Fields != nil {
		t.Errorf("odd event = %+v", e)
	}
}

func TestParseArray(t *testing.T) {
	evs, info, err := parseAll(t, read(t, "array.json"))
	if err != nil {
		t.Fatalf("Parse(array.json) error = %v", err)
	}
	if info.Format != FormatArray || info.Events != 2 || info.Skipped != 1 || len(evs) != 2 {
		t.Fatalf("Parse(array.json) = %d events, info %+v", len(evs), info)
	}
	if evs[0].Line != 1 || evs[1].Line != 3 || evs[1].Priority != PriorityError {
		t.Errorf("events = %+v", evs)
	}
	if len(info.Warnings) != 1 || info.Warnings[0] != "element 2: not a JSON object (a string)" {
		t.Errorf("warnings = %q", info.Warnings)
	}
}

func TestParseBrokenArray(t *testing.T) {
	n := 0
	_, err := Parse(strings.NewReader(`[{"rule":"a"}, {"rule":`), "broken.json", func(Event) error { n++; return nil })
	if sextant.ErrorCode(err) != sextant.EINVALID || !strings.Contains(err.Error(), "byte") {
		t.Fatalf("Parse(broken array) error = %v, want EINVALID naming the byte", err)
	}
	if n != 1 {
		t.Errorf("events before the break = %d, want 1", n)
	}
}

func TestParseLogLineStartingWithBracket(t *testing.T) {
	in := "[INFO] falco starting\n" + `{"rule":"r","priority":"Notice","time":"2026-03-02T10:00:00Z"}` + "\n"
	evs, info, err := parseAll(t, []byte(in))
	if err != nil || len(evs) != 1 || info.Format != FormatLines || info.Skipped != 1 {
		t.Errorf("Parse = %d events, %+v, %v; want 1 event from JSON lines", len(evs), info, err)
	}
}

func TestParseEmitError(t *testing.T) {
	stop := errors.New("stop")
	_, err := Parse(bytes.NewReader(read(t, "mixed.log")), "mixed.log", func(Event) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("Parse with a failing emit = %v, want it returned", err)
	}
}

func TestParseWarningsCapped(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 50; i++ {
		b.WriteString("{\"rule\":\"\"}\n")
	}
	_, info, err := parseAll(t, []byte(b.String()))
	if err != nil || info.Skipped != 50 || len(info.Warnings) != MaxWarnings || info.Warnings[MaxWarnings-1] != "31 more warnings not shown" {
		t.Errorf("Parse(50 bad lines) = %+v, %v", info, err)
	}
}

func TestParseLongLine(t *testing.T) {
	long := `{"rule":"big","output":"` + strings.Repeat("a", MaxLine) + `"}` + "\n" + `{"rule":"small"}` + "\n"
	evs, info, err := parseAll(t, []byte(long))
	if err != nil || len(evs) != 1 || evs[0].Rule != "small" || info.Skipped != 1 {
		t.Errorf("Parse(a line over MaxLine) = %d events, %+v, %v", len(evs), info, err)
	}
}

func TestConnectionForms(t *testing.T) {
	for _, tc := range []struct {
		fields map[string]string
		want   Connection
		ok     bool
	}{
		{map[string]string{"fd.name": "10.0.0.5:43812->10.96.0.1:443"}, Connection{Address: "10.96.0.1", Port: 443}, true},
		{map[string]string{"fd.name": "[fd00::1]:5000->[2001:db8::7]:443"}, Connection{Address: "2001:db8::7", Port: 443}, true},
		{map[string]string{"fd.rip": "203.0.113.9", "fd.rport": "4444", "fd.sip.name": "evil.example"}, Connection{Address: "203.0.113.9", Port: 4444, Name: "evil.example"}, true},
		{map[string]string{"fd.name": "/etc/passwd"}, Connection{}, false},
		{map[string]string{"fd.name": "a->"}, Connection{}, false},
	} {
		e := Event{Fields: tc.fields}
		got, ok := e.Connection()
		if ok != tc.ok || got != tc.want {
			t.Errorf("Connection(%v) = %+v, %v; want %+v, %v", tc.fields, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParsePriority(t *testing.T) {
	for in, want := range map[string]Priority{"CRITICAL": PriorityCritical, "info": PriorityInformational, "Warning": PriorityWarning, "emerg": PriorityEmergency, "nope": PriorityUnknown} {
		if got, _ := ParsePriority(in); got != want {
			t.Errorf("ParsePriority(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestFixtures parses every real Falco event file of the shared corpus:
// each parses, warnings allowed and counted, and every line is either an
// event or counted as skipped.
func TestFixtures(t *testing.T) {
	files := fixtures.Files(t, "falco", "events")
	total := 0
	for _, path := range files {
		if ext := filepath.Ext(path); ext != ".jsonl" && ext != ".log" {
			continue
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			evs, info, err := parseAll(t, b)
			if err != nil {
				t.Fatalf("Parse(%s) error = %v", path, err)
			}
			nonBlank := 0
			for _, l := range strings.Split(string(b), "\n") {
				if strings.TrimSpace(l) != "" {
					nonBlank++
				}
			}
			if len(evs) == 0 || info.Events != len(evs) || info.Events+info.Skipped != nonBlank {
				t.Errorf("Parse(%s) = %d events, info %+v; want events + skipped = %d non-blank lines", path, len(evs), info, nonBlank)
			}
			for _, e := range evs {
				if e.Rule == "" || e.Time.IsZero() {
					t.Errorf("line %d: rule %q time %v", e.Line, e.Rule, e.Time)
				}
				for k, v := range e.Fields {
					if v == "<NA>" || v == "-1" || v == "4294967295" || v == "" {
						t.Errorf("line %d: field %s = %q was not sanitised", e.Line, k, v)
					}
				}
			}
			t.Logf("%d events, %d lines skipped, warnings %q", info.Events, info.Skipped, info.Warnings)
			total += info.Events
		})
	}
	if total == 0 {
		t.Errorf("no events in the Falco fixtures")
	}
}

func TestImageFallback(t *testing.T) {
	for img, want := range map[string][3]string{
		"nginx:1.25":                        {"nginx", "1.25", ""},
		"registry:5000/app/web@sha256:abcd": {"registry:5000/app/web", "", "sha256:abcd"},
		"registry:5000/app/web":             {"registry:5000/app/web", "", ""},
	} {
		e := Event{Fields: map[string]string{"container.image": img}}
		repo, tag, digest := e.Image()
		if got := [3]string{repo, tag, digest}; got != want {
			t.Errorf("Image(%q) = %q, want %q", img, got, want)
		}
	}
}
