package http

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sextant-dev/sextant"
)

const (
	hmacKey     = "whsec-test-key-do-not-leak"
	bearerToken = "tok-test-do-not-leak"
	basicUser   = "wiz"
	basicPass   = "pass-test-do-not-leak"
)

var now = time.Unix(1_750_000_000, 0)

func fixedNow() time.Time { return now }

// load resolves sc with its secret in an environment variable, as in
// production, and pins the clock.
func load(t *testing.T, sc SourceConfig) Config {
	t.Helper()
	c, err := sc.Load()
	if err != nil {
		t.Fatalf("Load(%s) = %v", sc.Name, err)
	}
	c.Now = fixedNow
	return c
}

func hmacSource(t *testing.T, mod func(*SourceConfig)) Config {
	t.Helper()
	t.Setenv("SEXTANT_TEST_HMAC", hmacKey)
	sc := SourceConfig{Name: "wiz", Scheme: SchemeHMAC, Secret: SecretRef{Env: "SEXTANT_TEST_HMAC"}}
	if mod != nil {
		mod(&sc)
	}
	return load(t, sc)
}

func bearerSource(t *testing.T) Config {
	t.Helper()
	t.Setenv("SEXTANT_TEST_BEARER", bearerToken)
	return load(t, SourceConfig{Name: "orca", Scheme: SchemeBearer, Secret: SecretRef{Env: "SEXTANT_TEST_BEARER"}})
}

func bearerHashSource(t *testing.T) Config {
	t.Helper()
	h := sha256.Sum256([]byte(bearerToken))
	return load(t, SourceConfig{Name: "orca", Scheme: SchemeBearer, SecretSHA256: hex.EncodeToString(h[:])})
}

func basicSource(t *testing.T) Config {
	t.Helper()
	t.Setenv("SEXTANT_TEST_BASIC", basicPass)
	return load(t, SourceConfig{Name: "wiz-basic", Scheme: SchemeBasic, Username: basicUser, Secret: SecretRef{Env: "SEXTANT_TEST_BASIC"}})
}

const body = `{"issue":{"id":"e3188a71","severity":"HIGH"}}`

func ts(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }

func hexSig(key, timestamp, b string) string {
	return hex.EncodeToString(Signature([]byte(key), timestamp, []byte(b)))
}

// req builds a JSON POST with the given headers (name, value pairs).
func req(b string, headers ...string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/v1/webhooks/x", strings.NewReader(b))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(b)), nil }
	r.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			r.Header.Del(headers[i])
			continue
		}
		r.Header.Set(headers[i], headers[i+1])
	}
	return r
}

func signed(b, timestamp, sig string, extra ...string) *http.Request {
	return req(b, append([]string{DefaultTimestampHeader, timestamp, DefaultSignatureHeader, sig}, extra...)...)
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// recorder is the wrapped handler: it records what got through.
type recorder struct {
	called bool
	body   []byte
	source string
}

func (h *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.called = true
	h.body, _ = io.ReadAll(r.Body)
	h.source, _ = SourceFromContext(r.Context())
	w.WriteHeader(http.StatusAccepted)
}

func TestAuthenticate(t *testing.T) {
	goodSig := hexSig(hmacKey, ts(0), body)
	// wrongKey has the length of the real key and differs only in its last byte.
	wrongKey := hmacKey[:len(hmacKey)-1] + "X"
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == '0' {
			b[i] = '1'
		} else {
			b[i] = '0'
		}
		return string(b)
	}
	big := strings.Repeat("a", 64)
	bigBody := `{"a":"` + big + `"}`

	tests := []struct {
		name       string
		src        func(*testing.T) Config
		req        *http.Request
		wantStatus int
		wantCode   string
		wantMsg    string // substring of the error message
	}{
		// HMAC happy paths.
		{"hmac hex", func(t *testing.T) Config { return hmacSource(t, nil) }, signed(body, ts(0), goodSig), 202, "", ""},
		{"hmac hex upper case with prefix", func(t *testing.T) Config { return hmacSource(t, nil) }, signed(body, ts(0), "SHA256="+strings.ToUpper(goodSig)), 202, "", ""},
		{"hmac base64 padded with prefix", func(t *testing.T) Config {
			return hmacSource(t, func(sc *SourceConfig) { sc.Encoding = EncodingBase64 })
		}, signed(body, ts(0), "sha256="+base64.StdEncoding.EncodeToString(Signature([]byte(hmacKey), ts(0), []byte(body)))), 202, "", ""},
		{"hmac base64 raw", func(t *testing.T) Config {
			return hmacSource(t, func(sc *SourceConfig) { sc.Encoding = EncodingBase64 })
		}, signed(body, ts(0), base64.RawStdEncoding.EncodeToString(Signature([]byte(hmacKey), ts(0), []byte(body)))), 202, "", ""},
		{"hmac custom headers", func(t *testing.T) Config {
			return hmacSource(t, func(sc *SourceConfig) { sc.SignatureHeader, sc.TimestampHeader = "X-Hook-Sig", "X-Hook-Time" })
		}, req(body, "X-Hook-Time", ts(0), "X-Hook-Sig", goodSig), 202, "", ""},
		{"hmac json subtype with charset", func(t *testing.T) Config { return hmacSource(t, nil) }, signed(body, ts(0), goodSig, "Content-Type", "application/vnd.wiz+json; charset=utf-8"), 202, "", ""},
		{"hmac empty body", func(t *testing.T) Config { return hmacSource(t, nil) }, signed("", ts(0), hexSig(hmacKey, ts(0), "")), 202, "", ""},

		// HMAC rejections.
		{"hmac missing signature", func(t *testing.T) Config { return hmacSource(t, nil) }, signed(body, ts(0), ""), 401, "unauthorized", "missing X-Sextant-Signature header"},
		{"hmac missing timestamp", func(t *testing.T) Config { return hmacSource(t, nil) }, signed(body, "", goodSig), 401, "unauthorized", "missing X-Sextant-Timestamp header"},
		{"hmac signature not hex", func(t *testing.T) Config { return hmacSource(t, nil) }, signed(body, ts(0), strings.Repeat("z", 64)), 401, "unauthorized", "malformed X-Sextant-Signature header: signature is not hexadecimal"},
		{"hmac signature short", func(t *testing.T) Config { return hmacSource(t, nil) }, signed(body, ts(0), goodSig[:62]), 401, "unauthorized", "want 64 hexadecimal digits, got 62"},
		{"hmac signature only prefix", func(t *testing.T) Config { return hmacSource(t, nil) }, signed(body, ts(0), "sha256="), 401, "unauthorized", "signature is empty"},
		{"hmac base64 where hex configured", func(t *testing.T) Config { return hmacSource(t, nil) }, signed(body, ts(0), base64.StdEncoding.EncodeToString(Signature([]byte(hmacKey), ts(0), []byte(body)))), 401, "unauthorized", "malformed X-Sextant-Signature"},
		{"hmac timestamp not a number", func(t *testing.T) Config { return hmacSource(t, nil) }, signed(body, "yesterday", goodSig), 401, "unauthorized", "malformed X-Sextant-Timestamp header: want Unix time in seconds"},
		{"hmac timestamp signed", func(t *testing.T) Config { return hmacSource(t, nil) }, signed(body, "+"+ts(0), hexSig(hmacKey, "+"+ts(0), body)), 401, "unauthorized", "malformed X-Sextant-Timestamp"},
		{"hmac timestamp in milliseconds", func(t *testing.T) Config { return hmacSource(t, nil) }, signed(body, ts(0)+"000", hexSig(hmacKey, ts(0)+"000", body)), 401, "unauthorized", "in the future"},
		{"hmac timestamp epoch", func(t *testing.T) Config { return hmacSource(t, nil) }, signed(body, "0", hexSig(hmacKey, "0", body)), 401, "unauthorized", "old, outside the 5m0s replay window"},
		{"hmac timestamp 18 digits", func(t *testing.T) Config { return hmacSource(t, nil) }, signed(body, strings.Repeat("9", 18), hexSig(hmacKey, strings.Repeat("9", 18), body)), 401, "unauthorized", "in the future, outside"},
		{"hmac timestamp 19 digits", func(t *testing.T) Config { return hmacSource(t, nil) }, signed(body, strings.Repeat("9", 19), goodSig), 401, "unauthorized", "malformed X-Sextant-Timestamp"},
		{"hmac stale", func(t *testing.T) Config { return hmacSource(t, nil) }, signed(body, ts(-6*time.Minute), hexSig(hmacKey, ts(-6*time.Minute), body)), 401, "unauthorized", "X-Sextant-Timestamp is 6m0s old, outside the 5m0s replay window"},
		{"hmac future", func(t *testing.T) Config { return hmacSource(t, nil) }, signed(body, ts(6*time.Minute), hexSig(hmacKey, ts(6*time.Minute), body)), 401, "unauthorized", "X-Sextant-Timestamp is 6m0s in the future, outside the 5m0s replay window"},
		{"hmac wrong key same length", func(t *testing.T) Config { return hmacSource(t, nil) }, signed(body, ts(0), hexSig(wrongKey, ts(0), body)), 401, "unauthorized", "X-Sextant-Signature does not match the request body"},
		{"hmac first byte flipped", func(t *testing.T) Config { return hmacSource(t, nil) }, signed(body, ts(0), flip(goodSig, 0)), 401, "unauthorized", "does not match"},
		{"hmac last byte flipped", func(t *testing.T) Config { return hmacSource(t, nil) }, signed(body, ts(0), flip(goodSig, 63)), 401, "unauthorized", "does not match"},
		{"hmac body tampered", func(t *testing.T) Config { return hmacSource(t, nil) }, signed(strings.Replace(body, "HIGH", "LOW!", 1), ts(0), goodSig), 401, "unauthorized", "does not match"},
		{"hmac replay with fresh timestamp", func(t *testing.T) Config { return hmacSource(t, nil) }, signed(body, ts(time.Second), goodSig), 401, "unauthorized", "does not match"},
		{"hmac signature over body only", func(t *testing.T) Config { return hmacSource(t, nil) }, signed(body, ts(0), hexSig(hmacKey, "", body)[:64]), 401, "unauthorized", "does not match"},

		// Content type, for every scheme (checked after the credentials).
		{"content type missing", func(t *testing.T) Config { return hmacSource(t, nil) }, signed(body, ts(0), goodSig, "Content-Type", ""), 415, "unsupported_media_type", "missing Content-Type header: want application/json"},
		{"content type text", func(t *testing.T) Config { return bearerSource(t) }, req(body, "Authorization", "Bearer "+bearerToken, "Content-Type", "text/plain"), 415, "unsupported_media_type", "Content-Type text/plain is not supported"},
		{"content type form", func(t *testing.T) Config { return basicSource(t) }, req(body, "Authorization", basic(basicUser, basicPass), "Content-Type", "application/x-www-form-urlencoded"), 415, "unsupported_media_type", "not supported"},
		{"content type malformed", func(t *testing.T) Config { return bearerSource(t) }, req(body, "Authorization", "Bearer "+bearerToken, "Content-Type", "application/json; charset"), 415, "unsupported_media_type", "malformed Content-Type"},

		// Bearer.
		{"bearer", bearerSource, req(body, "Authorization", "Bearer "+bearerToken), 202, "", ""},
		{"bearer lower-case scheme", bearerSource, req(body, "Authorization", "bearer "+bearerToken), 202, "", ""},
		{"bearer from stored hash", bearerHashSource, req(body, "Authorization", "Bearer "+bearerToken), 202, "", ""},
		{"bearer missing", bearerSource, req(body), 401, "unauthorized", "missing Authorization header: want a bearer token"},
		{"bearer wrong scheme", bearerSource, req(body, "Authorization", "Token "+bearerToken), 401, "unauthorized", `want "Bearer <token>"`},
		{"bearer empty token", bearerSource, req(body, "Authorization", "Bearer  "), 401, "unauthorized", `want "Bearer <token>"`},
		{"bearer wrong token same length", bearerSource, req(body, "Authorization", "Bearer "+flip(bearerToken, len(bearerToken)-1)), 401, "unauthorized", "invalid bearer token"},
		{"bearer token prefix", bearerSource, req(body, "Authorization", "Bearer "+bearerToken[:5]), 401, "unauthorized", "invalid bearer token"},
		{"bearer hash as token", bearerHashSource, req(body, "Authorization", "Bearer "+func() string { h := sha256.Sum256([]byte(bearerToken)); return hex.EncodeToString(h[:]) }()), 401, "unauthorized", "invalid bearer token"},

		// Basic.
		{"basic", basicSource, req(body, "Authorization", basic(basicUser, basicPass)), 202, "", ""},
		{"basic missing", basicSource, req(body), 401, "unauthorized", "missing Authorization header: want basic auth"},
		{"basic malformed", basicSource, req(body, "Authorization", "Basic !!!"), 401, "unauthorized", "malformed Authorization header"},
		{"basic bearer given", basicSource, req(body, "Authorization", "Bearer "+basicPass), 401, "unauthorized", "malformed Authorization header"},
		{"basic wrong password", basicSource, req(body, "Authorization", basic(basicUser, flip(basicPass, 0))), 401, "unauthorized", "invalid username or password"},
		{"basic wrong user", basicSource, req(body, "Authorization", basic("wix", basicPass)), 401, "unauthorized", "invalid username or password"},

		// Body limit (Content-Length known; the chunked case is TestBodyLimitOverTheWire).
		{"body at limit", func(t *testing.T) Config {
			return hmacSource(t, func(sc *SourceConfig) { sc.MaxBodyBytes = int64(len(bigBody)) })
		}, signed(bigBody, ts(0), hexSig(hmacKey, ts(0), bigBody)), 202, "", ""},
		{"body one byte over limit", func(t *testing.T) Config {
			return hmacSource(t, func(sc *SourceConfig) { sc.MaxBodyBytes = int64(len(bigBody)) - 1 })
		}, signed(bigBody, ts(0), hexSig(hmacKey, ts(0), bigBody)), 413, "too_large", fmt.Sprintf("request body exceeds the limit of %d bytes", len(bigBody)-1)},

		// A Config that did not come from Load refuses everything.
		{"config not loaded", func(*testing.T) Config { return Config{Name: "x", Scheme: SchemeBearer} }, req(body, "Authorization", "Bearer x"), 500, "internal", "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.src(t)
			next := &recorder{}
			rec := httptest.NewRecorder()
			Authenticate(src, next).ServeHTTP(rec, tt.req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("%s: status = %d, want %d; body %s", tt.name, rec.Code, tt.wantStatus, rec.Body)
			}
			for _, s := range []string{hmacKey, bearerToken, basicPass} {
				if strings.Contains(rec.Body.String(), s) {
					t.Errorf("answer leaks a secret: %s", rec.Body)
				}
			}
			if tt.wantStatus == http.StatusAccepted {
				want, _ := io.ReadAll(signedBody(tt.req))
				if !next.called || !bytes.Equal(next.body, want) {
					t.Errorf("next got called=%v body %q, want the checked body %q", next.called, next.body, want)
				}
				if next.source != src.Name {
					t.Errorf("SourceFromContext = %q, want %q", next.source, src.Name)
				}
				return
			}
			if next.called {
				t.Errorf("next was called for a refused request")
			}
			got := decodeError(t, rec)
			if got.Code != tt.wantCode || !strings.Contains(got.Message, tt.wantMsg) {
				t.Errorf("error = %+v, want code %q and a message containing %q", got, tt.wantCode, tt.wantMsg)
			}
			if rec.Code == http.StatusUnauthorized && rec.Header().Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
		})
	}
}

// signedBody returns the body the test sent: the request body was consumed,
// so req keeps a copy in GetBody.
func signedBody(r *http.Request) io.Reader {
	b, _ := r.GetBody()
	return b
}

func TestReplayWindowEdges(t *testing.T) {
	tests := []struct {
		name   string
		offset time.Duration // timestamp relative to the server clock
		now    time.Duration // server clock past the whole second
		tol    time.Duration
		want   int
	}{
		{"exactly tolerance old", -5 * time.Minute, 0, 0, 202},
		{"one second past tolerance old", -5*time.Minute - time.Second, 0, 0, 401},
		{"exactly tolerance ahead", 5 * time.Minute, 0, 0, 202},
		{"one second past tolerance ahead", 5*time.Minute + time.Second, 0, 0, 401},
		{"tolerance old plus a nanosecond", -5 * time.Minute, time.Nanosecond, 0, 401},
		{"tolerance ahead less a nanosecond", 5 * time.Minute, time.Nanosecond, 0, 202},
		{"custom tolerance edge", -30 * time.Second, 0, 30 * time.Second, 202},
		{"custom tolerance past", -31 * time.Second, 0, 30 * time.Second, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := hmacSource(t, func(sc *SourceConfig) { sc.Tolerance = tt.tol })
			src.Now = func() time.Time { return now.Add(tt.now) }
			stamp := ts(tt.offset)
			rec := httptest.NewRecorder()
			Authenticate(src, &recorder{}).ServeHTTP(rec, signed(body, stamp, hexSig(hmacKey, stamp, body)))
			if rec.Code != tt.want {
				t.Errorf("timestamp %s at now%+v: status = %d, want %d; %s", tt.offset, tt.now, rec.Code, tt.want, rec.Body)
			}
		})
	}
}

// TestBodyLimitOverTheWire sends chunked bodies (no Content-Length) through a
// real server, so only http.MaxBytesReader can stop them.
func TestBodyLimitOverTheWire(t *testing.T) {
	const limit = 1024
	src := hmacSource(t, func(sc *SourceConfig) { sc.MaxBodyBytes = limit })
	next := &recorder{}
	srv := httptest.NewServer(Authenticate(src, next))
	defer srv.Close()

	for _, tt := range []struct {
		size int
		want int
	}{{limit, 202}, {limit + 1, 413}} {
		b := `"` + strings.Repeat("x", tt.size-2) + `"`
		stamp := ts(0)
		// io.MultiReader hides the length, so the client sends it chunked.
		r, err := http.NewRequest(http.MethodPost, srv.URL, io.MultiReader(strings.NewReader(b)))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set(DefaultTimestampHeader, stamp)
		r.Header.Set(DefaultSignatureHeader, hexSig(hmacKey, stamp, b))
		if r.ContentLength != 0 {
			t.Fatalf("request has Content-Length %d; want it unknown (chunked)", r.ContentLength)
		}
		resp, err := srv.Client().Do(r)
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("chunked body of %d bytes (limit %d): status = %d, want %d; %s", tt.size, limit, resp.StatusCode, tt.want, answer)
		}
		if tt.want == 413 && (!strings.Contains(string(answer), `"code":"too_large"`) || resp.Header.Get("Content-Type") != "application/json") {
			t.Errorf("413 answer = %s (%s), want the JSON error", answer, resp.Header.Get("Content-Type"))
		}
	}
}

// TestConstantTimeComparisons checks, by reading webhook.go, that secrets are
// compared with hmac.Equal and subtle.ConstantTimeCompare and never with an
// early-exit comparison; TestAuthenticate checks the behaviour with
// same-length wrong values (first and last byte flipped).
func TestConstantTimeComparisons(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "webhook.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{}
	ast.Inspect(f, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok {
			if sel, ok := c.Fun.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok {
					calls[id.Name+"."+sel.Sel.Name]++
				}
			}
		}
		return true
	})
	if calls["hmac.Equal"] < 1 {
		t.Errorf("webhook.go does not compare signatures with hmac.Equal")
	}
	if calls["subtle.ConstantTimeCompare"] < 3 {
		t.Errorf("webhook.go calls subtle.ConstantTimeCompare %d times, want 3 (token, user, password)", calls["subtle.ConstantTimeCompare"])
	}
	for _, banned := range []string{"bytes.Equal", "bytes.Compare", "strings.Compare", "reflect.DeepEqual"} {
		if calls[banned] > 0 {
			t.Errorf("webhook.go calls %s: compare secrets in constant time", banned)
		}
	}
}

func TestSourceConfigLoad(t *testing.T) {
	t.Setenv("SEXTANT_TEST_KEY", "k")
	key := SecretRef{Env: "SEXTANT_TEST_KEY"}
	tests := []struct {
		name    string
		sc      SourceConfig
		wantErr string
	}{
		{"no name", SourceConfig{Scheme: SchemeHMAC, Secret: key}, "name is required"},
		{"unknown scheme", SourceConfig{Name: "a", Scheme: "hmac", Secret: key}, `unknown auth scheme "hmac"`},
		{"missing env var", SourceConfig{Name: "a", Scheme: SchemeHMAC, Secret: SecretRef{Env: "SEXTANT_TEST_NOT_SET"}}, "environment variable SEXTANT_TEST_NOT_SET is not set"},
		{"no secret", SourceConfig{Name: "a", Scheme: SchemeBearer}, "no environment variable or file"},
		{"hmac from hash", SourceConfig{Name: "a", Scheme: SchemeHMAC, SecretSHA256: strings.Repeat("0", 64)}, "cannot be given as a hash"},
		{"bad encoding", SourceConfig{Name: "a", Scheme: SchemeHMAC, Secret: key, Encoding: "base32"}, `unknown signature encoding "base32"`},
		{"same headers", SourceConfig{Name: "a", Scheme: SchemeHMAC, Secret: key, SignatureHeader: "X-A", TimestampHeader: "x-a"}, "both X-A"},
		{"negative tolerance", SourceConfig{Name: "a", Scheme: SchemeHMAC, Secret: key, Tolerance: -time.Second}, "negative"},
		{"negative limit", SourceConfig{Name: "a", Scheme: SchemeHMAC, Secret: key, MaxBodyBytes: -1}, "negative"},
		{"basic without user", SourceConfig{Name: "a", Scheme: SchemeBasic, Secret: key}, "needs a username"},
		{"basic user with colon", SourceConfig{Name: "a", Scheme: SchemeBasic, Secret: key, Username: "a:b"}, "cannot contain ':'"},
		{"hash and secret", SourceConfig{Name: "a", Scheme: SchemeBearer, Secret: key, SecretSHA256: strings.Repeat("0", 64)}, "not both"},
		{"short hash", SourceConfig{Name: "a", Scheme: SchemeBearer, SecretSHA256: "abcd"}, "64 hexadecimal digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.sc.Load()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Load(%+v) = %v, want an error containing %q", tt.sc, err, tt.wantErr)
			}
			if code := sextant.ErrorCode(err); code != sextant.EINVALID {
				t.Errorf("Load(%+v) code = %q, want %q", tt.sc, code, sextant.EINVALID)
			}
		})
	}

	c, err := SourceConfig{Name: "a", Scheme: SchemeHMAC, Secret: key}.Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.SignatureHeader != DefaultSignatureHeader || c.TimestampHeader != DefaultTimestampHeader ||
		c.Encoding != EncodingHex || c.Tolerance != DefaultTolerance || c.MaxBodyBytes != DefaultMaxBodyBytes {
		t.Errorf("Load() defaults = %+v", c)
	}
}

func TestConfigPrintsNoSecret(t *testing.T) {
	for _, c := range []Config{hmacSource(t, nil), bearerSource(t), basicSource(t)} {
		h := sha256.Sum256([]byte(bearerToken))
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			s := fmt.Sprintf(verb, c)
			if strings.Contains(s, hmacKey) || strings.Contains(s, "whsec") || strings.Contains(s, fmt.Sprint(h[:4])) {
				t.Errorf("Sprintf(%q, config) = %s: shows secret material", verb, s)
			}
		}
	}
}
