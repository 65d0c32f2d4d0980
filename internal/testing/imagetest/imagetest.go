// Package imagetest writes image fixtures the way other tools write them:
// `docker save` tarballs with uncompressed layers, and OCI image layouts.
package imagetest

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// WriteDockerSave writes img to path in the classic `docker save` format:
// manifest.json, the config as <hex>.json and each layer uncompressed as
// <diffid hex>/layer.tar. A layer that repeats is written once, as docker
// save does, with a symbolic link for the repeat.
func WriteDockerSave(path string, img v1.Image, repoTag string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := writeDockerSave(f, img, repoTag); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeDockerSave(w io.Writer, img v1.Image, repoTag string) error {
	tw := tar.NewWriter(w)
	cfgName, err := img.ConfigName()
	if err != nil {
		return err
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	cfgFile := cfgName.Hex + ".json"
	if err := writeFile(tw, cfgFile, raw); err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	seen := map[v1.Hash]string{}
	var names []string
	for i, l := range layers {
		diffID, err := l.DiffID()
		if err != nil {
			return err
		}
		name := fmt.Sprintf("%s/layer.tar", diffID.Hex)
		if _, ok := seen[diffID]; ok {
			link := fmt.Sprintf("repeat%d/layer.tar", i)
			if err := tw.WriteHeader(&tar.Header{Name: link, Typeflag: tar.TypeSymlink, Linkname: "../" + name, Mode: 0o644}); err != nil {
				return err
			}
			names = append(names, link)
			continue
		}
		seen[diffID] = name
		names = append(names, name)
		size, err := uncompressedSize(l)
		if err != nil {
			return err
		}
		rc, err := l.Uncompressed()
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Size: size, Mode: 0o644, Typeflag: tar.TypeReg}); err != nil {
			rc.Close()
			return err
		}
		if _, err := io.Copy(tw, rc); err != nil {
			rc.Close()
			return err
		}
		rc.Close()
	}
	var tags []string
	if repoTag != "" {
		tags = []string{repoTag}
	}
	m, err := json.Marshal([]map[string]any{{"Config": cfgFile, "RepoTags": tags, "Layers": names}})
	if err != nil {
		return err
	}
	if err := writeFile(tw, "manifest.json", m); err != nil {
		return err
	}
	return tw.Close()
}

func uncompressedSize(l v1.Layer) (int64, error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	return io.Copy(io.Discard, rc)
}

func writeFile(tw *tar.Writer, name string, b []byte) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Size: int64(len(b)), Mode: 0o644, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err := tw.Write(b)
	return err
}
