package audit_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
)

// The canonical encoder and ComputeHash live in the root package (audit.go);
// their tests are here because this package is where the audit trail is
// built and the root keeps its own tests for its other nouns.

func TestCanonicalJSON(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"whitespace", " { \"a\" :\t[ 1 , 2 ]\n,\"b\":null } ", `{"a":[1,2],"b":null}`},
		{"key order", `{"b":1,"a":2,"c":{"z":true,"y":false}}`, `{"a":2,"b":1,"c":{"y":false,"z":true}}`},
		{"keys by UTF-8 bytes", `{"é":1,"z":2,"Z":3,"😀":4,"ｚ":5}`, `{"Z":3,"z":2,"é":1,"ｚ":5,"😀":4}`},
		{"empty containers", `{"a":{},"b":[]}`, `{"a":{},"b":[]}`},
		{"escapes decoded", `"\u00e9\/\u0041\ud83d\ude00"`, `"é/A😀"`},
		{"control escapes", `"\b\f\n\r\t\u0000\u001f\u007f"`, "\"\\b\\f\\n\\r\\t\\u0000\\u001f\x7f\""},
		{"quote and backslash", `"\"\\"`, `"\"\\"`},
		{"html not escaped", `"\u003cb\u003e \u0026"`, `"<b> &"`},
		{"line separators kept", `"\u2028\u2029"`, "\"\u2028\u2029\""},
		{"no unicode normalisation", `["é","e\u0301"]`, "[\"é\",\"e\u0301\"]"},
		{"integer", `42`, `42`},
		{"negative zero", `-0.0`, `0`},
		{"zero with exponent", `0e10`, `0`},
		{"trailing zeros", `1.500`, `1.5`},
		{"one point zero", `1.0`, `1`},
		{"exponent to integer", `1E2`, `100`},
		{"negative exponent", `10e-1`, `1`},
		{"small fraction", `0.000001`, `0.000001`},
		{"below 1e-6 uses exponent", `0.0000001`, `1e-7`},
		{"1e21 uses exponent", `1000000000000000000000`, `1e+21`},
		{"below 1e21 stays integer", `1e20`, `100000000000000000000`},
		{"big integer exact", `12345678901234567890`, `12345678901234567890`},
		{"long integer beyond 21 digits", `1234567890123456789012345`, `1.234567890123456789012345e+24`},
		{"long fraction exact", `0.1000000000000000000001`, `0.1000000000000000000001`},
		{"negative", `-12.50e1`, `-125`},
		{"float64 agrees with JCS", `[1e23,5e-324,0.1,123.456]`, `[1e+23,5e-324,0.1,123.456]`},
		{"literals", `[true,false,null]`, `[true,false,null]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sextant.CanonicalJSON([]byte(tt.in))
			if err != nil {
				t.Fatalf("CanonicalJSON(%q) error: %v", tt.in, err)
			}
			if string(got) != tt.want {
				t.Errorf("CanonicalJSON(%q) = %s, want %s", tt.in, got, tt.want)
			}
			again, err := sextant.CanonicalJSON(got)
			if err != nil || string(again) != string(got) {
				t.Errorf("CanonicalJSON(%s) = %s, %v; want it unchanged", got, again, err)
			}
		})
	}
}

func TestCanonicalJSONErrors(t *testing.T) {
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"spaces only", "  "},
		{"duplicate key", `{"a":1,"a":1}`},
		{"duplicate key after unescaping", `{"a":1,"\u0061":2}`},
		{"nested duplicate", `[{"x":{"k":1,"k":2}}]`},
		{"lone high surrogate", `"\ud83d"`},
		{"lone low surrogate", `"\ude00"`},
		{"high then non-low", `"\ud83d\u0041"`},
		{"invalid UTF-8", "\"\xff\""},
		{"UTF-8 encoded surrogate", "\"\xed\xa0\x80\""},
		{"raw control character", "\"a\nb\""},
		{"trailing data", `{} {}`},
		{"trailing comma", `[1,]`},
		{"leading zero", `01`},
		{"bare point", `1.`},
		{"bare exponent", `1e`},
		{"plus sign", `+1`},
		{"huge exponent", `1e1000000001`},
		{"NaN", `NaN`},
		{"single quotes", `'a'`},
		{"unterminated", `{"a":"b`},
		{"bad escape", `"\x"`},
		{"too deep", strings.Repeat("[", 1001) + strings.Repeat("]", 1001)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sextant.CanonicalJSON([]byte(tt.in))
			if err == nil {
				t.Fatalf("CanonicalJSON(%q) = %s, want an error", tt.in, got)
			}
			if code := sextant.ErrorCode(err); code != sextant.EINVALID {
				t.Errorf("CanonicalJSON(%q) error code = %q, want %q", tt.in, code, sextant.EINVALID)
			}
		})
	}
	deep := strings.Repeat("[", 1000) + strings.Repeat("]", 1000)
	if _, err := sextant.CanonicalJSON([]byte(deep)); err != nil {
		t.Errorf("CanonicalJSON(1000 nested arrays) error: %v, want none", err)
	}
}

// baseEntry is a fixed entry for hash tests.
func baseEntry() sextant.AuditEntry {
	e := sextant.AuditEntry{
		Seq:      7,
		Time:     time.Date(2025, 8, 25, 9, 30, 0, 123456000, time.UTC),
		Actor:    "alice",
		Action:   "finding.status",
		Subject:  "f-1",
		Details:  json.RawMessage(`{"from":"open","to":"resolved","reason":"fixed in 1.2.3"}`),
		PrevHash: sextant.AuditGenesisHash,
	}
	return e
}

// TestAuditEntryCanonical pins the documented encoding byte for byte and the
// hash it gives; a change to either breaks every stored chain.
func TestAuditEntryCanonical(t *testing.T) {
	e := baseEntry()
	got, err := e.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	want := `["sextant.audit.v1",7,"2025-08-25T09:30:00.123456000Z","alice","finding.status","f-1",` +
		`{"from":"open","reason":"fixed in 1.2.3","to":"resolved"},"` + sextant.AuditGenesisHash + `"]`
	if string(got) != want {
		t.Errorf("Canonical() = %s\nwant %s", got, want)
	}
	if h, want := e.ComputeHash(), "1c84b25344c94b82b029945a2ca55571f866d9f97930bfd7eee5b4209769d020"; h != want {
		t.Errorf("ComputeHash() = %s, want %s", h, want)
	}
}

// TestComputeHashStable: encodings of the same entry that a store, an export
// or a re-encoder may produce all give the same hash.
func TestComputeHashStable(t *testing.T) {
	base := baseEntry()
	want := base.ComputeHash()
	roundTrip := func(e *sextant.AuditEntry) {
		var m any
		if err := json.Unmarshal(e.Details, &m); err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(m) // sorted keys, but HTML-escaped
		if err != nil {
			t.Fatal(err)
		}
		e.Details = b
	}
	tests := []struct {
		name   string
		change func(*sextant.AuditEntry)
	}{
		{"unchanged", func(*sextant.AuditEntry) {}},
		{"key order and whitespace", func(e *sextant.AuditEntry) {
			e.Details = json.RawMessage("{ \"to\" : \"resolved\",\n\t\"reason\":\"fixed in 1.2.3\", \"from\":\"open\" }")
		}},
		{"escaped characters", func(e *sextant.AuditEntry) {
			e.Details = json.RawMessage(`{"\u0066rom":"open","to":"resolved","reason":"fixed in 1.2.3"}`)
		}},
		{"encoding/json round trip", roundTrip},
		{"canonical form stored", func(e *sextant.AuditEntry) {
			c, err := sextant.CanonicalJSON(e.Details)
			if err != nil {
				t.Fatal(err)
			}
			e.Details = c
		}},
		{"time in another zone", func(e *sextant.AuditEntry) {
			e.Time = e.Time.In(time.FixedZone("CEST", 2*3600))
		}},
		{"stored hash ignored", func(e *sextant.AuditEntry) { e.Hash = "anything" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := baseEntry()
			tt.change(&e)
			if got := e.ComputeHash(); got != want {
				t.Errorf("ComputeHash() = %s, want %s", got, want)
			}
		})
	}

	// A time read from the clock carries a monotonic reading and a
	// location; neither may reach the hash.
	now := baseEntry()
	now.Time = time.Now()
	stripped := now
	stripped.Time = now.Time.Round(0).UTC()
	if a, b := now.ComputeHash(), stripped.ComputeHash(); a != b {
		t.Errorf("ComputeHash() with monotonic local time = %s, with the same instant in UTC = %s", a, b)
	}

	// Unicode that encoding/json escapes differently must survive a round
	// trip too.
	u := baseEntry()
	u.Actor = "Zoë 😀 <admin>"
	u.Details = json.RawMessage(`{"note":"naïve – \u2028 <b>&amp;</b> 😀","n":[1.0,1e2,-0]}`)
	wantU := u.ComputeHash()
	roundTrip(&u)
	if got := u.ComputeHash(); got != wantU {
		t.Errorf("ComputeHash() after encoding/json round trip of unicode details = %s, want %s", got, wantU)
	}
}

// TestComputeHashCoversEveryField: changing any field, including details
// that look alike, changes the hash.
func TestComputeHashCoversEveryField(t *testing.T) {
	base := baseEntry()
	orig := base.ComputeHash()
	tests := []struct {
		name   string
		change func(*sextant.AuditEntry)
	}{
		{"seq", func(e *sextant.AuditEntry) { e.Seq++ }},
		{"time by a nanosecond", func(e *sextant.AuditEntry) { e.Time = e.Time.Add(time.Nanosecond) }},
		{"actor", func(e *sextant.AuditEntry) { e.Actor = "mallory" }},
		{"actor case", func(e *sextant.AuditEntry) { e.Actor = "Alice" }},
		{"action", func(e *sextant.AuditEntry) { e.Action = "finding.delete" }},
		{"subject", func(e *sextant.AuditEntry) { e.Subject = "f-2" }},
		{"subject emptied", func(e *sextant.AuditEntry) { e.Subject = "" }},
		{"details value", func(e *sextant.AuditEntry) {
			e.Details = json.RawMessage(`{"from":"open","to":"accepted_risk","reason":"fixed in 1.2.3"}`)
		}},
		{"details removed", func(e *sextant.AuditEntry) { e.Details = nil }},
		{"details number type", func(e *sextant.AuditEntry) { e.Details = json.RawMessage(`{"n":"1"}`) }},
		{"details unicode normalisation", func(e *sextant.AuditEntry) {
			e.Details = json.RawMessage(`{"from":"open","to":"resolved","reason":"fixed in 1.2.3\u0301"}`)
		}},
		{"prev hash", func(e *sextant.AuditEntry) { e.PrevHash = strings.Repeat("1", 64) }},
		// Field boundaries: moving text between adjacent fields must not
		// produce the same encoding.
		{"actor/action boundary", func(e *sextant.AuditEntry) { e.Actor, e.Action = "alice\",\"finding", ".status" }},
		{"invalid UTF-8 byte", func(e *sextant.AuditEntry) { e.Actor = "alice\xff" }},
	}
	seen := map[string]string{orig: "original"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := baseEntry()
			tt.change(&e)
			got := e.ComputeHash()
			if other, ok := seen[got]; ok {
				t.Errorf("ComputeHash() = %s, the same as for %s", got, other)
			}
			seen[got] = tt.name
		})
	}

	// Invalid UTF-8 bytes that encoding/json would map to the same U+FFFD
	// stay apart.
	a, b := baseEntry(), baseEntry()
	a.Actor, b.Actor = "x\xff", "x\xfe"
	if a.ComputeHash() == b.ComputeHash() {
		t.Errorf("ComputeHash() equal for actors %q and %q", a.Actor, b.Actor)
	}
}

func TestComputeHashInvalidDetails(t *testing.T) {
	e := baseEntry()
	e.Details = json.RawMessage(`{"a":`)
	if got := e.ComputeHash(); got != "" {
		t.Errorf("ComputeHash() with invalid details = %q, want \"\"", got)
	}
	if _, err := e.Canonical(); sextant.ErrorCode(err) != sextant.EINVALID {
		t.Errorf("Canonical() with invalid details error = %v, want EINVALID", err)
	}
}

func TestCanonicalJSONKeepsValue(t *testing.T) {
	// The canonical form decodes to the same value as the input.
	in := `{"list":[1,2.5,"x",{"b":null,"a":[true]}],"s":"\u00e9\n","big":9007199254740993}`
	out, err := sextant.CanonicalJSON([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	da := json.NewDecoder(strings.NewReader(in))
	da.UseNumber()
	db := json.NewDecoder(strings.NewReader(string(out)))
	db.UseNumber()
	if err := da.Decode(&a); err != nil {
		t.Fatal(err)
	}
	if err := db.Decode(&b); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("CanonicalJSON(%s) = %s, changed the value (-in +out):\n%s", in, out, diff)
	}
}
