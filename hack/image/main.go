// Command image builds the operator's OCI image without a container engine
// (make image): the static manager binary for linux/amd64 and
// linux/arm64 on an empty base, user 65532, entrypoint /manager and the
// org.opencontainers.image labels, in one index. Nothing is pulled from a
// registry; the public CA roots are compiled into the binary, so the image
// needs no certificate store. It writes an OCI layout directory (for
// `crane push DIR` or `skopeo copy oci:DIR docker://...`) and the same
// layout as a tarball (for `docker load`, `podman load`).
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Platforms the image is built for.
var Platforms = []string{"linux/amd64", "linux/arm64"}

// The user the manager runs as (the distroless "nonroot" uid).
const imageUser = "65532:65532"

func main() {
	out := flag.String("out", "dist/image", "Directory to write the OCI layout (out/oci) and its tarball (out/spaces-operator.oci.tar) into.")
	version := flag.String("version", "0.0.0", "Version, for the labels and the reference in the layout.")
	revision := flag.String("revision", "", "Source revision (git commit), for the labels.")
	source := flag.String("source", "https://github.com/avayacloud/spaces-operator", "Source repository, for the labels.")
	flag.Parse()
	if err := build(*out, *version, *revision, *source); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func build(out, version, revision, source string) error {
	created := buildTime()
	labels := map[string]string{
		"org.opencontainers.image.title":       "spaces-operator",
		"org.opencontainers.image.description": "Kubernetes operator keeping Avaya Spaces in step with Space, SpaceInvite and ServiceAccountUserSet objects",
		"org.opencontainers.image.source":      source,
		"org.opencontainers.image.version":     version,
		"org.opencontainers.image.revision":    revision,
		"org.opencontainers.image.created":     created.UTC().Format(time.RFC3339),
		"org.opencontainers.image.licenses":    "Apache-2.0",
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, platform := range Platforms {
		goos, goarch, _ := strings.Cut(platform, "/")
		binary, err := compile(goos, goarch)
		if err != nil {
			return err
		}
		img, err := image(binary, goos, goarch, labels, created)
		if err != nil {
			return err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: goos, Architecture: goarch}}})
	}
	dir := filepath.Join(out, "oci")
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": version,
		"io.containerd.image.name":          "spaces-operator:v" + version,
	})); err != nil {
		return err
	}
	archive := filepath.Join(out, "spaces-operator.oci.tar")
	if err := tarDir(dir, archive); err != nil {
		return err
	}
	digest, err := idx.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("image: wrote %s and %s (index %s; %s)\n", dir, archive, digest, strings.Join(Platforms, ", "))
	return nil
}

// buildTime is SOURCE_DATE_EPOCH when set (reproducible builds), else the
// last commit's time, else now.
func buildTime() time.Time {
	if v := os.Getenv("SOURCE_DATE_EPOCH"); v != "" {
		if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
			return time.Unix(secs, 0)
		}
	}
	if b, err := exec.Command("git", "log", "-1", "--format=%ct").Output(); err == nil {
		if secs, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil {
			return time.Unix(secs, 0)
		}
	}
	return time.Now()
}

// compile builds the static manager binary, as the Dockerfile does.
func compile(goos, goarch string) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "manager-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "manager")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./cmd")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("building the manager for %s/%s: %w", goos, goarch, err)
	}
	return os.ReadFile(bin)
}

// image is one platform's image: an empty base, one layer holding /manager.
func image(binary []byte, goos, goarch string, labels map[string]string, created time.Time) (v1.Image, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "manager", Mode: 0o755, Size: int64(len(binary)), ModTime: created, Typeflag: tar.TypeReg, Uname: "root", Gname: "root"}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(binary); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, History: v1.History{Created: v1.Time{Time: created}, CreatedBy: "make image: COPY manager /manager"}})
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Created = goos, goarch, v1.Time{Time: created}
	cfg.Config = v1.Config{User: imageUser, Entrypoint: []string{"/manager"}, WorkingDir: "/", Labels: labels,
		Env: []string{"PATH=/"}}
	return mutate.ConfigFile(img, cfg)
}

// tarDir writes dir's files into a tarball at path, names relative to dir.
func tarDir(dir, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if d.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return f.Close()
}
