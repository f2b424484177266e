package cyclonedx

import (
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/package-url/packageurl-go"
	"github.com/sextant-dev/sextant"
)

// addComponent indexes a component's package by bom-ref (and by PURL, which
// some tools use as the affects ref), and notes the operating system.
func (p *parser) addComponent(c *cdx.Component) {
	if c.Type == cdx.ComponentTypeOS && p.osName == "" {
		p.osName, p.osVer = c.Name, c.Version
	}
	if c.BOMRef == "" && c.PackageURL == "" {
		return
	}
	pk := componentPackage(c)
	if c.BOMRef != "" {
		if _, dup := p.byRef[c.BOMRef]; !dup {
			p.byRef[c.BOMRef] = pk
		}
	}
	if c.PackageURL != "" && c.PackageURL != c.BOMRef {
		if _, dup := p.byPURL[c.PackageURL]; !dup {
			p.byPURL[c.PackageURL] = pk
		}
	}
}

// componentPackage describes a component as a sextant.Package, using the
// properties Trivy and Syft add to name its type, source package, path and
// layer.
func componentPackage(c *cdx.Component) sextant.Package {
	pk := sextant.Package{Version: c.Version, PURL: c.PackageURL}
	var scannerType, layer, path string
	for _, pr := range props(c) {
		switch pr.Name {
		case "aquasecurity:trivy:PkgType":
			scannerType = pr.Value
		case "syft:package:type":
			if scannerType == "" {
				scannerType = pr.Value
			}
		case "aquasecurity:trivy:SrcName":
			pk.SourceName = pr.Value
		case "aquasecurity:trivy:LayerDiffID":
			pk.LayerDiffID = pr.Value
		case "aquasecurity:trivy:LayerDigest":
			pk.LayerDigest = pr.Value
		case "aquasecurity:trivy:FilePath":
			pk.Path = pr.Value
		case "syft:location:0:layerID":
			layer = pr.Value
		case "syft:location:0:path":
			path = pr.Value
		}
	}
	if pk.LayerDiffID == "" {
		pk.LayerDiffID = layer
	}
	if pk.Path == "" {
		pk.Path = path
	}
	u, ok := parsePURL(c.PackageURL)
	pk.Type = scannerType
	if pk.Type == "" && ok {
		pk.Type = u.Type
	}
	pk.Ecosystem = sextant.Ecosystem(pk.Type)
	if ok && u.Name != "" {
		pk.Name = purlName(pk.Ecosystem, u)
	} else {
		pk.Name = c.Name
		if c.Group != "" {
			sep := "/"
			if pk.Ecosystem == "maven" {
				sep = ":"
			}
			pk.Name = c.Group + sep + c.Name
		}
	}
	if pk.SourceName == "" && ok && sextant.OSEcosystem(pk.Ecosystem) {
		pk.SourceName = upstreamName(u)
	}
	if pk.SourceName == pk.Name {
		pk.SourceName = ""
	}
	return pk
}

// purlPackage describes a package from a PURL alone.
func purlPackage(s string) (sextant.Package, bool) {
	u, ok := parsePURL(s)
	if !ok || u.Name == "" {
		return sextant.Package{}, false
	}
	pk := sextant.Package{Type: u.Type, Ecosystem: sextant.Ecosystem(u.Type), Version: u.Version, PURL: s}
	pk.Name = purlName(pk.Ecosystem, u)
	if sextant.OSEcosystem(pk.Ecosystem) {
		pk.SourceName = upstreamName(u)
		if pk.SourceName == pk.Name {
			pk.SourceName = ""
		}
	}
	return pk, true
}

func parsePURL(s string) (packageurl.PackageURL, bool) {
	if !strings.HasPrefix(s, "pkg:") {
		return packageurl.PackageURL{}, false
	}
	u, err := packageurl.FromString(s)
	return u, err == nil
}

// purlVersion returns the version of a PURL, or "".
func purlVersion(s string) string {
	u, ok := parsePURL(s)
	if !ok {
		return ""
	}
	return u.Version
}

// purlName returns the package name other scanners use for a PURL: Maven
// "group:artifact", the bare name for OS packages (whose namespace is the
// distro), and "namespace/name" elsewhere (npm scopes, Go modules,
// Composer vendors).
func purlName(ecosystem string, u packageurl.PackageURL) string {
	switch {
	case u.Namespace == "" || sextant.OSEcosystem(ecosystem) || u.Type == "deb" || u.Type == "rpm" || u.Type == "apk" || u.Type == "alpm":
		return u.Name
	case ecosystem == "maven":
		return u.Namespace + ":" + u.Name
	}
	return u.Namespace + "/" + u.Name
}

// upstreamName returns the source package named by a PURL's upstream
// qualifier ("krb5", "krb5@1.17-3", "tar-1.26-35.el7.src.rpm").
func upstreamName(u packageurl.PackageURL) string {
	up := u.Qualifiers.Map()["upstream"]
	if strings.HasSuffix(up, ".src.rpm") {
		up = strings.TrimSuffix(up, ".src.rpm")
		for range 2 {
			if i := strings.LastIndexByte(up, '-'); i > 0 {
				up = up[:i]
			}
		}
	}
	up, _, _ = strings.Cut(up, "@")
	return strings.TrimSpace(up)
}
