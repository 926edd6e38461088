package main

import (
	"archive/tar"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// TestMakeImage builds the image with make image and checks it from the
// outside: one index of linux/amd64 and linux/arm64, each the manager
// alone on an empty base, user 65532, entrypoint /manager, the OCI
// labels; the amd64 binary taken out of its layer runs, and trusts the
// public CAs with no certificate store on the filesystem (the image has
// none) while refusing a certificate nobody signed. The Dockerfile says the
// same.
func TestMakeImage(t *testing.T) {
	out := t.TempDir()
	cmd := exec.Command("make", "image", "IMAGE_OUT="+out, "VERSION=9.8.7")
	cmd.Dir = filepath.Join("..", "..")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make image: %v\n%s", err, b)
	}

	top, err := layout.ImageIndexFromPath(filepath.Join(out, "oci"))
	if err != nil {
		t.Fatal(err)
	}
	topManifest, err := top.IndexManifest()
	if err != nil || len(topManifest.Manifests) != 1 || topManifest.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "9.8.7" {
		t.Fatalf("layout index: %+v %v", topManifest, err)
	}
	idx, err := top.ImageIndex(topManifest.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var platforms []string
	var amd64 v1.Image
	for _, d := range im.Manifests {
		platforms = append(platforms, d.Platform.OS+"/"+d.Platform.Architecture)
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Architecture != d.Platform.Architecture || cfg.OS != "linux" || cfg.Config.User != "65532:65532" || !slices.Equal(cfg.Config.Entrypoint, []string{"/manager"}) {
			t.Errorf("%s config: %+v", d.Platform, cfg.Config)
		}
		for k, want := range map[string]string{"org.opencontainers.image.version": "9.8.7", "org.opencontainers.image.title": "spaces-operator"} {
			if cfg.Config.Labels[k] != want {
				t.Errorf("%s label %s = %q", d.Platform, k, cfg.Config.Labels[k])
			}
		}
		for _, k := range []string{"source", "revision", "created", "description", "licenses"} {
			if _, ok := cfg.Config.Labels["org.opencontainers.image."+k]; !ok {
				t.Errorf("%s: no label org.opencontainers.image.%s", d.Platform, k)
			}
		}
		if files := layerFiles(t, img); len(files) != 1 || files[0] != "manager" {
			t.Errorf("%s holds %q, want only the manager", d.Platform, files)
		}
		if d.Platform.Architecture == "amd64" {
			amd64 = img
		}
	}
	if !slices.Equal(platforms, Platforms) {
		t.Fatalf("platforms %q, want %q", platforms, Platforms)
	}

	manager := filepath.Join(t.TempDir(), "manager")
	if err := os.WriteFile(manager, extract(t, amd64, "manager"), 0o755); err != nil {
		t.Fatal(err)
	}
	help, _ := exec.Command(manager, "--help").CombinedOutput()
	if !strings.Contains(string(help), "-api-url") || !strings.Contains(string(help), "-verify-certificates") {
		t.Fatalf("manager --help:\n%s", help)
	}
	// No certificate store: what is trusted is what the binary carries.
	noStore := []string{"SSL_CERT_FILE=/nonexistent/cert.pem", "SSL_CERT_DIR=/nonexistent"}
	run := func(pemFile string) (string, int) {
		c := exec.Command(manager, "--verify-certificates", pemFile)
		c.Env = noStore
		b, err := c.CombinedOutput()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return string(b), exit.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(b), 0
	}
	if out, code := run(filepath.Join("testdata", "isrg-root-x1.pem")); code != 0 || !strings.Contains(out, "trusted: CN=ISRG Root X1") {
		t.Fatalf("a public root is not trusted without a store (exit %d): %s", code, out)
	}
	if out, code := run(selfSigned(t)); code != 1 || !strings.Contains(out, "untrusted") {
		t.Fatalf("a self-signed certificate is trusted (exit %d): %s", code, out)
	}

	// The tarball is the layout.
	names := tarNames(t, filepath.Join(out, "spaces-operator.oci.tar"))
	for _, want := range []string{"oci-layout", "index.json"} {
		if !slices.Contains(names, want) {
			t.Errorf("the tarball lacks %s: %q", want, names)
		}
	}

	dockerfile, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\nFROM scratch\n", "\nUSER 65532:65532\n", "\nENTRYPOINT [\"/manager\"]\n", "org.opencontainers.image.source", "org.opencontainers.image.version", "-ldflags=\"-s -w\""} {
		if !strings.Contains(string(dockerfile), want) {
			t.Errorf("the Dockerfile lacks %q, which make image has", want)
		}
	}
	if regexp.MustCompile(`(?m)^FROM .*distroless`).Match(dockerfile) {
		t.Error("the Dockerfile's image is based on distroless, make image's on nothing")
	}
}

func layerFiles(t *testing.T, img v1.Image) []string {
	t.Helper()
	var names []string
	eachFile(t, img, func(h *tar.Header, _ io.Reader) { names = append(names, h.Name) })
	return names
}

func extract(t *testing.T, img v1.Image, name string) []byte {
	t.Helper()
	var data []byte
	eachFile(t, img, func(h *tar.Header, r io.Reader) {
		if h.Name == name {
			data, _ = io.ReadAll(r)
		}
	})
	if data == nil {
		t.Fatalf("no %s in the image", name)
	}
	return data
}

func eachFile(t *testing.T, img v1.Image, f func(*tar.Header, io.Reader)) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			f(h, tr)
		}
		rc.Close()
	}
}

func tarNames(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
}

// selfSigned writes a certificate nobody trusts.
func selfSigned(t *testing.T) string {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "nobody's CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "self-signed.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
