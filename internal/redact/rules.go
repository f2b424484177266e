package redact

import (
	"net/netip"
	"regexp"
	"strings"
)

// rule finds the spans of one kind of sensitive value. Rules earlier in
// Redactor.rules win over later ones where their matches overlap.
type rule struct {
	// need lists lower-case substrings of which the text must hold one for
	// the rule to have anything to find (none: always run). Regular
	// expressions are slow next to a substring search, and most texts hold
	// none of these.
	need []string
	find func(text string, emit func(start, end int, k Kind))
}

// init compiles the rules, including those built from the configuration.
func (r *Redactor) init() {
	r.keep = map[string]bool{}
	for _, k := range r.Keep {
		if k != "" {
			r.keep[k] = true
		}
	}
	r.rules = []rule{
		{[]string{"private key"}, findPrivateKeys},
		{[]string{"eyj"}, regexRule(jwtRE, 0, JWT, nil)},
		{[]string{"akia", "asia", "abia", "acca", "a3t"}, regexRule(awsKeyIDRE, 0, AWSKey, notAround(isUpperAlnum))},
		{[]string{"secret"}, regexRule(awsSecretRE, 1, AWSKey, notAfter(isBase64Byte))},
		{[]string{"aiza"}, regexRule(gcpKeyRE, 0, GCPKey, notAfter(isURLSafeB64))},
		{[]string{"accountkey=", "sharedaccess", "sig="}, regexRule(azureKeyRE, 1, AzureKey, notBefore(isAlnum))},
		{[]string{"://"}, findURLPasswords},
		{[]string{"gh", "glpat-", "xox", "k_live_"}, regexRule(tokenFormatRE, 0, Secret, notAround(isWordByte))},
		{[]string{"bearer", "basic"}, regexRule(authHeaderRE, 1, Secret, looksLikeCredential)},
		{[]string{"arn:aws"}, regexRule(arnRE, 0, ARN, nil)},
		{[]string{"@"}, findEmails},
		{[]string{"pass", "pwd", "secret", "token", "key", "credential", "session", "cookie"}, findKeyValueSecrets},
		{[]string{"data:"}, findSecretData},
		{[]string{"account", "owner"}, regexRule(accountRE, 1, Account, notAfter(isDigit))},
		{[]string{".dkr.ecr."}, regexRule(ecrAccountRE, 1, Account, notBefore(isDigit))},
	}
	if hosts := hostList(r.RegistryHosts); len(hosts) > 0 {
		r.rules = append(r.rules, rule{hosts, hostFinder(hosts, false, Registry)})
	}
	r.rules = append(r.rules,
		rule{[]string{"."}, findIPv4},
		rule{[]string{":"}, findIPv6},
		rule{internalSuffixes, hostFinder(internalSuffixes, true, Host)},
	)
	if doms := hostList(r.InternalDomains); len(doms) > 0 {
		r.rules = append(r.rules, rule{doms, hostFinder(doms, true, Host)})
	}
	r.rules = append(r.rules, rule{[]string{"["}, regexRule(placeholderRE, 0, Literal, nil)})
}

var (
	pemBeginRE = regexp.MustCompile(`-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----`)
	pemEndRE   = regexp.MustCompile(`-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----`)
	jwtRE      = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`)
	awsKeyIDRE = regexp.MustCompile(`(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}`)
	// A secret access key is 40 characters of base64 and only recognisable
	// by the name it is given.
	awsSecretRE = regexp.MustCompile(`(?i)(?:aws_?secret_?access_?key|aws_?secret_?key|secret_?access_?key|aws_?secret)["']?\s*[:=]\s*["']?([A-Za-z0-9/+=]{40})`)
	gcpKeyRE    = regexp.MustCompile(`AIza[0-9A-Za-z_-]{35}`)
	azureKeyRE  = regexp.MustCompile(`(?i)(?:AccountKey|SharedAccessKey|SharedAccessSignature|sig)=([A-Za-z0-9%+/=]{16,})`)
	// Tokens with a recognisable prefix: GitHub, GitLab, Slack, Stripe.
	tokenFormatRE = regexp.MustCompile(`(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,}|glpat-[A-Za-z0-9_-]{20,}|xox[abposr]-[A-Za-z0-9-]{10,}|[sr]k_live_[A-Za-z0-9]{16,})`)
	authHeaderRE  = regexp.MustCompile(`(?i)\b(?:bearer|basic)\s+([A-Za-z0-9._~+/-]{8,}=*)`)
	arnRE         = regexp.MustCompile(`arn:aws[a-zA-Z-]*:[a-zA-Z0-9-]+:[a-z0-9-]*:[0-9]{0,12}:[^\s"'<>,;)\]}]+`)
	emailRE       = regexp.MustCompile(`[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})`)
	// An AWS account ID is twelve digits: only its context tells it from
	// any other number.
	accountRE    = regexp.MustCompile(`(?i)(?:account[ _-]?(?:id|number|no)?|owner[ _-]?id|aws[ _-]?account)["']?\s*(?:[:=#]|is)?\s*["']?([0-9]{12})`)
	ecrAccountRE = regexp.MustCompile(`([0-9]{12})\.dkr\.ecr\.`)
	keyValueRE   = regexp.MustCompile(`(?i)[A-Za-z0-9_.-]*?(password|passwd|passphrase|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key(?:[_-]?id)?|client[_-]?secret|credentials?|session[_-]?id|cookie)["']?\s*[:=]\s*(?:"([^"\r\n]*)"|'([^'\r\n]*)'|([^\s"',;&]+))`)
	dataKeyRE    = regexp.MustCompile(`^["']?[A-Za-z0-9_.-]+["']?:[ \t]*(.*?)[ \t]*$`)
)

// regexRule emits group g of every match of re for which ok (if set)
// approves the span.
func regexRule(re *regexp.Regexp, g int, k Kind, ok func(text string, start, end int) bool) func(string, func(int, int, Kind)) {
	return func(text string, emit func(int, int, Kind)) {
		for _, m := range re.FindAllStringSubmatchIndex(text, -1) {
			s, e := m[2*g], m[2*g+1]
			if s < 0 || (ok != nil && !ok(text, s, e)) {
				continue
			}
			emit(s, e, k)
		}
	}
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool      { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isAlnum(c byte) bool      { return isDigit(c) || isAlpha(c) }
func isUpperAlnum(c byte) bool { return isDigit(c) || c >= 'A' && c <= 'Z' }
func isWordByte(c byte) bool   { return isAlnum(c) || c == '_' }
func isBase64Byte(c byte) bool { return isAlnum(c) || c == '+' || c == '/' || c == '=' }
func isURLSafeB64(c byte) bool { return isAlnum(c) || c == '_' || c == '-' }
func isHostByte(c byte) bool   { return isAlnum(c) || c == '-' }

func notBefore(bad func(byte) bool) func(string, int, int) bool {
	return func(t string, s, _ int) bool { return s == 0 || !bad(t[s-1]) }
}

func notAfter(bad func(byte) bool) func(string, int, int) bool {
	return func(t string, _, e int) bool { return e == len(t) || !bad(t[e]) }
}

func notAround(bad func(byte) bool) func(string, int, int) bool {
	return func(t string, s, e int) bool {
		return (s == 0 || !bad(t[s-1])) && (e == len(t) || !bad(t[e]))
	}
}

// internalSuffixes are the DNS suffixes that only ever name internal
// hosts (.svc.cluster.local and .cluster.local end in .local).
var internalSuffixes = []string{".svc", ".local", ".internal"}

// hostList normalises configured host names: lower case, no outer dots.
func hostList(hosts []string) []string {
	var out []string
	for _, h := range hosts {
		if h = strings.ToLower(strings.Trim(strings.TrimSpace(h), ".")); h != "" {
			out = append(out, h)
		}
	}
	return out
}

// hostFinder finds the host names that end in one of names (lower case).
// A name that starts with a dot is a suffix: the host must have a label
// before it. Otherwise the host is the name itself or, with sub, any of its
// subdomains. A host is found whole: "db.local" in "db.local.example.com"
// is not one (but "db.corp.example.com" in "db.corp.example.com.conf" is).
func hostFinder(names []string, sub bool, k Kind) func(string, func(int, int, Kind)) {
	return func(text string, emit func(int, int, Kind)) {
		lower := asciiLower(text)
		for _, n := range names {
			for off := 0; ; {
				i := strings.Index(lower[off:], n)
				if i < 0 {
					break
				}
				i += off
				off = i + 1
				e := i + len(n)
				suffix := n[0] == '.'
				// After a built-in suffix, a dot and a label make another
				// name ("jdk.internal.misc" is no host); after a configured
				// name they are more likely a file name's extension
				// ("db.corp.example.com.conf").
				if e < len(text) && (isHostByte(text[e]) || suffix && text[e] == '.' && e+1 < len(text) && isHostByte(text[e+1])) {
					continue
				}
				s := i
				if suffix || sub && i > 0 && text[i-1] == '.' {
					// Take in the labels in front.
					for s > 0 && (isHostByte(text[s-1]) || text[s-1] == '_' || text[s-1] == '.') {
						s--
					}
					for s < i && (text[s] == '.' || text[s] == '-') {
						s++
					}
					if suffix && s == i {
						continue
					}
				} else if i > 0 && (isHostByte(text[i-1]) || text[i-1] == '.') {
					continue
				}
				emit(s, e, k)
			}
		}
	}
}

// findURLPasswords redacts the password of scheme://user:password@host.
func findURLPasswords(text string, emit func(int, int, Kind)) {
	for off := 0; ; {
		i := strings.Index(text[off:], "://")
		if i < 0 {
			return
		}
		a := off + i + 3
		off = a
		end := a
		for end < len(text) && strings.IndexByte(" \t\r\n/?#", text[end]) < 0 {
			end++
		}
		at := strings.IndexByte(text[a:end], '@')
		if at < 0 {
			continue
		}
		user, pw, ok := strings.Cut(text[a:a+at], ":")
		if !ok || pw == "" || strings.ContainsAny(user, "[]") {
			continue
		}
		emit(a+len(user)+1, a+at, Password)
	}
}

// findPrivateKeys redacts PEM private keys from BEGIN to END, whether the
// line breaks are real or escaped ("\n" inside a GCP service-account JSON
// file). A BEGIN without an END redacts the rest of the text: a truncated
// key is still a key.
func findPrivateKeys(text string, emit func(int, int, Kind)) {
	from := 0
	for from < len(text) {
		loc := pemBeginRE.FindStringIndex(text[from:])
		if loc == nil {
			return
		}
		s := from + loc[0]
		end := len(text)
		if m := pemEndRE.FindStringIndex(text[from+loc[1]:]); m != nil {
			end = from + loc[1] + m[1]
		}
		emit(s, end, PrivateKey)
		from = end
	}
}

// looksLikeCredential tells "Bearer dXNlcjpwYXNz" from "Basic
// Authentication": a credential has a digit or a symbol, or a capital
// letter past its first character.
func looksLikeCredential(t string, s, e int) bool {
	v := t[s:e]
	for i := 0; i < len(v); i++ {
		c := v[i]
		if isDigit(c) || !isAlpha(c) || i > 0 && c >= 'A' && c <= 'Z' {
			return true
		}
	}
	return false
}

// findEmails redacts e-mail addresses, but not "pkg@1.2.3.tgz"-like text
// whose domain is made of numbers.
func findEmails(text string, emit func(int, int, Kind)) {
	for _, m := range emailRE.FindAllStringSubmatchIndex(text, -1) {
		dom := text[m[2]:m[3]]
		first, _, _ := strings.Cut(dom, ".")
		if strings.Trim(first, "0123456789-") == "" {
			continue
		}
		if m[1] < len(text) && isHostByte(text[m[1]]) {
			continue
		}
		// In scheme://user:password@host the password rule has the part
		// before the @, and the host is no mailbox.
		if m[0] > 0 && text[m[0]-1] == ':' && strings.Contains(lastField(text[:m[0]]), "://") {
			continue
		}
		emit(m[0], m[1], Email)
	}
}

// stopValues are values of password/token settings that are not secrets.
var stopValues = map[string]bool{
	"true": true, "false": true, "null": true, "none": true, "nil": true, "yes": true, "no": true,
	"empty": true, "required": true, "optional": true, "string": true, "redacted": true,
	"undefined": true, "the": true, "and": true, "for": true, "with": true, "from": true,
}

// findKeyValueSecrets redacts the value of settings named like secrets:
// password=…, "apiKey": "…", GITHUB_TOKEN: …, client_secret=…. The name
// must end in the keyword as a word of its own (db_password, accessToken,
// DB_PASSWORD), so that "jsonwebtoken: 8.5.1" keeps its version.
func findKeyValueSecrets(text string, emit func(int, int, Kind)) {
	for _, m := range keyValueRE.FindAllStringSubmatchIndex(text, -1) {
		kw := m[2]
		if kw > 0 {
			p, c := text[kw-1], text[kw]
			kwText := text[m[2]:m[3]]
			ok := p == '_' || p == '.' || p == '-' || !isAlnum(p) ||
				(c >= 'A' && c <= 'Z' && (p >= 'a' && p <= 'z' || strings.ToUpper(kwText) == kwText))
			if !ok {
				continue
			}
		}
		s, e := -1, -1
		for g := 2; g <= 4; g++ {
			if m[2*g] >= 0 {
				s, e = m[2*g], m[2*g+1]
				break
			}
		}
		if s < 0 || e-s < 3 {
			continue
		}
		v := text[s:e]
		if stopValues[strings.ToLower(v)] || strings.HasPrefix(v, "${") || strings.HasPrefix(v, "$(") || strings.Trim(v, "*x") == "" {
			continue
		}
		k := Secret
		switch strings.ToLower(text[m[2]:m[3]]) {
		case "password", "passwd", "passphrase", "pwd":
			k = Password
		}
		emit(s, e, k)
	}
}

// findSecretData redacts the values under data: and stringData: in
// Kubernetes YAML: all of them in a text that declares "kind: Secret", and
// base64-looking ones elsewhere (a Secret shown without its kind).
func findSecretData(text string, emit func(int, int, Kind)) {
	if !strings.Contains(text, "data:") && !strings.Contains(text, "Data:") {
		return
	}
	secretDoc := strings.Contains(text, "kind: Secret")
	inData, dataIndent := false, 0
	blockIndent := -1 // indentation of a key whose value is a block scalar
	off := 0
	for off < len(text) {
		end := strings.IndexByte(text[off:], '\n')
		if end < 0 {
			end = len(text)
		} else {
			end += off
		}
		line := strings.TrimRight(text[off:end], "\r")
		lineStart := off
		off = end + 1
		trimmed := strings.TrimLeft(line, " ")
		indent := len(line) - len(trimmed)
		if trimmed == "" || trimmed[0] == '#' {
			continue
		}
		if blockIndent >= 0 {
			if indent > blockIndent {
				emit(lineStart+indent, lineStart+len(line), Secret)
				continue
			}
			blockIndent = -1
		}
		if inData {
			if indent <= dataIndent {
				inData = false
			} else if m := dataKeyRE.FindStringSubmatchIndex(trimmed); m != nil && m[2] < m[3] {
				v := trimmed[m[2]:m[3]]
				s, e := lineStart+indent+m[2], lineStart+indent+m[3]
				if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
					s, e, v = s+1, e-1, v[1:len(v)-1]
				}
				switch {
				case strings.HasPrefix(v, "|") || strings.HasPrefix(v, ">"):
					if secretDoc {
						blockIndent = indent
					}
				case secretDoc || looksBase64(v):
					emit(s, e, Secret)
				}
				continue
			}
		}
		if trimmed == "data:" || trimmed == "stringData:" || strings.HasPrefix(trimmed, "data: #") || strings.HasPrefix(trimmed, "stringData: #") {
			inData, dataIndent = true, indent
		}
	}
}

// looksBase64 reports whether v could be base64 of a secret: at least 8
// characters of the standard alphabet, padded to a multiple of 4.
func looksBase64(v string) bool {
	if len(v) < 8 || len(v)%4 != 0 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !isBase64Byte(v[i]) {
			return false
		}
	}
	return true
}

// findIPv4 redacts IPv4 addresses and networks. A dotted quad is an
// address when each part is a number from 0 to 255 without leading zeros,
// it is not part of a longer dotted number or word, and it is not in a
// version context (see versionContext). Private, loopback, link-local and
// shared (CGNAT) addresses are always redacted: "10.0.0.1" after an "@" is
// more likely a host than a version, and a leak costs more than a mangled
// version. A quad followed by /0 to /32 is a CIDR network, whatever
// precedes it.
func findIPv4(text string, emit func(int, int, Kind)) {
	for s := 0; s < len(text); s++ {
		if !isDigit(text[s]) || s > 0 && isDigit(text[s-1]) {
			continue
		}
		e := quadAt(text, s)
		if e < 0 {
			continue
		}
		if s > 0 {
			p := text[s-1]
			if isDigit(p) || p == '.' && s > 1 && isDigit(text[s-2]) || p == '_' || isAlpha(p) && p != 'v' && p != 'V' {
				continue
			}
			if (p == 'v' || p == 'V') && s > 1 && isAlpha(text[s-2]) {
				continue
			}
		}
		if e < len(text) && (isDigit(text[e]) || isAlpha(text[e]) || text[e] == '_' || text[e] == '.' && e+1 < len(text) && isDigit(text[e+1])) {
			continue
		}
		addr, err := netip.ParseAddr(text[s:e])
		if err != nil {
			continue
		}
		if n := cidrSuffix(text, e, 32); n > 0 {
			emit(s, e+n, CIDR)
			continue
		}
		if !alwaysInternal(addr) && versionContext(text, s, e) {
			continue
		}
		emit(s, e, IP)
	}
}

// quadAt returns the end of the dotted quad of 1-3 digit numbers at
// text[s:], or -1.
func quadAt(text string, s int) int {
	i := s
	for part := 0; part < 4; part++ {
		if part > 0 {
			if i >= len(text) || text[i] != '.' {
				return -1
			}
			i++
		}
		j := i
		for j < len(text) && j-i < 3 && isDigit(text[j]) {
			j++
		}
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

// cidrSuffix returns the length of a "/n" prefix length (n ≤ max) at text[e:],
// or 0.
func cidrSuffix(text string, e, max int) int {
	if e >= len(text) || text[e] != '/' {
		return 0
	}
	j := e + 1
	for j < len(text) && j-e <= 3 && isDigit(text[j]) {
		j++
	}
	if j == e+1 || j < len(text) && (isAlnum(text[j]) || text[j] == '.') {
		return 0
	}
	n := 0
	for _, c := range text[e+1 : j] {
		n = n*10 + int(c-'0')
	}
	if n > max || j-e > 2 && text[e+1] == '0' {
		return 0
	}
	return j - e
}

// alwaysInternal reports whether an address belongs to a range that only
// ever names an organisation's own machines.
func alwaysInternal(a netip.Addr) bool {
	return a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsUnspecified() ||
		netip.MustParsePrefix("100.64.0.0/10").Contains(a)
}

// networkKeys are setting names after which a dotted quad is an address:
// "host=1.2.3.4", "podIP: 1.2.3.4".
var networkKeys = []string{
	"ip", "ips", "ipv4", "addr", "address", "addresses", "host", "hostname", "server", "endpoint",
	"src", "dst", "source", "destination", "remote", "peer", "client", "gateway", "dns",
	"nameserver", "proxy", "bind", "listen", "upstream", "node", "target", "origin", "forwarded-for",
}

// versionWords are words after which a dotted quad is a version.
var versionWords = map[string]bool{"version": true, "versions": true, "ver": true, "release": true, "tag": true, "v": true}

// versionContext reports whether the dotted quad text[s:e] reads as a
// version: directly preceded by "v", by "@" outside a URL, by a comparison
// (>=, ~, ^, ==), by "=" or ":" after a name that is not a network setting
// ("pkg=1.2.3.4", "image:1.2.3.4", but not "host=1.2.3.4"), or by the word
// "version"; or followed by a version suffix ("-1", "+dfsg", "~rc1").
func versionContext(text string, s, e int) bool {
	if e+1 < len(text) && strings.IndexByte("-+~", text[e]) >= 0 && isAlnum(text[e+1]) {
		// "1.2.3.4-1.2.3.9" is a range of addresses, not a revision.
		if text[e] == '-' && quadAt(text, e+1) > 0 {
			return false
		}
		return true
	}
	if s == 0 {
		return false
	}
	if p := text[s-1]; p == 'v' || p == 'V' {
		return true
	}
	j := s
	for j > 0 && text[j-1] == ' ' {
		j--
	}
	mk := j
	for j > 0 && strings.IndexByte("=:<>!~^@", text[j-1]) >= 0 {
		j--
	}
	markers := text[j:mk]
	for j > 0 && text[j-1] == ' ' {
		j--
	}
	k := j
	for k > 0 && (isAlnum(text[k-1]) || strings.IndexByte("_.-/", text[k-1]) >= 0) {
		k--
	}
	key := strings.ToLower(text[k:j])
	switch {
	case markers == "":
		return versionWords[key]
	case strings.Contains(markers, "@"):
		// user:password@1.2.3.4 and scheme://1.2.3.4 are hosts.
		// user:password@1.2.3.4 and scheme://1.2.3.4 are hosts; pkg@1.2.3.4
		// is a version.
		before := lastField(text[:j])
		return !strings.Contains(before, ":") && !strings.Contains(before, "//") && !strings.Contains(markers, ":")
	case strings.HasPrefix(markers, ">") && j > 0 && text[j-1] == '-':
		// src->dst (Falco's connection tuples) names an address, not a
		// version constraint.
		return false
	case strings.ContainsAny(markers, "<>~^!") || strings.Contains(markers, "=="):
		return true
	}
	for _, n := range networkKeys {
		if strings.HasSuffix(key, n) {
			return false
		}
	}
	return true
}

// lastField returns the text after the last white space.
func lastField(s string) string {
	if i := strings.LastIndexAny(s, " \t\r\n"); i >= 0 {
		return s[i+1:]
	}
	return s
}

// findIPv6 redacts IPv6 addresses and networks. To keep "a::b" (C++, Rust
// paths) and times, an address must parse, stand alone, and have a group
// of at least two hex digits.
func findIPv6(text string, emit func(int, int, Kind)) {
	for s := 0; s < len(text); {
		if !isIPv6Byte(text[s]) {
			s++
			continue
		}
		e := s
		for e < len(text) && isIPv6Byte(text[e]) {
			e++
		}
		ipv6At(text, s, e, emit)
		s = e
	}
}

func isIPv6Byte(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == ':' || c == '.'
}

// ipv6At redacts the run text[s:e] of address characters if it is an
// address.
func ipv6At(text string, s, e int, emit func(int, int, Kind)) {
	// Sentence punctuation and a port separator are not part of it.
	for e > s && (text[e-1] == '.' || text[e-1] == ':' && !(e-s >= 2 && text[e-2] == ':')) {
		e--
	}
	if strings.Count(text[s:e], ":") < 2 || s > 0 && (isWordByte(text[s-1]) || text[s-1] == '.') {
		return
	}
	if e+1 < len(text) && text[e] == '%' && isAlnum(text[e+1]) {
		// A zone ("fe80::1%eth0") belongs to the address.
		z := e + 1
		for z < len(text) && isWordByte(text[z]) {
			z++
		}
		e = z
	}
	if e < len(text) && isWordByte(text[e]) {
		return
	}
	cand := text[s:e]
	addr, err := netip.ParseAddr(cand)
	if err != nil || !addr.Is6() {
		return
	}
	groups, _, _ := strings.Cut(cand, "%")
	long := false
	for _, g := range strings.FieldsFunc(groups, func(r rune) bool { return r == ':' || r == '.' }) {
		long = long || len(g) >= 2
	}
	if !long {
		return
	}
	if n := cidrSuffix(text, e, 128); n > 0 {
		emit(s, e+n, CIDR)
		return
	}
	emit(s, e, IP)
}
