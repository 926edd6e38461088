package v1alpha1_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/avayacloud/spaces-operator/internal/testenv"
)

// TestKubectlExplainDocumentsEveryField runs kubectl against the envtest API
// server: for each path, every field the CRD schema has there must be listed
// with its whole description.
func TestKubectlExplainDocumentsEveryField(t *testing.T) {
	kubectl, kubeconfig := kubectlFor(t)
	cases := []struct {
		crd, explain string
		path         []string
	}{
		{"spaces", "space.spec", []string{"spec"}},
		{"spaces", "space.spec.settings", []string{"spec", "settings"}},
		{"spaces", "space.spec.settings.messageRetention", []string{"spec", "settings", "messageRetention"}},
		{"spaces", "space.status", []string{"status"}},
		{"spaceinvites", "spaceinvite.spec", []string{"spec"}},
		{"spaceinvites", "spaceinvite.spec.invitees", []string{"spec", "invitees"}},
		{"spaceinvites", "spaceinvite.status.invitees", []string{"status", "invitees"}},
		{"clusterspacesaccounts", "clusterspacesaccount.spec", []string{"spec"}},
		{"clusterspacesaccounts", "clusterspacesaccount.spec.allow", []string{"spec", "allow"}},
		{"clusterspacesaccounts", "clusterspacesaccount.spec.secretRef", []string{"spec", "secretRef"}},
		{"clusterspacesaccounts", "clusterspacesaccount.status", []string{"status"}},
		{"serviceaccountusersets", "serviceaccountuserset.spec", []string{"spec"}},
		{"serviceaccountusersets", "serviceaccountuserset.spec.users", []string{"spec", "users"}},
		{"serviceaccountusersets", "serviceaccountuserset.status.users", []string{"status", "users"}},
	}
	for _, tc := range cases {
		t.Run(tc.explain, func(t *testing.T) {
			props := schemaAt(t, tc.crd, tc.path)
			if len(props) == 0 {
				t.Fatalf("the CRD has no fields at %v", tc.path)
			}
			out := explain(t, kubectl, kubeconfig, tc.explain)
			if os.Getenv("SHOW_EXPLAIN") != "" {
				t.Log(out)
			}
			flat := strings.Join(strings.Fields(out), " ")
			names := make([]string, 0, len(props))
			for name := range props {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				desc := strings.Join(strings.Fields(props[name].Description), " ")
				if desc == "" {
					t.Errorf("%s.%s has no description", tc.explain, name)
					continue
				}
				if !strings.Contains(out, "  "+name+"\t") && !strings.Contains(out, "  "+name+" ") {
					t.Errorf("kubectl explain %s does not list %s:\n%s", tc.explain, name, out)
				}
				if !strings.Contains(flat, desc) {
					t.Errorf("kubectl explain %s does not show the description of %s (%q):\n%s", tc.explain, name, desc, out)
				}
			}
		})
	}
}

// TestKubectlGetShowsAllKindsWithColumns: the avayaspaces category lists all
// three kinds, by their short names too, with the printer columns users rely on.
func TestKubectlGetShowsAllKindsWithColumns(t *testing.T) {
	kubectl, kubeconfig := kubectlFor(t)
	ns := newNamespace(t)
	ctx := context.Background()
	for _, o := range []*unstructured.Unstructured{
		object(t, ns, "Space", validSpace),
		object(t, ns, "SpaceInvite", validInvite),
		object(t, ns, "ServiceAccountUserSet", validUsers),
	} {
		if err := k8sClient.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"get", "avayaspaces"}, []string{"space.spaces.avayacloud.com/space-", "spaceinvite.spaces.avayacloud.com/spaceinvite-", "serviceaccountuserset.spaces.avayacloud.com/serviceaccountuserset-"}},
		{[]string{"get", "sp", "-o", "wide"}, []string{"TITLE", "READY", "REASON", "SPACE ID", "MEMBERS", "URL", "AGE", "Payments"}},
		{[]string{"get", "spi"}, []string{"SPACE", "READY", "REASON", "SPACE ID", "JOINED", "TOTAL", "AGE", "payments"}},
		{[]string{"get", "sau"}, []string{"READY", "REASON", "SYNCED", "TOTAL", "AGE"}},
	}
	for _, tc := range cases {
		args := append([]string{"--kubeconfig", kubeconfig, "-n", ns}, tc.args...)
		out, err := exec.Command(kubectl, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %v: %v\n%s", tc.args, err, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("kubectl %v does not show %q:\n%s", tc.args, w, out)
			}
		}
	}
}

func kubectlFor(t *testing.T) (kubectl, kubeconfig string) {
	t.Helper()
	kubeconfig, err := env.Kubeconfig(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return env.Kubectl(), kubeconfig
}

// explain runs kubectl explain, retrying while the API server publishes the
// CRDs' OpenAPI, which it does a few seconds after they are installed.
func explain(t *testing.T, kubectl, kubeconfig, what string) string {
	t.Helper()
	var out []byte
	var err error
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		cmd := exec.Command(kubectl, "--kubeconfig", kubeconfig, "explain", what, "--api-version=spaces.avayacloud.com/v1alpha1")
		if out, err = cmd.CombinedOutput(); err == nil {
			return string(out)
		}
	}
	t.Fatalf("kubectl explain %s: %v\n%s", what, err, out)
	return ""
}

// schemaAt returns the properties of the committed CRD's schema at path.
func schemaAt(t *testing.T, plural string, path []string) map[string]apiextv1.JSONSchemaProps {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "crd", "bases", "spaces.avayacloud.com_"+plural+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextv1.CustomResourceDefinition
	if err := yaml.Unmarshal(data, &crd); err != nil {
		t.Fatal(err)
	}
	s := *crd.Spec.Versions[0].Schema.OpenAPIV3Schema
	for _, p := range path {
		s = s.Properties[p]
		if s.Items != nil && s.Items.Schema != nil {
			s = *s.Items.Schema
		}
	}
	return s.Properties
}
