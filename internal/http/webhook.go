package http

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sextant-dev/sextant"
)

// Scheme names how a webhook source authenticates its deliveries.
type Scheme string

// The authentication schemes a webhook source can use.
const (
	// SchemeHMAC: an HMAC-SHA256 of timestamp + "." + body, keyed with a
	// shared secret, in a signature header, with the Unix timestamp in a
	// timestamp header. Deliveries outside the replay window are refused.
	SchemeHMAC Scheme = "hmac-sha256"
	// SchemeBearer: "Authorization: Bearer <token>".
	SchemeBearer Scheme = "bearer"
	// SchemeBasic: "Authorization: Basic base64(user:password)".
	SchemeBasic Scheme = "basic"
)

// Encoding names how an HMAC signature is written in its header.
type Encoding string

// The signature encodings. Either may carry a "sha256=" prefix.
const (
	EncodingHex    Encoding = "hex"    // 64 hexadecimal digits, any case
	EncodingBase64 Encoding = "base64" // standard alphabet, padded or not
)

// Defaults applied by SourceConfig.Load to fields left zero.
const (
	DefaultSignatureHeader       = "X-Sextant-Signature"
	DefaultTimestampHeader       = "X-Sextant-Timestamp"
	DefaultTolerance             = 5 * time.Minute
	DefaultMaxBodyBytes    int64 = 10 << 20
)

// SourceConfig is how one webhook source is configured, before its secret is
// resolved. cmd/sextant maps its config file onto it; Load turns it into a
// Config.
type SourceConfig struct {
	// Name identifies the source (the {source} of /v1/webhooks/{source}).
	Name   string
	Scheme Scheme
	// Secret is the HMAC key, the bearer token or the basic-auth password.
	Secret SecretRef
	// SecretSHA256 is, for bearer and basic only, the hex SHA-256 of the
	// token or password, given instead of Secret so that the clear secret
	// never needs to reach the server.
	SecretSHA256 string
	// Username is the basic-auth user name (basic only).
	Username string
	// SignatureHeader and TimestampHeader name the HMAC headers.
	SignatureHeader string
	TimestampHeader string
	// Encoding is the HMAC signature's encoding, hex by default.
	Encoding Encoding
	// Tolerance is the replay window, in both directions: a delivery whose
	// timestamp is further than this from the server's clock is refused.
	Tolerance time.Duration
	// MaxBodyBytes is the largest body accepted, for every scheme.
	MaxBodyBytes int64
}

// Config is a loaded webhook source: secrets resolved, the bearer token and
// basic password kept only as SHA-256 hashes. Make one with
// SourceConfig.Load; a Config built any other way refuses every delivery.
// Its String and GoString methods never print the secret material.
type Config struct {
	Name            string
	Scheme          Scheme
	SignatureHeader string
	TimestampHeader string
	Encoding        Encoding
	Tolerance       time.Duration
	MaxBodyBytes    int64
	// Now is the clock for the replay window; nil means time.Now.
	Now func() time.Time

	key        []byte   // HMAC key (an HMAC needs the key itself)
	secretHash [32]byte // SHA-256 of the bearer token or basic password
	userHash   [32]byte // SHA-256 of the basic-auth user name
	loaded     bool
}

// String describes c without its secrets.
func (c Config) String() string {
	return fmt.Sprintf("webhook source %q (%s)", c.Name, c.Scheme)
}

// GoString describes c without its secrets, for %#v.
func (c Config) GoString() string { return "http.Config{" + c.String() + "}" }

// Load validates sc, applies the defaults and resolves the secret. Errors are
// EINVALID and name the source and the field at fault.
func (sc SourceConfig) Load() (Config, error) {
	fail := func(format string, args ...any) (Config, error) {
		return Config{}, sextant.Errorf(sextant.EINVALID, "webhook source %q: %s", sc.Name, fmt.Sprintf(format, args...))
	}
	if sc.Name == "" {
		return Config{}, sextant.Errorf(sextant.EINVALID, "webhook source: name is required")
	}
	c := Config{
		Name:            sc.Name,
		Scheme:          sc.Scheme,
		SignatureHeader: orDefault(sc.SignatureHeader, DefaultSignatureHeader),
		TimestampHeader: orDefault(sc.TimestampHeader, DefaultTimestampHeader),
		Encoding:        orDefault(sc.Encoding, EncodingHex),
		Tolerance:       orDefault(sc.Tolerance, DefaultTolerance),
		MaxBodyBytes:    orDefault(sc.MaxBodyBytes, DefaultMaxBodyBytes),
	}
	if sc.Tolerance < 0 {
		return fail("replay tolerance %s is negative", sc.Tolerance)
	}
	if sc.MaxBodyBytes < 0 {
		return fail("body limit %d is negative", sc.MaxBodyBytes)
	}
	switch sc.Scheme {
	case SchemeHMAC:
		if sc.SecretSHA256 != "" {
			return fail("an HMAC key cannot be given as a hash: use a secret reference")
		}
		if c.Encoding != EncodingHex && c.Encoding != EncodingBase64 {
			return fail("unknown signature encoding %q: want hex or base64", c.Encoding)
		}
		if strings.EqualFold(c.SignatureHeader, c.TimestampHeader) {
			return fail("signature and timestamp headers are both %s", c.SignatureHeader)
		}
		key, err := sc.Secret.Resolve()
		if err != nil {
			return fail("%v", err)
		}
		c.key = key
	case SchemeBearer, SchemeBasic:
		if sc.Scheme == SchemeBasic {
			if sc.Username == "" {
				return fail("basic auth needs a username")
			}
			if strings.Contains(sc.Username, ":") {
				return fail("basic-auth username cannot contain ':'")
			}
			c.userHash = sha256.Sum256([]byte(sc.Username))
		}
		switch {
		case sc.SecretSHA256 != "" && !sc.Secret.IsZero():
			return fail("give the secret or its SHA-256, not both")
		case sc.SecretSHA256 != "":
			h, err := hex.DecodeString(sc.SecretSHA256)
			if err != nil || len(h) != sha256.Size {
				return fail("secret SHA-256 must be 64 hexadecimal digits")
			}
			copy(c.secretHash[:], h)
		default:
			s, err := sc.Secret.Resolve()
			if err != nil {
				return fail("%v", err)
			}
			c.secretHash = sha256.Sum256(s)
		}
	default:
		return fail("unknown auth scheme %q: want %s, %s or %s", sc.Scheme, SchemeHMAC, SchemeBearer, SchemeBasic)
	}
	c.loaded = true
	return c, nil
}

// orDefault returns v, or def when v is the zero value.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

type sourceKey struct{}

// SourceFromContext returns the name of the webhook source that Authenticate
// accepted the request from.
func SourceFromContext(ctx context.Context) (string, bool) {
	s, ok := ctx.Value(sourceKey{}).(string)
	return s, ok
}

// Authenticate wraps next so that it only sees deliveries that source
// authenticates. In order, it refuses with a JSON error:
//
//   - missing, malformed or wrong credentials of a bearer or basic source, and
//     a missing or malformed signature or timestamp header, or a timestamp
//     outside the replay window, of an HMAC source: 401;
//   - a Content-Type other than application/json (or application/*+json): 415;
//   - a body over MaxBodyBytes: 413;
//   - an HMAC signature that does not match the body: 401.
//
// The body is read once; next receives exactly the bytes that were checked,
// and SourceFromContext names the source. A Config not made by Load answers
// 500.
func Authenticate(source Config, next http.Handler) http.Handler {
	return AuthenticateFunc(source, next, nil)
}

// AuthenticateFunc is Authenticate that also calls refused, when not nil,
// with each refused request and the error it was answered with (so that
// the refusal can be audited).
func AuthenticateFunc(source Config, next http.Handler, refused func(*http.Request, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := source.verify(w, r)
		if err != nil {
			if refused != nil {
				refused(r, err)
			}
			if sextant.ErrorCode(err) == sextant.EUNAUTHORIZED {
				source.challenge(w)
			}
			WriteError(w, err)
			return
		}
		r2 := r.WithContext(context.WithValue(r.Context(), sourceKey{}, source.Name))
		r2.Body = io.NopCloser(bytes.NewReader(body))
		r2.ContentLength = int64(len(body))
		r2.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		next.ServeHTTP(w, r2)
	})
}

// challenge sets WWW-Authenticate, which RFC 9110 requires on a 401.
func (c Config) challenge(w http.ResponseWriter) {
	switch c.Scheme {
	case SchemeBearer:
		w.Header().Set("WWW-Authenticate", `Bearer realm="sextant"`)
	case SchemeBasic:
		w.Header().Set("WWW-Authenticate", `Basic realm="sextant", charset="UTF-8"`)
	case SchemeHMAC:
		w.Header().Set("WWW-Authenticate", `HMAC-SHA256 realm="sextant", headers="`+c.TimestampHeader+" "+c.SignatureHeader+`"`)
	}
}

func unauthorized(format string, args ...any) error {
	return sextant.Errorf(sextant.EUNAUTHORIZED, format, args...)
}

// verify authenticates r and returns its body.
func (c Config) verify(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if !c.loaded {
		return nil, errors.New("webhook source config was not loaded")
	}
	// Header-only checks come first, so a replayed or unauthenticated
	// delivery is refused before its body is read.
	var ts string
	var sig []byte
	var err error
	switch c.Scheme {
	case SchemeBearer:
		err = c.checkBearer(r)
	case SchemeBasic:
		err = c.checkBasic(r)
	case SchemeHMAC:
		ts, sig, err = c.checkSignatureHeaders(r)
	default:
		err = fmt.Errorf("webhook source %q: unknown scheme %q", c.Name, c.Scheme)
	}
	if err != nil {
		return nil, err
	}
	if err := checkContentType(r.Header.Get("Content-Type")); err != nil {
		return nil, err
	}
	limit := orDefault(c.MaxBodyBytes, DefaultMaxBodyBytes)
	if r.ContentLength > limit {
		return nil, sextant.Errorf(ETOOLARGE, "%s", tooLargeMessage(limit))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, sextant.Errorf(ETOOLARGE, "%s", tooLargeMessage(limit))
		}
		return nil, sextant.Errorf(sextant.EINVALID, "read request body: %v", err)
	}
	if c.Scheme == SchemeHMAC && !hmac.Equal(Signature(c.key, ts, body), sig) {
		return nil, unauthorized("%s does not match the request body", c.SignatureHeader)
	}
	return body, nil
}

func (c Config) checkBearer(r *http.Request) error {
	h := r.Header.Get("Authorization")
	if h == "" {
		return unauthorized("missing Authorization header: want a bearer token")
	}
	scheme, tok, _ := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return unauthorized(`malformed Authorization header: want "Bearer <token>"`)
	}
	// Both sides are 32-byte hashes, so neither length nor content leaks.
	got := sha256.Sum256([]byte(tok))
	if subtle.ConstantTimeCompare(got[:], c.secretHash[:]) != 1 {
		return unauthorized("invalid bearer token")
	}
	return nil
}

func (c Config) checkBasic(r *http.Request) error {
	if r.Header.Get("Authorization") == "" {
		return unauthorized("missing Authorization header: want basic auth")
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return unauthorized(`malformed Authorization header: want "Basic base64(user:password)"`)
	}
	u := sha256.Sum256([]byte(user))
	p := sha256.Sum256([]byte(pass))
	// Compare both before deciding, and say the same either way, so a caller
	// cannot learn which of the two was right.
	okUser := subtle.ConstantTimeCompare(u[:], c.userHash[:])
	okPass := subtle.ConstantTimeCompare(p[:], c.secretHash[:])
	if okUser&okPass != 1 {
		return unauthorized("invalid username or password")
	}
	return nil
}

// checkSignatureHeaders parses the HMAC headers and checks the replay window.
func (c Config) checkSignatureHeaders(r *http.Request) (ts string, sig []byte, err error) {
	sigHeader, tsHeader := c.SignatureHeader, c.TimestampHeader
	rawSig := r.Header.Get(sigHeader)
	if rawSig == "" {
		return "", nil, unauthorized("missing %s header", sigHeader)
	}
	ts = r.Header.Get(tsHeader)
	if ts == "" {
		return "", nil, unauthorized("missing %s header", tsHeader)
	}
	sig, err = ParseSignature(rawSig, c.Encoding)
	if err != nil {
		return "", nil, unauthorized("malformed %s header: %v", sigHeader, err)
	}
	sec, ok := parseUnixSeconds(ts)
	if !ok {
		return "", nil, unauthorized("malformed %s header: want Unix time in seconds", tsHeader)
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	tol := orDefault(c.Tolerance, DefaultTolerance)
	// Compare instants, not a difference: a far-off timestamp saturates
	// Duration, and negating the minimum Duration overflows.
	t, n := time.Unix(sec, 0), now()
	switch {
	case t.Before(n.Add(-tol)):
		return "", nil, unauthorized("%s is %s old, outside the %s replay window", tsHeader, n.Sub(t).Truncate(time.Second), tol)
	case t.After(n.Add(tol)):
		return "", nil, unauthorized("%s is %s in the future, outside the %s replay window", tsHeader, t.Sub(n).Truncate(time.Second), tol)
	}
	return ts, sig, nil
}

// parseUnixSeconds accepts only ASCII digits: the signature covers the header
// text, so no sign, space or exponent is allowed to vary it.
func parseUnixSeconds(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// Signature returns the HMAC-SHA256, keyed with key, of timestamp + "." +
// body: what a sender puts, encoded, in the signature header.
func Signature(key []byte, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// ParseSignature decodes a signature header value: surrounding spaces and an
// optional "sha256=" prefix (any case) are dropped, and the rest must encode
// exactly 32 bytes in enc. Its errors describe the shape expected and never
// repeat the value.
func ParseSignature(header string, enc Encoding) ([]byte, error) {
	s := strings.TrimSpace(header)
	if len(s) >= len("sha256=") && strings.EqualFold(s[:len("sha256=")], "sha256=") {
		s = s[len("sha256="):]
	}
	if s == "" {
		return nil, errors.New("signature is empty")
	}
	switch enc {
	case EncodingHex:
		if len(s) != hex.EncodedLen(sha256.Size) {
			return nil, fmt.Errorf("want %d hexadecimal digits, got %d characters", hex.EncodedLen(sha256.Size), len(s))
		}
		b, err := hex.DecodeString(s)
		if err != nil {
			return nil, errors.New("signature is not hexadecimal")
		}
		return b, nil
	case EncodingBase64:
		// The decoders skip CR and LF; refuse them so one value has one form.
		if strings.ContainsAny(s, "\r\n") {
			return nil, errors.New("signature is not base64")
		}
		enc := base64.StdEncoding.Strict()
		if !strings.HasSuffix(s, "=") {
			enc = base64.RawStdEncoding.Strict()
		}
		b, err := enc.DecodeString(s)
		if err != nil {
			return nil, errors.New("signature is not base64")
		}
		if len(b) != sha256.Size {
			return nil, fmt.Errorf("want a %d-byte HMAC-SHA256, got %d bytes", sha256.Size, len(b))
		}
		return b, nil
	default:
		return nil, fmt.Errorf("unknown signature encoding %q", enc)
	}
}

// checkContentType accepts application/json and application/*+json.
func checkContentType(v string) error {
	if v == "" {
		return sextant.Errorf(EUNSUPPORTEDMEDIA, "missing Content-Type header: want application/json")
	}
	mt, _, err := mime.ParseMediaType(v)
	if err != nil {
		return sextant.Errorf(EUNSUPPORTEDMEDIA, "malformed Content-Type header: want application/json")
	}
	if mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return nil
	}
	if len(mt) > 64 {
		mt = mt[:64] + "…"
	}
	return sextant.Errorf(EUNSUPPORTEDMEDIA, "Content-Type %s is not supported: want application/json", mt)
}
