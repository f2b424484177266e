package main

// The configuration of `sextant serve`: its schema (serveConfig and the
// types below), how it is read (YAML file, then SEXTANT_* environment
// variables) and how it is checked. docs/config.md documents every key; keep
// the two in step.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/sextant-dev/sextant"
	sxhttp "github.com/sextant-dev/sextant/internal/http"
	"github.com/sextant-dev/sextant/internal/risk"
	"github.com/sextant-dev/sextant/internal/triage"
)

// serveConfig is the configuration of `sextant serve`. Defaults come from
// defaultServeConfig; loadServeConfig lays a YAML file and then SEXTANT_*
// environment variables over them; the serve command's flags override all
// of those; validate checks the result.
//
// No field holds a secret: webhook secrets are references (an environment
// variable or a file) or SHA-256 hashes, and a database URL with a password
// is refused. So the whole configuration can be printed (describe).
type serveConfig struct {
	Server    serverConfig    `json:"server"`
	Log       logConfig       `json:"log"`
	Queue     queueConfig     `json:"queue"`
	Retention retentionConfig `json:"retention"`
	Intel     intelConfig     `json:"intel"`
	// Context is a context file, as `sextant triage --context` reads.
	Context  string          `json:"context"`
	Webhooks []webhookConfig `json:"webhooks"`
	// Risk is the `risk:` section of weights that triage and k8s also read
	// from the same file, kept raw; riskWeights decodes it.
	Risk json.RawMessage `json:"risk,omitempty"`
	// Mode is observe, ticket or remediate (docs/sinks.md).
	Mode string `json:"mode"`
	// PublicURL is the server's URL as people reach it, for links in
	// tickets and Teams approval buttons.
	PublicURL    string              `json:"public_url"`
	Approvals    approvalsConfig     `json:"approvals"`
	Slack        slackInboundConfig  `json:"slack"`
	Destinations []destinationConfig `json:"destinations"`
	// Remediate is where approved remediations go as pull requests
	// (destinations.go, docs/sinks.md).
	Remediate remediateConfig `json:"remediate"`
}

type serverConfig struct {
	// Addr is the listen address, host:port.
	Addr string `json:"addr"`
	// Database is a SQLite file path, or a postgres:// (postgresql://) URL.
	Database string `json:"database"`
	// Workers is the number of ingest workers.
	Workers int `json:"workers"`
	// MaxBodyBytes limits the body of POST /v1/reports.
	MaxBodyBytes byteSize `json:"max_body_bytes"`
	// ShutdownTimeout bounds the graceful shutdown.
	ShutdownTimeout duration `json:"shutdown_timeout"`
	// AllowRemote must be true to listen on anything but loopback.
	AllowRemote bool `json:"allow_remote"`
}

type logConfig struct {
	Format string `json:"format"` // text or json
	Level  string `json:"level"`  // debug, info, warn or error
}

type queueConfig struct {
	// MaxAttempts is how many times an ingest is tried before it fails
	// for good.
	MaxAttempts int `json:"max_attempts"`
	// RetryBackoff is the base of the exponential backoff between attempts.
	RetryBackoff duration `json:"retry_backoff"`
	// Lease is how long a worker may hold an ingest before another takes it
	// back.
	Lease duration `json:"lease"`
}

type retentionConfig struct {
	// Payloads is how long raw payloads are kept; 0 keeps them forever.
	Payloads duration `json:"payloads"`
}

type intelConfig struct {
	// Refresh is the period of the KEV/EPSS refresh; 0 turns it off.
	Refresh duration `json:"refresh"`
	// Dir is the intel cache directory; empty means the default of
	// `sextant intel`.
	Dir string `json:"dir"`
}

// webhookConfig is one entry of webhooks:, mapped onto sxhttp.SourceConfig.
type webhookConfig struct {
	Name            string    `json:"name"`
	Scheme          string    `json:"scheme"`
	Secret          secretRef `json:"secret"`
	SecretSHA256    string    `json:"secret_sha256"`
	Username        string    `json:"username"`
	SignatureHeader string    `json:"signature_header"`
	TimestampHeader string    `json:"timestamp_header"`
	Encoding        string    `json:"encoding"`
	Tolerance       duration  `json:"tolerance"`
	MaxBodyBytes    byteSize  `json:"max_body_bytes"`
}

// secretRef is where a secret lives: {env: VAR} or {file: PATH}. A secret
// written in clear is not representable.
type secretRef struct {
	Env  string `json:"env"`
	File string `json:"file"`
}

func defaultServeConfig() serveConfig {
	return serveConfig{
		Server: serverConfig{
			Addr:            "127.0.0.1:8080",
			Database:        "./sextant.db",
			Workers:         2,
			MaxBodyBytes:    64 << 20,
			ShutdownTimeout: duration{30 * time.Second},
		},
		Log:       logConfig{Format: "text", Level: "info"},
		Queue:     queueConfig{MaxAttempts: 5, RetryBackoff: duration{2 * time.Second}, Lease: duration{5 * time.Minute}},
		Retention: retentionConfig{Payloads: duration{30 * 24 * time.Hour}},
		Intel:     intelConfig{Refresh: duration{24 * time.Hour}},
		Mode:      string(sextant.ModeObserve),
		Approvals: approvalsConfig{Expiry: duration{72 * time.Hour}},
	}
}

// configPath returns the config file to read: path, else $SEXTANT_CONFIG,
// else "" for none.
func configPath(path string, getenv func(string) string) string {
	if path != "" {
		return path
	}
	return getenv("SEXTANT_CONFIG")
}

// loadServeConfig returns the defaults, overlaid with the YAML file at path
// (or $SEXTANT_CONFIG when path is empty; no file when both are) and then
// with the SEXTANT_* environment variables of serveEnv. It checks syntax,
// keys and types, not values: call validate once flags are applied too.
// Errors are EINVALID and name the file and key, or the variable.
func loadServeConfig(path string, getenv func(string) string) (serveConfig, error) {
	c := defaultServeConfig()
	if path = configPath(path, getenv); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return serveConfig{}, sextant.Errorf(sextant.EINVALID, "read config file: %v", err)
		}
		if err := decodeServeConfig(b, path, &c); err != nil {
			return serveConfig{}, err
		}
	}
	for _, e := range serveEnv {
		v := getenv(e.name)
		if v == "" {
			continue
		}
		if err := e.set(&c, v); err != nil {
			return serveConfig{}, sextant.Errorf(sextant.EINVALID, "config: %s: %v", e.name, err)
		}
	}
	return c, nil
}

// decodeServeConfig lays the YAML document b over c. name is the file, for
// errors.
func decodeServeConfig(b []byte, name string, c *serveConfig) error {
	fail := func(format string, args ...any) error {
		return sextant.Errorf(sextant.EINVALID, "config file %s: %s", name, fmt.Sprintf(format, args...))
	}
	// Strict: a key given twice is an error rather than a silent choice.
	js, err := yaml.YAMLToJSONStrict(b)
	if err != nil {
		return fail("%v", err)
	}
	var doc any
	if err := json.Unmarshal(js, &doc); err != nil {
		return fail("%v", err)
	}
	if doc == nil {
		return nil // an empty file, or only comments
	}
	if _, ok := doc.(map[string]any); !ok {
		return fail("the file must be a mapping of sections (server:, log:, …)")
	}
	// Check every key and value against the schema first, so that errors
	// carry the full path of the key; encoding/json alone names neither
	// the section of an unknown key nor the field of a bad duration.
	if err := checkConfigValue(doc, reflect.TypeFor[serveConfig](), ""); err != nil {
		return fail("%v", err)
	}
	d := json.NewDecoder(bytes.NewReader(js))
	d.DisallowUnknownFields()
	if err := d.Decode(c); err != nil {
		return fail("%v", err)
	}
	return nil
}

var (
	durationType  = reflect.TypeFor[duration]()
	byteSizeType  = reflect.TypeFor[byteSize]()
	secretRefType = reflect.TypeFor[secretRef]()
	rawType       = reflect.TypeFor[json.RawMessage]()
)

// checkConfigValue checks that v, decoded from JSON, fits type t; path is
// where v sits in the document ("server.workers", "webhooks[0].secret").
// Messages never repeat the value of a secret field.
func checkConfigValue(v any, t reflect.Type, path string) error {
	at := func(format string, args ...any) error {
		if path == "" {
			return fmt.Errorf(format, args...)
		}
		return fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...))
	}
	switch t {
	case rawType:
		return nil // checked by its own parser
	case durationType, byteSizeType:
		b, _ := json.Marshal(v)
		u := reflect.New(t).Interface().(json.Unmarshaler)
		if err := u.UnmarshalJSON(b); err != nil {
			return at("%v", err)
		}
		return nil
	case secretRefType:
		if _, ok := v.(map[string]any); !ok && v != nil {
			return at("want {env: VARIABLE} or {file: PATH}: a secret is never written in the config file")
		}
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return at("want a mapping of keys, got %s", jsonKind(v))
		}
		fields := map[string]reflect.Type{}
		for f := range t.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name != "" && name != "-" {
				fields[name] = f.Type
			}
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			sub := k
			if path != "" {
				sub = path + "." + k
			}
			ft, ok := fields[k]
			if !ok {
				msg := "unknown key " + sub
				if s := closestKey(k, fields); s != "" {
					msg += fmt.Sprintf(" (did you mean %s?)", s)
				}
				return errors.New(msg)
			}
			if err := checkConfigValue(m[k], ft, sub); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if v == nil {
			return nil
		}
		a, ok := v.([]any)
		if !ok {
			return at("want a list, got %s", jsonKind(v))
		}
		for i, e := range a {
			if err := checkConfigValue(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.String:
		if _, ok := v.(string); !ok && v != nil {
			return at("want a string, got %s", jsonKind(v))
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return at("want true or false, got %s", jsonKind(v))
		}
	case reflect.Int, reflect.Int64:
		f, ok := v.(float64)
		if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return at("want an integer, got %s", jsonKind(v))
		}
	}
	return nil
}

// jsonKind describes a decoded JSON value for an error message: scalars
// are shown, since a secret cannot be one of the fields this is used for.
func jsonKind(v any) string {
	switch v := v.(type) {
	case nil:
		return "nothing"
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case string:
		return strconv.Quote(v)
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// closestKey returns the known key nearest to k, if one is a likely typo.
func closestKey(k string, fields map[string]reflect.Type) string {
	best, bestD := "", 3
	for f := range fields {
		if d := editDistance(k, f); d < bestD || d == bestD && f < best {
			best, bestD = f, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// serveEnv are the environment variables that override the file, in the
// order they are applied. docs/config.md lists them.
var serveEnv = []struct {
	name, key string
	set       func(c *serveConfig, v string) error
}{
	{"SEXTANT_ADDR", "server.addr", func(c *serveConfig, v string) error { c.Server.Addr = v; return nil }},
	{"SEXTANT_DATABASE", "server.database", func(c *serveConfig, v string) error { c.Server.Database = v; return nil }},
	{"SEXTANT_WORKERS", "server.workers", func(c *serveConfig, v string) error { return setInt(&c.Server.Workers, v) }},
	{"SEXTANT_MAX_BODY_BYTES", "server.max_body_bytes", func(c *serveConfig, v string) error { return c.Server.MaxBodyBytes.set(v) }},
	{"SEXTANT_SHUTDOWN_TIMEOUT", "server.shutdown_timeout", func(c *serveConfig, v string) error { return c.Server.ShutdownTimeout.set(v) }},
	{"SEXTANT_ALLOW_REMOTE", "server.allow_remote", func(c *serveConfig, v string) error { return setBool(&c.Server.AllowRemote, v) }},
	{"SEXTANT_LOG_FORMAT", "log.format", func(c *serveConfig, v string) error { c.Log.Format = v; return nil }},
	{"SEXTANT_LOG_LEVEL", "log.level", func(c *serveConfig, v string) error { c.Log.Level = v; return nil }},
	{"SEXTANT_QUEUE_MAX_ATTEMPTS", "queue.max_attempts", func(c *serveConfig, v string) error { return setInt(&c.Queue.MaxAttempts, v) }},
	{"SEXTANT_QUEUE_RETRY_BACKOFF", "queue.retry_backoff", func(c *serveConfig, v string) error { return c.Queue.RetryBackoff.set(v) }},
	{"SEXTANT_QUEUE_LEASE", "queue.lease", func(c *serveConfig, v string) error { return c.Queue.Lease.set(v) }},
	{"SEXTANT_PAYLOAD_RETENTION", "retention.payloads", func(c *serveConfig, v string) error { return c.Retention.Payloads.set(v) }},
	{"SEXTANT_INTEL_REFRESH", "intel.refresh", func(c *serveConfig, v string) error { return c.Intel.Refresh.set(v) }},
	{"SEXTANT_INTEL_DIR", "intel.dir", func(c *serveConfig, v string) error { c.Intel.Dir = v; return nil }},
	{"SEXTANT_CONTEXT", "context", func(c *serveConfig, v string) error { c.Context = v; return nil }},
}

// serveEnvSet returns the names of the serveEnv variables that are set.
func serveEnvSet(getenv func(string) string) []string {
	var out []string
	for _, e := range serveEnv {
		if getenv(e.name) != "" {
			out = append(out, e.name)
		}
	}
	return out
}

func setInt(p *int, v string) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return fmt.Errorf("want an integer, got %q", v)
	}
	*p = n
	return nil
}

func setBool(p *bool, v string) error {
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		return fmt.Errorf("want true or false, got %q", v)
	}
	*p = b
	return nil
}

// duration is a time.Duration written as Go writes it ("30s", "1h30m"),
// with "d" for days as well ("30d"). A bare 0 means zero.
type duration struct{ time.Duration }

// UnmarshalJSON decodes a duration string, or the number 0.
func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		if string(bytes.TrimSpace(b)) == "0" {
			d.Duration = 0
			return nil
		}
		return fmt.Errorf("invalid duration %s: want a number with a unit, like 30s, 5m, 24h or 30d", b)
	}
	return d.set(s)
}

// MarshalJSON writes the duration as format does.
func (d duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

func (d *duration) set(s string) error {
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// String writes d without zero trailing units: "720h", "5m", "1h30m".
func (d duration) String() string {
	if d.Duration == 0 {
		return "0"
	}
	s := d.Duration.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func parseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(t, "d"); ok {
		if days, err := strconv.ParseInt(n, 10, 64); err == nil && days >= 0 && days <= math.MaxInt64/int64(24*time.Hour) {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: want a number with a unit, like 30s, 5m, 24h or 30d", s)
	}
	return d, nil
}

// byteSize is a number of bytes, written as an integer or with a unit:
// B, kB/KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of
// 1024); units are case-insensitive.
type byteSize int64

var byteUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1000, "kb": 1000, "mb": 1000 * 1000, "gb": 1000 * 1000 * 1000, "tb": 1000 * 1000 * 1000 * 1000,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

// UnmarshalJSON decodes an integer or a string with a unit.
func (n *byteSize) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		s = string(bytes.TrimSpace(b))
	}
	return n.set(s)
}

// MarshalJSON writes the size as String does.
func (n byteSize) MarshalJSON() ([]byte, error) { return json.Marshal(n.String()) }

func (n *byteSize) set(s string) error {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(t)
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult, ok := byteUnits[unit]
	v, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || num == "" {
		return fmt.Errorf("invalid byte size %q: want an integer, or a number with a unit like 512KiB, 10MiB, 64MB or 1GiB", s)
	}
	v *= float64(mult)
	if v != math.Trunc(v) || v >= math.MaxInt64 {
		return fmt.Errorf("invalid byte size %q: not a whole number of bytes that fits in 63 bits", s)
	}
	*n = byteSize(v)
	return nil
}

// String writes the size in the largest binary unit that divides it.
func (n byteSize) String() string {
	for _, u := range []struct {
		name string
		size int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && int64(n)%u.size == 0 {
			return strconv.FormatInt(int64(n)/u.size, 10) + u.name
		}
	}
	return strconv.FormatInt(int64(n), 10)
}

// webhookNameRE is what a webhook source name may be: it becomes the last
// segment of /v1/webhooks/{name} and the source of its ingests.
var webhookNameRE = regexp.MustCompile(`^[a-z0-9_-]+$`)

// webhookSources maps the webhooks: section onto the HTTP layer's source
// configurations. Call SourceConfig.Load on each to resolve the secrets
// (validate does, to report them early).
func (c serveConfig) webhookSources() []sxhttp.SourceConfig {
	out := make([]sxhttp.SourceConfig, 0, len(c.Webhooks))
	for _, w := range c.Webhooks {
		out = append(out, sxhttp.SourceConfig{
			Name:            w.Name,
			Scheme:          sxhttp.Scheme(w.Scheme),
			Secret:          sxhttp.SecretRef{Env: w.Secret.Env, File: w.Secret.File},
			SecretSHA256:    w.SecretSHA256,
			Username:        w.Username,
			SignatureHeader: w.SignatureHeader,
			TimestampHeader: w.TimestampHeader,
			Encoding:        sxhttp.Encoding(w.Encoding),
			Tolerance:       w.Tolerance.Duration,
			MaxBodyBytes:    int64(w.MaxBodyBytes),
		})
	}
	return out
}

// riskWeights returns the scoring weights: the risk: section over the
// defaults, or the defaults when there is none.
func (c serveConfig) riskWeights() (risk.Weights, error) {
	if len(c.Risk) == 0 {
		return risk.DefaultWeights(), nil
	}
	return risk.ParseWeights(c.Risk)
}

// isPostgresURL reports whether a server.database value names a PostgreSQL
// database rather than a SQLite file.
func isPostgresURL(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// validate checks every value and reports every problem found, each error
// naming its field. It reads the context file and resolves the webhook
// secrets (from the process environment and the file system), so that a
// missing one is reported now rather than at the first delivery.
func (c serveConfig) validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, sextant.Errorf(sextant.EINVALID, "config: %s: %s", field, fmt.Sprintf(format, args...)))
	}

	if err := checkListenAddr(c.Server.Addr, c.Server.AllowRemote); err != nil {
		bad("server.addr", "%v", err)
	}
	if err := checkDatabase(c.Server.Database); err != nil {
		bad("server.database", "%v", err)
	}
	if c.Server.Workers < 1 {
		bad("server.workers", "must be at least 1, got %d", c.Server.Workers)
	}
	if c.Server.MaxBodyBytes < 1 {
		bad("server.max_body_bytes", "must be at least 1 byte, got %d", c.Server.MaxBodyBytes)
	}
	if c.Server.ShutdownTimeout.Duration <= 0 {
		bad("server.shutdown_timeout", "must be positive, got %s", c.Server.ShutdownTimeout)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "must be text or json, got %q", c.Log.Format)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "must be debug, info, warn or error, got %q", c.Log.Level)
	}
	if c.Queue.MaxAttempts < 1 {
		bad("queue.max_attempts", "must be at least 1, got %d", c.Queue.MaxAttempts)
	}
	if c.Queue.RetryBackoff.Duration <= 0 {
		bad("queue.retry_backoff", "must be positive, got %s", c.Queue.RetryBackoff)
	}
	if c.Queue.Lease.Duration < time.Second {
		bad("queue.lease", "must be at least 1s, got %s", c.Queue.Lease)
	}
	if c.Retention.Payloads.Duration < 0 {
		bad("retention.payloads", "must be 0 (keep forever) or positive, got %s", c.Retention.Payloads)
	}
	// The feeds change once a day; refreshing more often than hourly only
	// loads their publishers.
	if r := c.Intel.Refresh.Duration; r != 0 && r < time.Hour {
		bad("intel.refresh", "must be 0 (off) or at least 1h, got %s", c.Intel.Refresh)
	}
	if c.Context != "" {
		if _, err := triage.LoadContexts(c.Context); err != nil {
			bad("context", "%s", sextant.ErrorMessage(err))
		}
	}
	if len(c.Risk) > 0 {
		if _, err := c.riskWeights(); err != nil {
			bad("risk", "%s", sextant.ErrorMessage(err))
		}
	}
	seen := map[string]int{}
	for i, sc := range c.webhookSources() {
		field := fmt.Sprintf("webhooks[%d]", i)
		if sc.Name != "" && !webhookNameRE.MatchString(sc.Name) {
			bad(field+".name", "%q must be lower-case letters, digits, - and _", sc.Name)
			continue
		}
		if j, ok := seen[sc.Name]; ok && sc.Name != "" {
			bad(field+".name", "%q is already the name of webhooks[%d]", sc.Name, j)
			continue
		}
		seen[sc.Name] = i
		if _, err := sc.Load(); err != nil {
			bad(field, "%s", sextant.ErrorMessage(err))
		}
	}
	errs = append(errs, c.validateDestinations()...)
	errs = append(errs, c.validateRemediate()...)
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// checkListenAddr refuses a malformed address, and one that listens beyond
// loopback unless remote is allowed: an API that changes finding statuses
// should not be reachable from the network by accident.
func checkListenAddr(addr string, allowRemote bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("%q: port must be a number from 0 to 65535", addr)
	}
	if allowRemote || isLoopbackHost(host) {
		return nil
	}
	return fmt.Errorf("%s listens beyond this machine; set server.allow_remote: true (or SEXTANT_ALLOW_REMOTE=true) to allow it, and put TLS in front", addr)
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkDatabase refuses an empty database and a PostgreSQL URL that holds a
// password: the password belongs in PGPASSWORD or a PGPASSFILE, so that the
// configuration never holds a secret.
func checkDatabase(db string) error {
	if db == "" {
		return errors.New("is empty: want a SQLite file path or a postgres:// URL")
	}
	if !isPostgresURL(db) {
		return nil
	}
	u, err := url.Parse(db)
	if err != nil {
		// url.Error repeats the URL, which may hold a password.
		return errors.New("is not a valid postgres:// URL")
	}
	if _, ok := u.User.Password(); ok || u.Query().Has("password") {
		return errors.New("the URL holds a password: give it in PGPASSWORD or a password file (PGPASSFILE) instead, so the configuration holds no secret")
	}
	return nil
}

// redactDatabase returns db with any password in a PostgreSQL URL replaced,
// for printing a configuration that validate has not accepted.
func redactDatabase(db string) string {
	if !isPostgresURL(db) {
		return db
	}
	u, err := url.Parse(db)
	if err != nil {
		return "(unparsable postgres URL)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "REDACTED")
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "REDACTED")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// describe writes c as a YAML document that loadServeConfig reads back to
// c. It shows the webhook defaults that SourceConfig.Load applies; secrets
// appear only as the references they are.
func (c serveConfig) describe(w io.Writer) error {
	var b bytes.Buffer
	p := func(indent int, key string, v any) {
		fmt.Fprintf(&b, "%s%s: %s\n", strings.Repeat("  ", indent), key, yamlScalar(v))
	}
	b.WriteString("server:\n")
	p(1, "addr", c.Server.Addr)
	p(1, "database", redactDatabase(c.Server.Database))
	p(1, "workers", c.Server.Workers)
	p(1, "max_body_bytes", c.Server.MaxBodyBytes)
	p(1, "shutdown_timeout", c.Server.ShutdownTimeout)
	p(1, "allow_remote", c.Server.AllowRemote)
	b.WriteString("log:\n")
	p(1, "format", c.Log.Format)
	p(1, "level", c.Log.Level)
	b.WriteString("queue:\n")
	p(1, "max_attempts", c.Queue.MaxAttempts)
	p(1, "retry_backoff", c.Queue.RetryBackoff)
	p(1, "lease", c.Queue.Lease)
	b.WriteString("retention:\n")
	p(1, "payloads", c.Retention.Payloads)
	b.WriteString("intel:\n")
	p(1, "refresh", c.Intel.Refresh)
	p(1, "dir", c.Intel.Dir)
	p(0, "context", c.Context)
	if len(c.Webhooks) == 0 {
		b.WriteString("webhooks: []\n")
	} else {
		b.WriteString("webhooks:\n")
	}
	for _, wh := range c.Webhooks {
		fmt.Fprintf(&b, "  - name: %s\n", yamlScalar(wh.Name))
		p(2, "scheme", wh.Scheme)
		switch {
		case wh.Secret.Env != "" && wh.Secret.File != "":
			fmt.Fprintf(&b, "    secret: {env: %s, file: %s}\n", yamlScalar(wh.Secret.Env), yamlScalar(wh.Secret.File))
		case wh.Secret.Env != "":
			fmt.Fprintf(&b, "    secret: {env: %s}\n", yamlScalar(wh.Secret.Env))
		case wh.Secret.File != "":
			fmt.Fprintf(&b, "    secret: {file: %s}\n", yamlScalar(wh.Secret.File))
		}
		if wh.SecretSHA256 != "" {
			p(2, "secret_sha256", wh.SecretSHA256)
		}
		if wh.Username != "" || wh.Scheme == string(sxhttp.SchemeBasic) {
			p(2, "username", wh.Username)
		}
		if wh.Scheme == string(sxhttp.SchemeHMAC) {
			p(2, "signature_header", cmpOr(wh.SignatureHeader, sxhttp.DefaultSignatureHeader))
			p(2, "timestamp_header", cmpOr(wh.TimestampHeader, sxhttp.DefaultTimestampHeader))
			p(2, "encoding", cmpOr(wh.Encoding, string(sxhttp.EncodingHex)))
			p(2, "tolerance", cmpOr(wh.Tolerance, duration{sxhttp.DefaultTolerance}))
		}
		p(2, "max_body_bytes", cmpOr(wh.MaxBodyBytes, byteSize(sxhttp.DefaultMaxBodyBytes)))
	}
	p(0, "mode", c.Mode)
	p(0, "public_url", c.PublicURL)
	b.WriteString("approvals:\n")
	p(1, "expiry", c.Approvals.Expiry)
	if err := describeSection(&b, "slack", c.Slack); err != nil {
		return err
	}
	if err := describeSection(&b, "destinations", c.Destinations); err != nil {
		return err
	}
	if err := describeSection(&b, "remediate", c.Remediate); err != nil {
		return err
	}
	if len(c.Risk) > 0 {
		y, err := yaml.JSONToYAML(c.Risk)
		if err != nil {
			return fmt.Errorf("describe config: risk: %v", err)
		}
		b.WriteString("risk:\n")
		for line := range strings.Lines(string(y)) {
			b.WriteString("  " + line)
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// cmpOr returns v, or def when v is the zero value.
// describeSection writes a section as YAML, leaving out empty values.
// Secrets are references, so nothing secret can be written.
func describeSection(b *bytes.Buffer, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("describe config: %s: %v", key, err)
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("describe config: %s: %v", key, err)
	}
	doc = dropEmpty(doc)
	if doc == nil {
		return nil
	}
	y, err := yaml.Marshal(map[string]any{key: doc})
	if err != nil {
		return fmt.Errorf("describe config: %s: %v", key, err)
	}
	b.Write(y)
	return nil
}

// dropEmpty removes empty strings, lists and objects from a decoded JSON
// value, returning nil when nothing is left.
func dropEmpty(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e = dropEmpty(e); e == nil {
				delete(x, k)
			} else {
				x[k] = e
			}
		}
		if len(x) == 0 {
			return nil
		}
	case []any:
		out := x[:0]
		for _, e := range x {
			if e = dropEmpty(e); e != nil {
				out = append(out, e)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case string:
		if x == "" {
			return nil
		}
	case nil:
		return nil
	}
	return v
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// plainYAML matches the strings describe writes unquoted: YAML reads them
// back as the same string in block and flow context alike.
var plainYAML = regexp.MustCompile(`^[A-Za-z_/][A-Za-z0-9_./@+-]*$`)

// yamlScalar writes a scalar for describe. A string is written plain when
// that is unambiguous, else double-quoted (a JSON string is a valid YAML
// one, and quoting keeps "on", "1:20" or ".inf" a string); anything else as
// its String or number.
func yamlScalar(v any) string {
	switch v := v.(type) {
	case string:
		switch strings.ToLower(v) {
		case "y", "n", "yes", "no", "on", "off", "true", "false", "null":
		default:
			if plainYAML.MatchString(v) {
				return v
			}
		}
		b, _ := json.Marshal(v)
		return string(b)
	case fmt.Stringer:
		return v.String()
	default:
		return fmt.Sprint(v)
	}
}

func (m *Main) configCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check the configuration of sextant serve",
		Long: `The configuration of 'sextant serve' comes from a YAML file (--config, else
$SEXTANT_CONFIG), overridden by SEXTANT_* environment variables, overridden in
turn by serve's flags. docs/config.md lists every key.`,
	}
	var file string
	check := &cobra.Command{
		Use:   "check [--config FILE]",
		Short: "Load and validate the configuration, and print it as sextant serve would use it",
		Long: `check loads the configuration file and the environment as 'sextant serve'
does, validates every value (webhook secrets are resolved, the context file is
read), and prints the effective configuration as YAML. Secrets are only ever
references (an environment variable or a file) or SHA-256 hashes, and are
printed as such.

Exit codes: 0 the configuration is valid; 1 it is not (every problem is listed).`,
		Example: `  sextant config check --config sextant.yaml
  SEXTANT_WORKERS=8 sextant config check`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadServeConfig(file, m.Getenv)
			if err != nil {
				return err
			}
			if err := c.validate(); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			src := "defaults"
			if p := configPath(file, m.Getenv); p != "" {
				src += ", file " + p
			}
			if env := serveEnvSet(m.Getenv); len(env) > 0 {
				src += ", environment " + strings.Join(env, " ")
			}
			fmt.Fprintf(out, "# Effective configuration of sextant serve (from %s; serve's flags may override it).\n", src)
			if err := c.describe(out); err != nil {
				return err
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "configuration OK")
			return nil
		},
	}
	check.Flags().StringVar(&file, "config", "", "configuration file (default: $SEXTANT_CONFIG, else none)")
	cmd.AddCommand(check)
	return cmd
}
