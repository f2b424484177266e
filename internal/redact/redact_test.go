package redact

import (
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Secrets used across the tests. The AWS pair is AWS's documented example;
// the rest are made up.
const (
	awsKeyID     = "AKIAIOSFODNN7EXAMPLE"
	awsSecretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	gcpKey       = "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI"
	jwt          = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
	pemKey       = "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\nKUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQ==\n-----END RSA PRIVATE KEY-----"
	azureKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

func TestRedact(t *testing.T) {
	r := &Redactor{InternalDomains: []string{"corp.example.com"}, RegistryHosts: []string{"registry.example.com"}}
	tests := []struct {
		name, in, want string
		kinds          Report
	}{
		{"ipv4", "connect to 10.1.2.3 failed", "connect to [IP_1] failed", Report{IP: 1}},
		{"public ipv4", "resolver 8.8.8.8.", "resolver [IP_2].", Report{IP: 1}},
		{"same value same placeholder", "10.1.2.3 and 10.1.2.3", "[IP_1] and [IP_1]", Report{IP: 2}},
		{"cidr", "allow 10.0.0.0/8 and 2001:db8::/32", "allow [CIDR_1] and [CIDR_2]", Report{CIDR: 2}},
		{"ipv6", "peer fe80::1ff:fe23:4567:890a%eth0 up", "peer [IP_3] up", Report{IP: 1}},
		{"ipv6 loopback long form", "bind [2001:db8:85a3::8a2e:370:7334]:443", "bind [[IP_4]]:443", Report{IP: 1}},
		{"host=ip", "host=93.184.216.34", "host=[IP_5]", Report{IP: 1}},
		{"url ip", "postgres://app@93.184.216.35:5432/db", "postgres://app@[IP_6]:5432/db", Report{IP: 1}},
		{"private ip after @", "lib@10.9.8.7", "lib@[IP_7]", Report{IP: 1}},
		{"email", "reported by alice.smith+sec@example.org today", "reported by [EMAIL_1] today", Report{Email: 1}},
		{"internal host", "calls db.corp.example.com and corp.example.com", "calls [HOST_1] and [HOST_2]", Report{Host: 2}},
		{"k8s service", "http://payments.prod.svc.cluster.local:8080/x and api.default.svc", "http://[HOST_3]:8080/x and [HOST_4]", Report{Host: 2}},
		{"internal suffix", "metadata.google.internal or printer.local", "[HOST_5] or [HOST_6]", Report{Host: 2}},
		{"registry", "image registry.example.com/shop/web:1.4", "image [REGISTRY_1]/shop/web:1.4", Report{Registry: 1}},
		{"aws key id", "key AKIAIOSFODNN7EXAMPLE used", "key [AWS_KEY_1] used", Report{AWSKey: 1}},
		{"aws secret", "aws_secret_access_key = " + awsSecretKey, "aws_secret_access_key = [AWS_KEY_2]", Report{AWSKey: 1}},
		{"aws account", `"AccountId": "123456789012"`, `"AccountId": "[ACCOUNT_1]"`, Report{Account: 1}},
		{"ecr account", "123456789013.dkr.ecr.us-east-1.amazonaws.com/app:1", "[ACCOUNT_2].dkr.ecr.us-east-1.amazonaws.com/app:1", Report{Account: 1}},
		{"arn", "role arn:aws:iam::123456789012:role/deploy-bot ok", "role [ARN_1] ok", Report{ARN: 1}},
		{"gcp key", "key=" + gcpKey, "key=[GCP_KEY_1]", Report{GCPKey: 1}},
		{"gcp service account", `{"type": "service_account", "private_key_id": "8f2a6b1c9d0e", "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----\n", "client_email": "svc@proj.iam.gserviceaccount.com"}`,
			`{"type": "service_account", "private_key_id": "[SECRET_1]", "private_key": "[PRIVATE_KEY_1]", "client_email": "[EMAIL_2]"}`, Report{Secret: 1, PrivateKey: 1, Email: 1}},
		{"azure", "DefaultEndpointsProtocol=https;AccountName=shop;AccountKey=" + azureKey + ";EndpointSuffix=core.windows.net", "DefaultEndpointsProtocol=https;AccountName=shop;AccountKey=[AZURE_KEY_1];EndpointSuffix=core.windows.net", Report{AzureKey: 1}},
		{"jwt", "Authorization: Bearer " + jwt, "Authorization: Bearer [JWT_1]", Report{JWT: 1}},
		{"bearer", "Authorization: Bearer 4f9c2a7e1b8d3c6a", "Authorization: Bearer [SECRET_2]", Report{Secret: 1}},
		{"basic prose kept", "supports Basic Authentication only", "supports Basic Authentication only", nil},
		{"pem", "key:\n" + pemKey + "\nend", "key:\n[PRIVATE_KEY_2]\nend", Report{PrivateKey: 1}},
		{"url password", "redis://:s3cr3t@cache:6379 and https://bob:hunter2@git.example.org/x", "redis://:[PASSWORD_1]@cache:6379 and https://bob:[PASSWORD_2]@git.example.org/x", Report{Password: 2}},
		{"password setting", `DB_PASSWORD=correcthorse dbPassword: "battery staple"`, `DB_PASSWORD=[PASSWORD_3] dbPassword: "[PASSWORD_4]"`, Report{Password: 2}},
		{"token setting", "GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789 apiKey=k-9f8e7d", "GITHUB_TOKEN=[SECRET_3] apiKey=[SECRET_4]", Report{Secret: 2}},
		{"k8s secret", "apiVersion: v1\nkind: Secret\ndata:\n  password: aHVudGVyMg==\n  username: YWRtaW4=\nmetadata:\n  name: db\n",
			"apiVersion: v1\nkind: Secret\ndata:\n  password: [PASSWORD_5]\n  username: [SECRET_5]\nmetadata:\n  name: db\n", Report{Password: 1, Secret: 1}},
		{"literal placeholder", "text [IP_1] stays", "text [LITERAL_1] stays", nil},

		// Things that must come through unchanged.
		{"cve", "CVE-2021-44228 and GHSA-jfh8-c2jp-5v3q", "CVE-2021-44228 and GHSA-jfh8-c2jp-5v3q", nil},
		{"digest", "image@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "image@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", nil},
		{"npm version", "npm install lodash@4.17.21 and jsonwebtoken: 8.5.1", "npm install lodash@4.17.21 and jsonwebtoken: 8.5.1", nil},
		{"four-part versions", "pkg@1.2.3.4 pip install 'x==1.2.3.4' apt-get install y=1.2.3.4 v1.2.3.4 image:1.2.3.4 version 1.2.3.4 1.2.3.4-1 1.2.3.4+dfsg",
			"pkg@1.2.3.4 pip install 'x==1.2.3.4' apt-get install y=1.2.3.4 v1.2.3.4 image:1.2.3.4 version 1.2.3.4 1.2.3.4-1 1.2.3.4+dfsg", nil},
		{"longer dotted", "1.2.3.4.5 and 300.1.1.1 and 01.2.3.4", "1.2.3.4.5 and 300.1.1.1 and 01.2.3.4", nil},
		{"epoch version", "zlib1g 1:1.2.13.dfsg-1 and 2:8.2.3995-1", "zlib1g 1:1.2.13.dfsg-1 and 2:8.2.3995-1", nil},
		{"java internal package", "in jdk.internal.misc.Unsafe", "in jdk.internal.misc.Unsafe", nil},
		{"paths and times", "/usr/local/bin at 2023-11-20T09:40:00Z std::vector a::b", "/usr/local/bin at 2023-11-20T09:40:00Z std::vector a::b", nil},
		{"tags", "registry.other.io/app:1.25.3-alpine", "registry.other.io/app:1.25.3-alpine", nil},
		{"maven coordinates", "org.apache.logging.log4j:log4j-core 2.14.1", "org.apache.logging.log4j:log4j-core 2.14.1", nil},
		{"token in a package name", "token-types 5.0.1 and tokenizer=2", "token-types 5.0.1 and tokenizer=2", nil},
		{"npm tarball", "lodash@4.17.21.tgz", "lodash@4.17.21.tgz", nil},
	}
	// The cases run in order on one Redactor: placeholders are numbered
	// across them, as in one session.
	for _, tt := range tests {
		got, rep := r.Redact(tt.in)
		if got != tt.want {
			t.Errorf("%s: Redact(%q) =\n  %q\nwant\n  %q", tt.name, tt.in, got, tt.want)
		}
		if diff := cmp.Diff(tt.kinds, rep); diff != "" {
			t.Errorf("%s: report (-want +got):\n%s", tt.name, diff)
		}
		if back := r.Rehydrate(got); back != tt.in {
			t.Errorf("%s: Rehydrate(%q) = %q, want %q", tt.name, got, back, tt.in)
		}
	}
}

func TestKeepSparesVersionsOnly(t *testing.T) {
	r := &Redactor{Keep: []string{"10.2.0.1", "AKIAIOSFODNN7EXAMPLE"}}
	got, _ := r.Redact("Upgrade foo 10.2.0.1 → 10.2.0.9 with AKIAIOSFODNN7EXAMPLE")
	want := "Upgrade foo 10.2.0.1 → [IP_1] with [AWS_KEY_1]"
	if got != want {
		t.Errorf("Redact = %q, want %q", got, want)
	}
}

func TestRehydrateLeavesUnknownPlaceholders(t *testing.T) {
	r := &Redactor{}
	red, _ := r.Redact("host 10.0.0.1")
	out := r.Rehydrate(red + " and [IP_9] and [HOST_1]")
	if want := "host 10.0.0.1 and [IP_9] and [HOST_1]"; out != want {
		t.Errorf("Rehydrate = %q, want %q", out, want)
	}
}

func TestReportNeverHoldsValues(t *testing.T) {
	r := &Redactor{}
	_, rep := r.Redact("pw https://u:" + "topsecretvalue" + "@h.example/ from 10.0.0.1")
	for k := range rep {
		if strings.Contains(string(k), "topsecret") || strings.Contains(string(k), "10.0.0.1") {
			t.Errorf("report key %q holds a value", k)
		}
	}
	if rep.Total() != 2 {
		t.Errorf("Total() = %d, want 2 (%v)", rep.Total(), rep)
	}
}

func TestOverlapsMerge(t *testing.T) {
	// A password setting whose value holds an address: the whole value goes,
	// whichever rule saw which part.
	r := &Redactor{}
	in := "password=x10.0.0.1yAKIAIOSFODNN7EXAMPLE"
	got, _ := r.Redact(in)
	if strings.Contains(got, "x10") || strings.Contains(got, "AKIA") {
		t.Errorf("Redact(%q) = %q: part of the secret is left", in, got)
	}
	if back := r.Rehydrate(got); back != in {
		t.Errorf("Rehydrate = %q, want %q", back, in)
	}
}

func TestParseList(t *testing.T) {
	got := ParseList(" Corp.Example.com, .internal.example ,, ")
	want := []string{"corp.example.com", "internal.example"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseList (-want +got):\n%s", diff)
	}
}

func TestConcurrentUse(t *testing.T) {
	r := &Redactor{InternalDomains: []string{"corp.example.com"}}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := "a.corp.example.com 10.0.0.1 " + strings.Repeat("x", i)
			out, _ := r.Redact(in)
			if back := r.Rehydrate(out); back != in {
				t.Errorf("round trip: %q → %q → %q", in, out, back)
			}
		}()
	}
	wg.Wait()
	if n := r.Placeholders(); n != 2 {
		t.Errorf("Placeholders() = %d, want 2", n)
	}
}

// seededSecrets are values FuzzRedact plants in random text: none may
// survive redaction, and each is given a context that names it.
var seededSecrets = []struct{ before, value, after string }{
	{"ip ", "10.20.30.40", ""},
	{"ip ", "172.16.254.1", ""},
	{"addr ", "2001:db8:85a3::8a2e:370:7334", ""},
	{"host ", "db-1.payments.corp.example.com", ""},
	{"svc ", "billing.prod.svc.cluster.local", ""},
	{"key ", awsKeyID, ""},
	{"aws_secret_access_key=", awsSecretKey, ""},
	{"key ", gcpKey, ""},
	{"AccountKey=", azureKey, ""},
	{"token ", jwt, ""},
	{"mail ", "alice@example.org", ""},
	{"key\n", pemKey, ""},
	{"password=", "hunter2hunter2", ""},
	{"role ", "arn:aws:iam::123456789012:role/deploy", ""},
	{"url https://deploy:", "Pa55w0rd!x", "@git.example.org/repo"},
}

func FuzzRedact(f *testing.F) {
	f.Add("", uint8(0), "")
	f.Add("CVE-2021-44228 in log4j-core 2.14.1", uint8(3), "fixed in 2.17.1")
	f.Add("[IP_1] [HOST_1]", uint8(9), "password=[IP_1]")
	f.Add("-----BEGIN PRIVATE KEY-----", uint8(11), "\n-----END PRIVATE KEY-----")
	f.Fuzz(func(t *testing.T, prefix string, which uint8, suffix string) {
		s := seededSecrets[int(which)%len(seededSecrets)]
		in := prefix + "\n" + s.before + s.value + s.after + "\n" + suffix
		r := &Redactor{InternalDomains: []string{"corp.example.com"}, RegistryHosts: []string{"registry.example.com"}}
		out, _ := r.Redact(in)
		if back := r.Rehydrate(out); back != in {
			t.Fatalf("Rehydrate(Redact(%q)) = %q (redacted %q)", in, back, out)
		}
		if strings.Contains(prefix, s.value) || strings.Contains(suffix, s.value) {
			return // the fuzzer planted it where no context names it
		}
		if strings.Contains(out, s.value) {
			t.Fatalf("Redact(%q) = %q: the seeded secret %q is still there", in, out, s.value)
		}
		// Nor is any line of a private key.
		if strings.HasPrefix(s.value, "-----BEGIN") {
			for _, l := range strings.Split(s.value, "\n")[1:] {
				if !strings.Contains(prefix+suffix, l) && strings.Contains(out, l) {
					t.Fatalf("Redact(%q) = %q: key line %q is still there", in, out, l)
				}
			}
		}
		// Redacting is idempotent in what it hides: the output holds no
		// seeded value a second pass would find.
		out2, _ := r.Redact(out)
		if r.Rehydrate(r.Rehydrate(out2)) != in {
			t.Fatalf("double round trip of %q failed", in)
		}
	})
}

func BenchmarkRedact(b *testing.B) {
	text := strings.Repeat("CVE-2023-4863: heap buffer overflow in libwebp 1.2.4-0.2+deb12u1 allows a remote attacker "+
		"to write out of bounds; seen on 10.1.2.3 (db.corp.example.com) with AKIAIOSFODNN7EXAMPLE, "+
		"fixed in 1.2.4-0.2+deb12u2; see https://security-tracker.debian.org/tracker/CVE-2023-4863\n", 20)
	b.SetBytes(int64(len(text)))
	r := &Redactor{InternalDomains: []string{"corp.example.com"}}
	b.ReportAllocs()
	for b.Loop() {
		r.Redact(text)
	}
}

// BenchmarkRedactDense is text where almost everything is a candidate:
// the cost must stay linear in the number of matches.
func BenchmarkRedactDense(b *testing.B) {
	text := strings.Repeat("password=a@b.co 10.0.0.1 8.8.8.8-1 [IP_1] x.svc ", 2000)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		r := &Redactor{}
		r.Redact(text)
	}
}

// Falco writes connections as src->dst: the destination is an address.
func TestArrowIsNotAVersionConstraint(t *testing.T) {
	r := New(nil, nil)
	out, _ := r.Redact("connection=10.0.0.5:44312->203.0.113.50:4444 pkg>=1.2.3.4")
	if strings.Contains(out, "203.0.113.50") {
		t.Errorf("Redact left the destination of -> in clear: %q", out)
	}
	if !strings.Contains(out, ">=1.2.3.4") {
		t.Errorf("Redact took a version constraint for an address: %q", out)
	}
}
