package sbom

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// MediaType is the media type of the document, and the artifactType of the
// referrer that carries it.
const MediaType = "application/spdx+json"

// Document is an SPDX 2.3 document, the fields this package writes.
type Document struct {
	SPDXVersion       string         `json:"spdxVersion"`
	DataLicense       string         `json:"dataLicense"`
	SPDXID            string         `json:"SPDXID"`
	Name              string         `json:"name"`
	DocumentNamespace string         `json:"documentNamespace"`
	Comment           string         `json:"comment,omitempty"`
	CreationInfo      CreationInfo   `json:"creationInfo"`
	Packages          []SPDXPackage  `json:"packages"`
	Relationships     []Relationship `json:"relationships"`
}

// CreationInfo says who made the document and when.
type CreationInfo struct {
	Created  string   `json:"created"`
	Creators []string `json:"creators"`
	Comment  string   `json:"comment,omitempty"`
}

// SPDXPackage is an SPDX package.
type SPDXPackage struct {
	SPDXID                string        `json:"SPDXID"`
	Name                  string        `json:"name"`
	VersionInfo           string        `json:"versionInfo,omitempty"`
	Supplier              string        `json:"supplier,omitempty"`
	DownloadLocation      string        `json:"downloadLocation"`
	FilesAnalyzed         bool          `json:"filesAnalyzed"`
	Checksums             []Checksum    `json:"checksums,omitempty"`
	SourceInfo            string        `json:"sourceInfo,omitempty"`
	LicenseConcluded      string        `json:"licenseConcluded"`
	LicenseDeclared       string        `json:"licenseDeclared"`
	CopyrightText         string        `json:"copyrightText"`
	Comment               string        `json:"comment,omitempty"`
	ExternalRefs          []ExternalRef `json:"externalRefs,omitempty"`
	PrimaryPackagePurpose string        `json:"primaryPackagePurpose,omitempty"`
}

// Checksum is an SPDX checksum.
type Checksum struct {
	Algorithm     string `json:"algorithm"`
	ChecksumValue string `json:"checksumValue"`
}

// ExternalRef is an SPDX external reference; this package writes purls.
type ExternalRef struct {
	ReferenceCategory string `json:"referenceCategory"`
	ReferenceType     string `json:"referenceType"`
	ReferenceLocator  string `json:"referenceLocator"`
}

// Relationship is an SPDX relationship.
type Relationship struct {
	SPDXElementID      string `json:"spdxElementId"`
	RelationshipType   string `json:"relationshipType"`
	RelatedSPDXElement string `json:"relatedSpdxElement"`
}

// Image identifies the image the document describes.
type Image struct {
	// Digest is the image manifest's digest (for an index, the platform's
	// manifest, not the index).
	Digest v1.Hash
	// Platform is the image's platform.
	Platform v1.Platform
	// Repository is where the image is pushed, without tag or digest, as
	// "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app". Optional.
	Repository string
}

// Options say how the document is written.
type Options struct {
	// Created is the document's creation time. Required: pass a time that
	// is the same on a re-run with the same inputs (the image config's
	// creation time, or the commit time) to get the same bytes; pass the
	// injected clock's time for a document per run.
	Created time.Time
	// Tool names the creator, as "ecr-action-v1.4.0". Required.
	Tool string
	// NamespacePrefix is the URI the document namespace starts with.
	// Empty means DefaultNamespacePrefix.
	NamespacePrefix string
	// Repository is where the image is pushed, without tag or digest; it
	// names the described package and goes into its purl. Optional.
	Repository string
	// Limits bound what is read.
	Limits Limits
}

// DefaultNamespacePrefix starts the documentNamespace, followed by the
// tool and the image digest (SPDX 2.3 section 6.5 asks for a unique URI per
// document; the digest makes it unique per image, the tool per generator).
const DefaultNamespacePrefix = "https://spdx.org/spdxdocs/ecr-action"

// notRead is the document comment: what an empty list does not prove.
const notRead = "Packages read from the image's merged layers: dpkg (var/lib/dpkg/status, var/lib/dpkg/status.d/*), apk (lib/apk/db/installed), and the module lists of Go 1.18+ ELF executables' build information. Not read: rpm databases, other package managers' manifests (npm, pip, gem, jar, cargo, composer, nuget), files no package database lists, Go executables without build information or built before Go 1.18, hard and symbolic links. Licences are not concluded."

// Generate reads img once and returns its SPDX 2.3 JSON document and
// what it found. img is one platform's image (for an index, call it for
// each platform's image); platform is that image's platform, as the index
// lists it.
func Generate(ctx context.Context, img v1.Image, platform v1.Platform, opts Options) ([]byte, *Inventory, error) {
	digest, err := img.Digest()
	if err != nil {
		return nil, nil, fmt.Errorf("reading the image digest: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, nil, fmt.Errorf("reading the image's layers: %w", err)
	}
	inv, err := Scan(ctx, layers, opts.Limits)
	if err != nil {
		return nil, nil, err
	}
	doc, err := Build(inv, Image{Digest: digest, Platform: platform, Repository: opts.Repository}, opts)
	if err != nil {
		return nil, nil, err
	}
	b, err := doc.Encode()
	return b, inv, err
}

// Encode writes the document as indented JSON with a final newline.
func (d *Document) Encode() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Build writes the document for an inventory of an image.
func Build(inv *Inventory, img Image, opts Options) (*Document, error) {
	if img.Digest.Algorithm != "sha256" || len(img.Digest.Hex) != 64 {
		return nil, fmt.Errorf("image digest %q is not a sha256 digest", img.Digest)
	}
	if opts.Created.IsZero() {
		return nil, errors.New("sbom: Options.Created is required")
	}
	if opts.Tool == "" {
		return nil, errors.New("sbom: Options.Tool is required")
	}
	prefix := opts.NamespacePrefix
	if prefix == "" {
		prefix = DefaultNamespacePrefix
	}
	plat := platformString(img.Platform)
	imgName := img.Repository
	if imgName == "" {
		imgName = "image"
	}
	d := &Document{
		SPDXVersion:       "SPDX-2.3",
		DataLicense:       "CC0-1.0",
		SPDXID:            "SPDXRef-DOCUMENT",
		Name:              fmt.Sprintf("%s@%s %s", imgName, img.Digest, plat),
		DocumentNamespace: fmt.Sprintf("%s/%s/%s-%s", strings.TrimRight(prefix, "/"), urlSegment(opts.Tool), img.Digest.Algorithm, img.Digest.Hex),
		Comment:           notRead,
		CreationInfo: CreationInfo{
			Created:  opts.Created.UTC().Format("2006-01-02T15:04:05Z"),
			Creators: []string{"Tool: " + opts.Tool},
		},
	}
	if inv.OS.PrettyName != "" {
		d.CreationInfo.Comment = "Operating system: " + inv.OS.PrettyName
	}

	rootID := "SPDXRef-Image-" + img.Digest.Hex[:16]
	d.Packages = append(d.Packages, SPDXPackage{
		SPDXID:                rootID,
		Name:                  imgName,
		VersionInfo:           img.Digest.String(),
		DownloadLocation:      "NOASSERTION",
		Checksums:             []Checksum{{Algorithm: "SHA256", ChecksumValue: img.Digest.Hex}},
		LicenseConcluded:      "NOASSERTION",
		LicenseDeclared:       "NOASSERTION",
		CopyrightText:         "NOASSERTION",
		Comment:               "Image manifest " + img.Digest.String() + " for platform " + plat,
		ExternalRefs:          []ExternalRef{purlRef(ociPurl(img, imgName))},
		PrimaryPackagePurpose: "CONTAINER",
	})
	d.Relationships = append(d.Relationships, Relationship{"SPDXRef-DOCUMENT", "DESCRIBES", rootID})

	pkgs, rels := contents(inv, rootID)
	d.Packages = append(d.Packages, pkgs...)
	d.Relationships = append(d.Relationships, rels...)
	return d, nil
}

// contents are the packages the image holds (rootID CONTAINS each) and the
// Go modules each Go executable depends on, sorted, each once.
func contents(inv *Inventory, rootID string) ([]SPDXPackage, []Relationship) {
	var pkgs []SPDXPackage
	var rels []Relationship
	seen := map[string]bool{}
	add := func(p SPDXPackage) {
		if !seen[p.SPDXID] {
			seen[p.SPDXID] = true
			pkgs = append(pkgs, p)
		}
	}
	for _, p := range inv.Packages {
		purl := osPurl(p, inv.OS)
		sp := SPDXPackage{
			SPDXID:                spdxID("Package-"+p.Type, p.Name, purl+" "+p.Database),
			Name:                  p.Name,
			VersionInfo:           p.Version,
			DownloadLocation:      "NOASSERTION",
			SourceInfo:            "read from " + p.Database,
			LicenseConcluded:      "NOASSERTION",
			LicenseDeclared:       "NOASSERTION",
			CopyrightText:         "NOASSERTION",
			ExternalRefs:          []ExternalRef{purlRef(purl)},
			PrimaryPackagePurpose: "LIBRARY",
		}
		if p.License != "" {
			sp.Comment = "License declared by the package database: " + p.License
		}
		add(sp)
		rels = append(rels, Relationship{rootID, "CONTAINS", sp.SPDXID})
	}
	for _, b := range inv.GoBinaries {
		mainPurl := golangPurl(b.Main.Path, b.Main.Version)
		bin := SPDXPackage{
			SPDXID:                spdxID("GoBinary", path2name(b.Path), b.Path),
			Name:                  b.Main.Path,
			VersionInfo:           b.Main.Version,
			DownloadLocation:      "NOASSERTION",
			SourceInfo:            "Go build information of /" + b.Path,
			LicenseConcluded:      "NOASSERTION",
			LicenseDeclared:       "NOASSERTION",
			CopyrightText:         "NOASSERTION",
			Comment:               "Go executable /" + b.Path + " built with " + b.GoVersion,
			ExternalRefs:          []ExternalRef{purlRef(mainPurl)},
			PrimaryPackagePurpose: "APPLICATION",
		}
		add(bin)
		rels = append(rels, Relationship{rootID, "CONTAINS", bin.SPDXID})
		for _, m := range b.Deps {
			purl := golangPurl(m.Path, m.Version)
			mp := SPDXPackage{
				SPDXID:                spdxID("GoModule", m.Path, purl),
				Name:                  m.Path,
				VersionInfo:           m.Version,
				DownloadLocation:      "NOASSERTION",
				LicenseConcluded:      "NOASSERTION",
				LicenseDeclared:       "NOASSERTION",
				CopyrightText:         "NOASSERTION",
				ExternalRefs:          []ExternalRef{purlRef(purl)},
				PrimaryPackagePurpose: "LIBRARY",
			}
			var notes []string
			if m.Sum != "" {
				notes = append(notes, "go.sum hash "+m.Sum)
			}
			if m.Replaced != "" {
				notes = append(notes, "replaced: "+m.Replaced)
			}
			mp.Comment = strings.Join(notes, "; ")
			add(mp)
			rels = append(rels, Relationship{bin.SPDXID, "DEPENDS_ON", mp.SPDXID})
		}
	}
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].SPDXID < pkgs[j].SPDXID })
	sort.Slice(rels, func(i, j int) bool {
		a, b := rels[i], rels[j]
		if a.SPDXElementID != b.SPDXElementID {
			return a.SPDXElementID < b.SPDXElementID
		}
		if a.RelationshipType != b.RelationshipType {
			return a.RelationshipType < b.RelationshipType
		}
		return a.RelatedSPDXElement < b.RelatedSPDXElement
	})
	rels = dedupRels(rels)
	return pkgs, rels
}

func dedupRels(r []Relationship) []Relationship {
	out := r[:0]
	for i, x := range r {
		if i > 0 && x == r[i-1] {
			continue
		}
		out = append(out, x)
	}
	return out
}

func purlRef(purl string) ExternalRef {
	return ExternalRef{ReferenceCategory: "PACKAGE-MANAGER", ReferenceType: "purl", ReferenceLocator: purl}
}

// spdxID is "SPDXRef-<kind>-<readable>-<hash>": readable from name, the
// hash of key so that two packages differing only in what the readable part
// drops get different IDs, and the same package always the same one.
func spdxID(kind, name, key string) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + key))
	var b strings.Builder
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-':
			b.WriteRune(c)
		default:
			b.WriteByte('-')
		}
	}
	readable := b.String()
	if len(readable) > 64 {
		readable = readable[:64]
	}
	return "SPDXRef-" + kind + "-" + readable + "-" + hex.EncodeToString(sum[:6])
}

func path2name(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// urlSegment keeps a tool name usable in a URI path.
func urlSegment(s string) string { return purlEscape(s) }
