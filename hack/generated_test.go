// Package hack holds the scripts that build and check the project; this test
// fails when the committed generated files (deepcopy, CRDs, RBAC) are not what
// `make generate manifests` would write from the current markers.
package hack

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/avayacloud/spaces-operator/internal/testenv"
)

func TestGeneratedFilesAreFresh(t *testing.T) {
	root := testenv.RepoRoot()
	readMarkerSources(t, root)
	tmp := t.TempDir()
	out := func(s string) string { return filepath.Join(tmp, s) }

	// The same generators and options as the Makefile's generate and
	// manifests targets, writing into tmp instead of the tree.
	cmd := exec.Command("go", "tool", "controller-gen",
		"object:headerFile=hack/boilerplate.go.txt", "paths=./...", "output:object:dir="+out("object"),
		"rbac:roleName=manager-role", "crd", "output:crd:dir="+out("crd"), "output:rbac:dir="+out("rbac"))
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("controller-gen: %v\n%s", err, b)
	}

	compareDirs(t, out("object"), filepath.Join(root, "api", "v1alpha1"), "zz_generated.deepcopy.go")
	compareDirs(t, out("crd"), filepath.Join(root, "config", "crd", "bases"), "*.yaml")
	compareDirs(t, out("rbac"), filepath.Join(root, "config", "rbac"), "role.yaml")
}

// readMarkerSources reads the Go files the markers live in. controller-gen
// reads them in a subprocess, which go test's result cache cannot see; reading
// them here makes a cached pass impossible once a marker changes.
func readMarkerSources(t *testing.T, root string) {
	t.Helper()
	for _, dir := range []string{"api", "internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || filepath.Ext(path) != ".go" {
				return err
			}
			_, err = os.ReadFile(path)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// compareDirs requires the files matching pattern to be the same, by name and
// content, in the freshly generated and the committed folder.
func compareDirs(t *testing.T, generated, committed, pattern string) {
	t.Helper()
	want, _ := filepath.Glob(filepath.Join(generated, pattern))
	got, _ := filepath.Glob(filepath.Join(committed, pattern))
	if len(want) == 0 {
		t.Fatalf("controller-gen wrote no %s into %s", pattern, generated)
	}
	names := map[string]bool{}
	for _, f := range got {
		names[filepath.Base(f)] = true
	}
	for _, f := range want {
		name := filepath.Base(f)
		if !names[name] {
			t.Errorf("%s is missing: run `make generate manifests` and commit the result", filepath.Join(committed, name))
			continue
		}
		delete(names, name)
		fresh, _ := os.ReadFile(f)
		old, err := os.ReadFile(filepath.Join(committed, name))
		if err != nil || !bytes.Equal(fresh, old) {
			t.Errorf("%s is stale: run `make generate manifests` and commit the result", filepath.Join(committed, name))
		}
	}
	for name := range names {
		t.Errorf("%s is no longer generated: delete it", filepath.Join(committed, name))
	}
}
