package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	sxhttp "github.com/sextant-dev/sextant/internal/http"
)

// envOf returns a getenv reading only env.
func envOf(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// writeConfig writes a config file in a temporary directory.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sextant.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigDefaults(t *testing.T) {
	c, err := loadServeConfig("", envOf(nil))
	if err != nil {
		t.Fatalf("loadServeConfig with no file: %v", err)
	}
	if diff := cmp.Diff(defaultServeConfig(), c); diff != "" {
		t.Errorf("config without file or environment differs from the defaults (-want +got):\n%s", diff)
	}
	if err := c.validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
	d := defaultServeConfig()
	for _, tt := range []struct {
		name      string
		got, want any
	}{
		{"server.addr", d.Server.Addr, "127.0.0.1:8080"},
		{"server.database", d.Server.Database, "./sextant.db"},
		{"server.workers", d.Server.Workers, 2},
		{"server.max_body_bytes", int64(d.Server.MaxBodyBytes), int64(64 << 20)},
		{"server.shutdown_timeout", d.Server.ShutdownTimeout.Duration, 30 * time.Second},
		{"server.allow_remote", d.Server.AllowRemote, false},
		{"log.format", d.Log.Format, "text"},
		{"log.level", d.Log.Level, "info"},
		{"queue.max_attempts", d.Queue.MaxAttempts, 5},
		{"queue.retry_backoff", d.Queue.RetryBackoff.Duration, 2 * time.Second},
		{"queue.lease", d.Queue.Lease.Duration, 5 * time.Minute},
		{"retention.payloads", d.Retention.Payloads.Duration, 720 * time.Hour},
		{"intel.refresh", d.Intel.Refresh.Duration, 24 * time.Hour},
	} {
		if tt.got != tt.want {
			t.Errorf("default %s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestConfigPrecedence(t *testing.T) {
	file := writeConfig(t, `
server:
  addr: "127.0.0.1:9000"
  workers: 4
  max_body_bytes: 1GiB
log:
  format: json
queue:
  lease: 10m
`)
	env := map[string]string{
		"SEXTANT_WORKERS":           "8",
		"SEXTANT_LOG_LEVEL":         "debug",
		"SEXTANT_PAYLOAD_RETENTION": "0",
		"SEXTANT_MAX_BODY_BYTES":    "1048576",
	}
	want := defaultServeConfig()
	want.Server.Addr = "127.0.0.1:9000"           // file
	want.Server.Workers = 8                       // env over file
	want.Server.MaxBodyBytes = 1 << 20            // env over file
	want.Log.Format = "json"                      // file
	want.Log.Level = "debug"                      // env
	want.Queue.Lease = duration{10 * time.Minute} // file
	want.Retention.Payloads = duration{0}         // env: 0 keeps forever
	got, err := loadServeConfig(file, envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("loadServeConfig(%s) (-want +got):\n%s", file, diff)
	}

	// SEXTANT_CONFIG names the file when the path is empty; an explicit
	// path wins over it.
	env["SEXTANT_CONFIG"] = file
	got, err = loadServeConfig("", envOf(env))
	if err != nil || got.Server.Addr != "127.0.0.1:9000" {
		t.Errorf("with SEXTANT_CONFIG: addr %q, err %v; want the file's 127.0.0.1:9000", got.Server.Addr, err)
	}
	other := writeConfig(t, "server: {addr: \"localhost:7000\"}\n")
	got, err = loadServeConfig(other, envOf(env))
	if err != nil || got.Server.Addr != "localhost:7000" {
		t.Errorf("--config over SEXTANT_CONFIG: addr %q, err %v; want localhost:7000", got.Server.Addr, err)
	}
}

func TestConfigLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		env     map[string]string
		want    []string // substrings of the error
		notWant string
	}{
		{name: "unknown top-level key", file: "sever:\n  addr: x\n", want: []string{"unknown key sever", "(did you mean server?)"}},
		{name: "unknown nested key", file: "server:\n  wrokers: 3\n", want: []string{"unknown key server.wrokers", "did you mean workers?"}},
		{name: "unknown key in a webhook", file: "webhooks:\n  - name: a\n    shceme: bearer\n", want: []string{"unknown key webhooks[0].shceme"}},
		{name: "keys are case-sensitive", file: "Server:\n  workers: 3\n", want: []string{"unknown key Server"}},
		{name: "duplicate key", file: "server:\n  workers: 3\n  workers: 4\n", want: []string{"already set"}},
		{name: "bad duration", file: "server:\n  shutdown_timeout: 30 secs\n", want: []string{"server.shutdown_timeout", `"30 secs"`}},
		{name: "duration without unit", file: "queue:\n  lease: 300\n", want: []string{"queue.lease", "300"}},
		{name: "bad webhook duration", file: "webhooks:\n  - name: a\n    tolerance: soon\n", want: []string{"webhooks[0].tolerance", `"soon"`}},
		{name: "bad byte size", file: "server:\n  max_body_bytes: 64 megs\n", want: []string{"server.max_body_bytes", `"64 megs"`}},
		{name: "negative byte size", file: "server:\n  max_body_bytes: -1\n", want: []string{"server.max_body_bytes"}},
		{name: "string for integer", file: "server:\n  workers: two\n", want: []string{"server.workers", "want an integer", `"two"`}},
		{name: "list for section", file: "log: [text]\n", want: []string{"log", "want a mapping"}},
		{name: "not a mapping", file: "- server\n", want: []string{"must be a mapping"}},
		{name: "literal secret", file: "webhooks:\n  - name: a\n    scheme: bearer\n    secret: hunter2hunter2\n", want: []string{"webhooks[0].secret", "{env: VARIABLE} or {file: PATH}"}, notWant: "hunter2"},
		{name: "secret value key", file: "webhooks:\n  - name: a\n    secret: {value: hunter2hunter2}\n", want: []string{"unknown key webhooks[0].secret.value"}, notWant: "hunter2"},
		{name: "bad env integer", env: map[string]string{"SEXTANT_WORKERS": "many"}, want: []string{"SEXTANT_WORKERS", `"many"`}},
		{name: "bad env duration", env: map[string]string{"SEXTANT_INTEL_REFRESH": "daily"}, want: []string{"SEXTANT_INTEL_REFRESH", `"daily"`}},
		{name: "bad env bool", env: map[string]string{"SEXTANT_ALLOW_REMOTE": "sure"}, want: []string{"SEXTANT_ALLOW_REMOTE", `"sure"`}},
		{name: "missing file", env: map[string]string{"SEXTANT_CONFIG": "/nonexistent/sextant.yaml"}, want: []string{"/nonexistent/sextant.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = writeConfig(t, tt.file)
			}
			_, err := loadServeConfig(path, envOf(tt.env))
			if err == nil {
				t.Fatalf("loadServeConfig(%q) = nil error, want one mentioning %q", tt.file, tt.want)
			}
			msg := err.Error()
			if path != "" && !strings.Contains(msg, path) {
				t.Errorf("error %q does not name the file %s", msg, path)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
			if tt.notWant != "" && strings.Contains(msg, tt.notWant) {
				t.Errorf("error %q repeats the secret %q", msg, tt.notWant)
			}
		})
	}
}

func TestConfigValues(t *testing.T) {
	tests := []struct {
		in   string
		dur  time.Duration
		size int64
	}{
		{in: "0", dur: 0, size: 0},
		{in: "30s", dur: 30 * time.Second},
		{in: "1h30m", dur: 90 * time.Minute},
		{in: "30d", dur: 720 * time.Hour},
		{in: "1024", size: 1024},
		{in: "10MiB", size: 10 << 20},
		{in: "64MB", size: 64_000_000},
		{in: "1GiB", size: 1 << 30},
		{in: "512kib", size: 512 << 10},
		{in: "1.5KiB", size: 1536},
	}
	for _, tt := range tests {
		var d duration
		errD := d.set(tt.in)
		var n byteSize
		errN := n.set(tt.in)
		if tt.dur != 0 || tt.in == "0" {
			if errD != nil || d.Duration != tt.dur {
				t.Errorf("duration %q = %v, %v; want %v", tt.in, d.Duration, errD, tt.dur)
			}
		}
		if tt.size != 0 || tt.in == "0" {
			if errN != nil || int64(n) != tt.size {
				t.Errorf("byte size %q = %d, %v; want %d", tt.in, n, errN, tt.size)
			}
		}
	}
	for _, bad := range []string{"", "1.5B", "10 MiBs", "MiB", "-3", "0x10"} {
		var n byteSize
		if err := n.set(bad); err == nil {
			t.Errorf("byte size %q = %d, want an error", bad, n)
		}
	}
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{{0, "0"}, {720 * time.Hour, "720h"}, {5 * time.Minute, "5m"}, {90 * time.Minute, "1h30m"}, {1500 * time.Millisecond, "1.5s"}} {
		if got := (duration{tt.d}).String(); got != tt.want {
			t.Errorf("duration(%v).String() = %q, want %q", tt.d, got, tt.want)
		}
	}
	for _, tt := range []struct {
		n    byteSize
		want string
	}{{0, "0"}, {1000, "1000"}, {64 << 20, "64MiB"}, {1 << 30, "1GiB"}, {1536, "1536"}, {3 << 10, "3KiB"}} {
		if got := tt.n.String(); got != tt.want {
			t.Errorf("byteSize(%d).String() = %q, want %q", int64(tt.n), got, tt.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *serveConfig)
		want   string // "" for valid
	}{
		{"defaults", func(c *serveConfig) {}, ""},
		{"localhost", func(c *serveConfig) { c.Server.Addr = "localhost:8080" }, ""},
		{"ipv6 loopback", func(c *serveConfig) { c.Server.Addr = "[::1]:0" }, ""},
		{"all interfaces refused", func(c *serveConfig) { c.Server.Addr = "0.0.0.0:8080" }, "config: server.addr: 0.0.0.0:8080 listens beyond this machine"},
		{"empty host refused", func(c *serveConfig) { c.Server.Addr = ":8080" }, "server.addr"},
		{"hostname refused", func(c *serveConfig) { c.Server.Addr = "sextant.internal:8080" }, "allow_remote"},
		{"remote allowed", func(c *serveConfig) { c.Server.Addr = "0.0.0.0:8080"; c.Server.AllowRemote = true }, ""},
		{"no port", func(c *serveConfig) { c.Server.Addr = "127.0.0.1" }, "config: server.addr: \"127.0.0.1\" is not host:port"},
		{"bad port", func(c *serveConfig) { c.Server.Addr = "127.0.0.1:99999" }, "server.addr"},
		{"no database", func(c *serveConfig) { c.Server.Database = "" }, "config: server.database: is empty"},
		{"postgres", func(c *serveConfig) { c.Server.Database = "postgres://sextant@db/sextant?sslmode=verify-full" }, ""},
		{"postgres password", func(c *serveConfig) { c.Server.Database = "postgres://sextant:pw@db/sextant" }, "server.database: the URL holds a password"},
		{"postgres password param", func(c *serveConfig) { c.Server.Database = "postgresql://db/sextant?password=pw" }, "PGPASSWORD"},
		{"zero workers", func(c *serveConfig) { c.Server.Workers = 0 }, "config: server.workers: must be at least 1, got 0"},
		{"zero body", func(c *serveConfig) { c.Server.MaxBodyBytes = 0 }, "config: server.max_body_bytes: must be at least 1 byte"},
		{"zero shutdown", func(c *serveConfig) { c.Server.ShutdownTimeout = duration{} }, "config: server.shutdown_timeout: must be positive"},
		{"log format", func(c *serveConfig) { c.Log.Format = "xml" }, `config: log.format: must be text or json, got "xml"`},
		{"log level", func(c *serveConfig) { c.Log.Level = "trace" }, `config: log.level: must be debug, info, warn or error, got "trace"`},
		{"attempts", func(c *serveConfig) { c.Queue.MaxAttempts = 0 }, "config: queue.max_attempts: must be at least 1, got 0"},
		{"backoff", func(c *serveConfig) { c.Queue.RetryBackoff = duration{-time.Second} }, "config: queue.retry_backoff: must be positive, got -1s"},
		{"lease", func(c *serveConfig) { c.Queue.Lease = duration{time.Millisecond} }, "config: queue.lease: must be at least 1s"},
		{"retention", func(c *serveConfig) { c.Retention.Payloads = duration{-time.Hour} }, "config: retention.payloads"},
		{"retention forever", func(c *serveConfig) { c.Retention.Payloads = duration{} }, ""},
		{"refresh off", func(c *serveConfig) { c.Intel.Refresh = duration{} }, ""},
		{"refresh too often", func(c *serveConfig) { c.Intel.Refresh = duration{time.Minute} }, "config: intel.refresh: must be 0 (off) or at least 1h, got 1m"},
		{"context missing", func(c *serveConfig) { c.Context = "/nonexistent/context.yaml" }, "config: context: read context file"},
		{"context ok", func(c *serveConfig) { c.Context = ex + "context.yaml" }, ""},
		{"risk ok", func(c *serveConfig) { c.Risk = []byte(`{"exposed": 1.5}`) }, ""},
		{"risk unknown key", func(c *serveConfig) { c.Risk = []byte(`{"exposd": 1.5}`) }, "config: risk: parse risk weights: unknown key(s) risk.exposd"},
		{"webhook name", func(c *serveConfig) {
			c.Webhooks = []webhookConfig{{Name: "Wiz Prod", Scheme: "bearer", SecretSHA256: strings.Repeat("ab", 32)}}
		}, `config: webhooks[0].name: "Wiz Prod" must be lower-case letters, digits, - and _`},
		{"webhook duplicate", func(c *serveConfig) {
			w := webhookConfig{Name: "ci", Scheme: "bearer", SecretSHA256: strings.Repeat("ab", 32)}
			c.Webhooks = []webhookConfig{w, w}
		}, `config: webhooks[1].name: "ci" is already the name of webhooks[0]`},
		{"webhook missing env secret", func(c *serveConfig) {
			c.Webhooks = []webhookConfig{{Name: "wiz", Scheme: "hmac-sha256", Secret: secretRef{Env: "SEXTANT_TEST_UNSET_SECRET"}}}
		}, `config: webhooks[0]: webhook source "wiz": secret: environment variable SEXTANT_TEST_UNSET_SECRET is not set`},
		{"webhook bad scheme", func(c *serveConfig) {
			c.Webhooks = []webhookConfig{{Name: "x", Scheme: "digest", SecretSHA256: strings.Repeat("ab", 32)}}
		}, `webhook source "x": unknown auth scheme "digest"`},
		{"webhook hash", func(c *serveConfig) {
			c.Webhooks = []webhookConfig{{Name: "ci_1", Scheme: "basic", Username: "u", SecretSHA256: strings.Repeat("ab", 32)}}
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := defaultServeConfig()
			tt.change(&c)
			err := c.validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("validate() = %v, want nil", err)
			case tt.want != "" && err == nil:
				t.Errorf("validate() = nil, want an error containing %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Errorf("validate() = %q, want it to contain %q", err, tt.want)
			}
		})
	}

	// Every problem is reported, not only the first.
	c := defaultServeConfig()
	c.Server.Workers, c.Log.Level = 0, "loud"
	err := c.validate()
	if err == nil || !strings.Contains(err.Error(), "server.workers") || !strings.Contains(err.Error(), "log.level") {
		t.Errorf("validate() with two bad fields = %v, want both named", err)
	}
}

// TestConfigExample loads and validates examples/sextant.yaml, whose paths
// are relative to the repository root.
func TestConfigExample(t *testing.T) {
	t.Setenv("WIZ_WEBHOOK_SECRET", "wiz-test-key")
	t.Setenv("GRYPE_CI_TOKEN", "grype-test-token")
	t.Chdir("../..")
	c, err := loadServeConfig("examples/sextant.yaml", envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.validate(); err != nil {
		t.Fatalf("examples/sextant.yaml does not validate: %v", err)
	}
	if c.Retention.Payloads.Duration != 30*24*time.Hour || c.Context != "examples/context.yaml" {
		t.Errorf("retention %v, context %q; want 720h and examples/context.yaml", c.Retention.Payloads, c.Context)
	}
	w, err := c.riskWeights()
	if err != nil || w.Exposed != 1.3 {
		t.Errorf("risk weights: exposed %v, err %v; want 1.3", w.Exposed, err)
	}
	want := []sxhttp.SourceConfig{
		{Name: "wiz", Scheme: sxhttp.SchemeHMAC, Secret: sxhttp.SecretRef{Env: "WIZ_WEBHOOK_SECRET"},
			SignatureHeader: "X-Wiz-Signature", TimestampHeader: "X-Wiz-Timestamp", Encoding: sxhttp.EncodingHex,
			Tolerance: 5 * time.Minute, MaxBodyBytes: 10 << 20},
		{Name: "grype-ci", Scheme: sxhttp.SchemeBearer, Secret: sxhttp.SecretRef{Env: "GRYPE_CI_TOKEN"}},
		{Name: "legacy-scanner", Scheme: sxhttp.SchemeBasic, Username: "scanner",
			SecretSHA256: "86fa6089ef31032e9bd00baad288d17a9f75c84a8d840c7cdb59258c5924dfb9"},
	}
	if diff := cmp.Diff(want, c.webhookSources()); diff != "" {
		t.Errorf("webhookSources() (-want +got):\n%s", diff)
	}
	for _, sc := range c.webhookSources() {
		if _, err := sc.Load(); err != nil {
			t.Errorf("Load(%s): %v", sc.Name, err)
		}
	}
}

// TestConfigDescribe checks that describe prints what loads back to the
// same configuration, shows secret references and no secret.
func TestConfigDescribe(t *testing.T) {
	t.Setenv("SEXTANT_TEST_WIZ", "the-hmac-key-itself")
	c, err := loadServeConfig(writeConfig(t, `
server: {workers: 3, max_body_bytes: 1000, allow_remote: true, addr: "0.0.0.0:1"}
retention: {payloads: 0}
intel: {dir: "on"}
webhooks:
  - {name: wiz, scheme: hmac-sha256, secret: {env: SEXTANT_TEST_WIZ}, encoding: base64}
  - {name: ci, scheme: bearer, secret: {file: /run/secrets/ci}}
risk:
  exposed: 1.4
`), envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := c.describe(&out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{"secret: {env: SEXTANT_TEST_WIZ}", "secret: {file: /run/secrets/ci}", "signature_header: X-Sextant-Signature", "tolerance: 5m", "max_body_bytes: 10MiB", `dir: "on"`, "payloads: 0\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("describe output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "the-hmac-key-itself") {
		t.Errorf("describe output shows a secret:\n%s", text)
	}
	back, err := loadServeConfig(writeConfig(t, text), envOf(nil))
	if err != nil {
		t.Fatalf("describe output does not load: %v\n%s", err, text)
	}
	// describe fills in the webhook defaults that Load applies.
	c.Webhooks[0].SignatureHeader, c.Webhooks[0].TimestampHeader = sxhttp.DefaultSignatureHeader, sxhttp.DefaultTimestampHeader
	c.Webhooks[0].Tolerance = duration{sxhttp.DefaultTolerance}
	c.Webhooks[0].MaxBodyBytes, c.Webhooks[1].MaxBodyBytes = 10<<20, 10<<20
	// The risk section is kept raw, so compare what it means.
	if w, err := back.riskWeights(); err != nil || w.Exposed != 1.4 {
		t.Errorf("risk section after round trip: exposed %v, %v", w.Exposed, err)
	}
	c.Risk, back.Risk = nil, nil
	if diff := cmp.Diff(c, back); diff != "" {
		t.Errorf("describe does not round-trip (-want +got):\n%s\n%s", diff, text)
	}

	// A password in a database URL (refused by validate) is not printed.
	c = defaultServeConfig()
	c.Server.Database = "postgres://u:s3cr3t-pw@db/x"
	out.Reset()
	if err := c.describe(&out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "s3cr3t-pw") {
		t.Errorf("describe shows a database password:\n%s", out.String())
	}
}

func TestConfigCheckCommand(t *testing.T) {
	runConfig := func(env map[string]string, args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		m := &Main{Args: args, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: envOf(env)}
		return m.Run(context.Background()), out.String(), errb.String()
	}
	good := writeConfig(t, "server:\n  workers: 3\n")
	code, out, errs := runConfig(map[string]string{"SEXTANT_LOG_FORMAT": "json"}, "config", "check", "--config", good)
	if code != exitOK || !strings.Contains(errs, "configuration OK") {
		t.Fatalf("config check: exit %d, stderr %q; want 0 and 'configuration OK'", code, errs)
	}
	for _, want := range []string{"workers: 3", "format: json", "file " + good, "environment SEXTANT_LOG_FORMAT"} {
		if !strings.Contains(out, want) {
			t.Errorf("config check output lacks %q:\n%s", want, out)
		}
	}

	code, out, errs = runConfig(map[string]string{"SEXTANT_CONFIG": good, "SEXTANT_ADDR": "0.0.0.0:80"}, "config", "check")
	if code != exitError || !strings.Contains(errs, "server.addr") || strings.Contains(errs, "configuration OK") || out != "" {
		t.Errorf("config check of a remote addr: exit %d, stdout %q, stderr %q; want exit 1 naming server.addr", code, out, errs)
	}
	bad := writeConfig(t, "server:\n  wrokers: 3\n")
	code, _, errs = runConfig(nil, "config", "check", "--config", bad)
	if code != exitError || !strings.Contains(errs, "server.wrokers") || !strings.Contains(errs, bad) {
		t.Errorf("config check of an unknown key: exit %d, stderr %q", code, errs)
	}
}

// FuzzConfigDecode checks that no file makes the decoder panic, and that
// what it accepts can be described.
func FuzzConfigDecode(f *testing.F) {
	for _, s := range []string{
		"server:\n  workers: 3\n",
		"webhooks:\n  - {name: a, secret: {env: X}, tolerance: 5m, max_body_bytes: 1MiB}\n",
		"server: {max_body_bytes: 1.5KiB, shutdown_timeout: 0}\n",
		"risk: {exposed: 2}\n",
		"[1, 2]",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := defaultServeConfig()
		if err := decodeServeConfig([]byte(s), "fuzz.yaml", &c); err != nil {
			return
		}
		_ = c.describe(&bytes.Buffer{})
	})
}
