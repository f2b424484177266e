// Package falco reads Falco alerts: the JSON Falco writes with
// json_output: true (one object per line, often mixed with Falco's own
// log lines), JSON arrays of those objects, and the same objects as
// Falcosidekick forwards them (with a uuid, or wrapped in a CloudEvents
// envelope's "data").
//
// Parse streams: it never holds more than one event (or one line) in
// memory. A line or element that is not a Falco event is skipped with a
// warning that names its line, and never fails the whole input; only a
// broken JSON array (which cannot be resynchronised) or a failure to read
// stops it.
//
// Falco fills fields it could not read (when the kernel dropped syscall
// events, or for fields that do not apply) with null, "<NA>", -1 or
// 4294967295. Parse leaves those out of Event.Fields, so that a missing
// pod name is "" and never "<NA>", and a user ID is never 4294967295.
package falco

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/source/jsonsrc"
)

// Formats Info.Format names.
const (
	FormatLines = "json-lines"
	FormatArray = "json-array"
)

// Limits of the parser.
const (
	// MaxLine is the longest line (or pretty-printed object) kept; longer
	// ones are skipped with a warning.
	MaxLine = 16 << 20
	// MaxWarnings is how many warnings Info keeps; the rest are counted
	// in a last one.
	MaxWarnings = 20
	// maxPrefix is how much text (a timestamp from kubectl logs
	// --timestamps, a container runtime's prefix) may precede an event on
	// its line.
	maxPrefix = 64
)

// Info is what Parse saw in one input.
type Info struct {
	Name string `json:"name"`
	// Format is FormatLines or FormatArray.
	Format string `json:"format"`
	// Lines counts the lines read (JSON lines only).
	Lines int `json:"lines,omitempty"`
	// Events counts the events emitted.
	Events int `json:"events"`
	// Skipped counts the lines (or array elements) that were not events:
	// Falco's own log lines, invalid JSON, objects without a rule.
	Skipped int `json:"skipped"`
	// Warnings say what was skipped or odd, with line numbers; at most
	// MaxWarnings, the last of which then counts the rest.
	Warnings []string `json:"warnings,omitempty"`

	moreWarnings int
}

func (i *Info) warnf(format string, a ...any) {
	if len(i.Warnings) < MaxWarnings-1 {
		i.Warnings = append(i.Warnings, fmt.Sprintf(format, a...))
		return
	}
	i.moreWarnings++
}

func (i *Info) finish() {
	switch {
	case i.moreWarnings == 1 && len(i.Warnings) == MaxWarnings-1:
		// Not worth a summary line: the one warning would fit.
		i.Warnings = append(i.Warnings, "1 more warning not shown")
	case i.moreWarnings > 0:
		i.Warnings = append(i.Warnings, fmt.Sprintf("%d more warnings not shown", i.moreWarnings))
	}
}

// op prefixes Parse's errors.
const op = "parse falco events"

// Parse reads the Falco events in r and calls emit with each, in input
// order. name names the input in warnings and errors. It returns what it
// saw; an error from emit stops it and is returned as is.
func Parse(r io.Reader, name string, emit func(Event) error) (Info, error) {
	info := Info{Name: name, Format: FormatLines}
	br := bufio.NewReaderSize(r, 64<<10)
	array, err := sniffArray(br)
	if err != nil {
		return info, readError(name, err)
	}
	p := &parser{br: br, info: &info, emit: emit, name: name}
	if array {
		info.Format = FormatArray
		err = p.array()
	} else {
		err = p.lines()
	}
	info.finish()
	return info, err
}

func readError(name string, err error) error {
	var se *sextant.Error
	if errors.As(err, &se) {
		return err
	}
	return sextant.Errorf(sextant.EUNAVAILABLE, "%s: read %s: %v", op, name, err)
}

// sniffArray skips a byte-order mark and reports whether the input is a
// JSON array of objects: "[" then "{" or "]" after white space. A log
// line that starts with "[INFO]" is not.
func sniffArray(br *bufio.Reader) (bool, error) {
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	b, err := br.Peek(4096)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return false, err
	}
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 || b[0] != '[' {
		return false, nil
	}
	b = bytes.TrimLeft(b[1:], " \t\r\n")
	return len(b) > 0 && (b[0] == '{' || b[0] == ']'), nil
}

type parser struct {
	br   *bufio.Reader
	info *Info
	emit func(Event) error
	name string
	buf  []byte
}

// array reads a JSON array of events element by element.
func (p *parser) array() error {
	dec := jsontext.NewDecoder(p.br, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	if _, err := dec.ReadToken(); err != nil {
		return jsonsrc.Error(op, err, jsonsrc.Pos{Dec: dec})
	}
	for n := 1; dec.PeekKind() != ']'; n++ {
		v, err := dec.ReadValue()
		if err != nil {
			return jsonsrc.Error(op+" "+p.name, err, jsonsrc.Pos{Dec: dec})
		}
		if v.Kind() != '{' {
			p.info.Skipped++
			p.info.warnf("element %d: not a JSON object (%s)", n, kindName(v.Kind()))
			continue
		}
		if err := p.object(v, n, "element"); err != nil {
			return err
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return jsonsrc.Error(op+" "+p.name, err, jsonsrc.Pos{Dec: dec})
	}
	// What follows the array is not read: the array is the document.
	return nil
}

func kindName(k jsontext.Kind) string {
	switch k {
	case '"':
		return "a string"
	case '0':
		return "a number"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "not an object"
}

// object decodes one JSON object and emits it when it is an event. where
// and n name it in warnings ("line 12", "element 3").
func (p *parser) object(b []byte, n int, where string) error {
	ev, warns, err := decodeEvent(b)
	if err != nil {
		p.info.Skipped++
		p.info.warnf("%s %d: %v", where, n, err)
		return nil
	}
	for _, w := range warns {
		p.info.warnf("%s %d: %s", where, n, w)
	}
	ev.Line = n
	p.info.Events++
	return p.emit(ev)
}

// lines reads JSON lines. Lines that are not JSON (Falco's own log, a
// summary) are skipped and counted; runs of them make one warning. A
// pretty-printed object spanning lines is read whole.
func (p *parser) lines() error {
	var (
		obj      []byte // an object being read across lines
		objStart int
		scan     depthScanner
		runStart int // first and last line of a run of text lines
		runEnd   int
		runN     int
	)
	flushRun := func() {
		if runN == 0 {
			return
		}
		if runN == 1 {
			p.info.warnf("line %d: not JSON, skipped", runStart)
		} else {
			p.info.warnf("lines %d-%d: %d lines that are not JSON skipped", runStart, runEnd, runN)
		}
		runN = 0
	}
	dropObj := func(why string) {
		p.info.Skipped++
		p.info.warnf("line %d: %s", objStart, why)
		obj, scan = obj[:0], depthScanner{}
	}
	for {
		line, tooLong, err := p.readLine()
		if err == io.EOF {
			break
		}
		if err != nil {
			return readError(p.name, err)
		}
		p.info.Lines++
		n := p.info.Lines
		trimmed := bytes.TrimSpace(line)
		if len(obj) > 0 {
			// A new top-level object starts at column 0: the one being
			// read was cut short.
			if len(line) > 0 && line[0] == '{' {
				dropObj("incomplete JSON object, skipped")
			} else if tooLong || len(obj)+len(line) > MaxLine {
				dropObj(fmt.Sprintf("JSON object longer than %d bytes, skipped", MaxLine))
				continue
			} else {
				obj = append(obj, '\n')
				obj = append(obj, line...)
				if scan.feed(line) {
					err := p.object(obj, objStart, "line")
					obj, scan = obj[:0], depthScanner{}
					if err != nil {
						return err
					}
				} else if scan.bad {
					dropObj("invalid JSON, skipped")
				}
				continue
			}
		}
		switch {
		case tooLong:
			flushRun()
			p.info.Skipped++
			p.info.warnf("line %d: longer than %d bytes, skipped", n, MaxLine)
		case len(trimmed) == 0:
			// Blank lines are nothing to warn about.
		case trimmed[0] == '{':
			flushRun()
			scan = depthScanner{}
			if scan.feed(trimmed) {
				if err := p.object(trimmed, n, "line"); err != nil {
					return err
				}
				scan = depthScanner{}
			} else if scan.bad {
				p.info.Skipped++
				p.info.warnf("line %d: invalid JSON, skipped", n)
				scan = depthScanner{}
			} else {
				obj = append(obj[:0], trimmed...)
				objStart = n
			}
		default:
			if ev, ok := prefixed(trimmed); ok {
				flushRun()
				ev.Line = n
				p.info.Events++
				if err := p.emit(ev); err != nil {
					return err
				}
				continue
			}
			if runN == 0 {
				runStart = n
			}
			runEnd = n
			runN++
			p.info.Skipped++
		}
	}
	if len(obj) > 0 {
		dropObj("incomplete JSON object at the end of the input (truncated?), skipped")
	}
	flushRun()
	return nil
}

// prefixed reads an event that follows a short prefix on its line, as
// kubectl logs --timestamps writes them: `2024-05-01T10:00:00Z {"rule":…}`.
func prefixed(line []byte) (Event, bool) {
	i := bytes.Index(line, []byte(`{"`))
	if i <= 0 || i > maxPrefix {
		return Event{}, false
	}
	var s depthScanner
	if !s.feed(line[i:]) {
		return Event{}, false
	}
	ev, _, err := decodeEvent(line[i:])
	return ev, err == nil
}

// readLine returns the next line without its line ending. A line longer
// than MaxLine is consumed and reported as tooLong, without its bytes.
func (p *parser) readLine() (line []byte, tooLong bool, err error) {
	p.buf = p.buf[:0]
	read := false
	for {
		chunk, err := p.br.ReadSlice('\n')
		read = read || len(chunk) > 0
		if !tooLong {
			if len(p.buf)+len(chunk) > MaxLine+2 {
				tooLong, p.buf = true, p.buf[:0]
			} else {
				p.buf = append(p.buf, chunk...)
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF:
			if !read {
				return nil, false, io.EOF
			}
		case err != nil:
			return nil, false, err
		}
		b := bytes.TrimSuffix(p.buf, []byte("\n"))
		b = bytes.TrimSuffix(b, []byte("\r"))
		return b, tooLong, nil
	}
}

// depthScanner follows the nesting of a JSON object over the lines it is
// fed, strings and escapes included, to tell when the object is complete.
type depthScanner struct {
	depth    int
	inString bool
	escape   bool
	started  bool
	// bad is set when text follows the end of the object or the nesting
	// goes below zero.
	bad bool
}

// feed scans b and reports whether the object closed at its end.
func (s *depthScanner) feed(b []byte) bool {
	for _, c := range b {
		if s.started && s.depth == 0 {
			// Only white space may follow the object.
			if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
				s.bad = true
				return false
			}
			continue
		}
		switch {
		case s.escape:
			s.escape = false
		case s.inString:
			switch c {
			case '\\':
				s.escape = true
			case '"':
				s.inString = false
			}
		case c == '"':
			s.inString = true
		case c == '{' || c == '[':
			s.depth++
			s.started = true
		case c == '}' || c == ']':
			s.depth--
			if s.depth < 0 {
				s.bad = true
				return false
			}
		}
	}
	return s.started && s.depth == 0
}

// wire is a Falco event as JSON. Every field is decoded leniently: a field
// of the wrong type is treated as missing, not as an error.
type wire struct {
	UUID              json.RawMessage `json:"uuid"`
	Output            json.RawMessage `json:"output"`
	Priority          json.RawMessage `json:"priority"`
	Rule              json.RawMessage `json:"rule"`
	Time              json.RawMessage `json:"time"`
	OutputFields      json.RawMessage `json:"output_fields"`
	OutputFieldsCamel json.RawMessage `json:"outputFields"`
	Source            json.RawMessage `json:"source"`
	Tags              json.RawMessage `json:"tags"`
	Hostname          json.RawMessage `json:"hostname"`
	// Data holds the event in a CloudEvents envelope (Falcosidekick's
	// cloudevents output, structured mode).
	Data        json.RawMessage `json:"data"`
	SpecVersion json.RawMessage `json:"specversion"`
}

// errNotEvent says that an object is not a Falco event.
var errNotEvent = errors.New("not a Falco event (no rule), skipped")

// decodeEvent decodes one JSON object. It returns warnings about odd
// fields of an event it keeps, and an error for an object it does not.
func decodeEvent(b []byte) (Event, []string, error) {
	var w wire
	if err := json.Unmarshal(b, &w); err != nil {
		return Event{}, nil, fmt.Errorf("invalid JSON (%s), skipped", jsonErr(err))
	}
	if len(w.Rule) == 0 && len(w.SpecVersion) > 0 && len(w.Data) > 0 && w.Data[0] == '{' {
		var inner wire
		if json.Unmarshal(w.Data, &inner) == nil {
			w = inner
		}
	}
	var ev Event
	var warns []string
	ev.Rule = strings.TrimSpace(str(w.Rule))
	if ev.Rule == "" {
		return Event{}, nil, errNotEvent
	}
	ev.UUID = str(w.UUID)
	ev.Output = str(w.Output)
	ev.Source = str(w.Source)
	ev.Hostname = str(w.Hostname)
	if p := str(w.Priority); p != "" {
		var ok bool
		if ev.Priority, ok = ParsePriority(p); !ok {
			warns = append(warns, fmt.Sprintf("unknown priority %q, kept as Unknown", clip(p, 40)))
		}
	}
	var tags []any
	if json.Unmarshal(w.Tags, &tags) == nil {
		for _, t := range tags {
			if s, ok := t.(string); ok && strings.TrimSpace(s) != "" {
				ev.Tags = append(ev.Tags, strings.TrimSpace(s))
			}
		}
	}
	fields := w.OutputFields
	if len(fields) == 0 || string(fields) == "null" {
		fields = w.OutputFieldsCamel
	}
	ev.Fields = sanitise(fields)
	t, ok := parseTime(w.Time)
	if !ok {
		t, ok = fieldTime(ev.Fields)
	}
	if ok {
		ev.Time = t
	} else {
		warns = append(warns, "no readable time, kept without one")
	}
	return ev, warns, nil
}

func jsonErr(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v at byte %d", se, se.Offset)
	}
	return err.Error()
}

// str returns a JSON string's value, "" for anything else.
func str(raw json.RawMessage) string {
	if len(raw) == 0 || raw[0] != '"' {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// Dropped-syscall placeholders: Falco writes them when it could not read
// a value.
var droppedNumbers = map[string]bool{"-1": true, "4294967295": true, "18446744073709551615": true}

// sanitise turns output_fields into strings, leaving out the values Falco
// could not fill in.
func sanitise(raw json.RawMessage) map[string]string {
	if len(raw) == 0 || raw[0] != '{' {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		var s string
		switch x := v.(type) {
		case nil:
			continue
		case string:
			// Forwarders sometimes write numbers as strings.
			if x == "<NA>" || strings.TrimSpace(x) == "" || droppedNumbers[x] {
				continue
			}
			s = x
		case json.Number:
			if droppedNumbers[x.String()] {
				continue
			}
			s = x.String()
		case bool:
			s = strconv.FormatBool(x)
		default:
			b, err := json.Marshal(x)
			if err != nil || string(b) == "[]" || string(b) == "{}" {
				continue
			}
			s = string(b)
		}
		// A key that differs only by white space keeps its first value.
		if _, dup := out[k]; !dup {
			out[k] = s
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// timeLayouts are the layouts of "time": RFC 3339 with nanoseconds as
// Falco writes it, and the +0000 offset of its output lines.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999-0700", "2006-01-02 15:04:05.999999999Z07:00"}

func parseTime(raw json.RawMessage) (time.Time, bool) {
	if len(raw) == 0 {
		return time.Time{}, false
	}
	if raw[0] == '"' {
		return parseTimeString(str(raw))
	}
	return epoch(string(raw))
}

func parseTimeString(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return epoch(s)
}

// epoch reads a Unix time in seconds, milliseconds, microseconds or
// nanoseconds, told apart by size (evt.time is nanoseconds).
func epoch(s string) (time.Time, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, false
	}
	switch {
	case n >= 1e17:
		return time.Unix(0, n).UTC(), true
	case n >= 1e14:
		return time.UnixMicro(n).UTC(), true
	case n >= 1e11:
		return time.UnixMilli(n).UTC(), true
	}
	return time.Unix(n, 0).UTC(), true
}

// fieldTime reads the time from evt.time or evt.time.iso8601 when "time"
// is missing.
func fieldTime(f map[string]string) (time.Time, bool) {
	for _, k := range []string{"evt.time", "evt.time.iso8601", "evt.rawtime"} {
		if v := f[k]; v != "" {
			if t, ok := parseTimeString(v); ok {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
