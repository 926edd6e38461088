// Package charts tests the Helm chart: it renders with every documented
// option, lints, applies to a real API server, cannot drift from config/,
// and its namespaced install is enough for the manager to work with no
// cluster-wide access to Secrets.
package charts

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	chartcommon "helm.sh/helm/v4/pkg/chart/common"
	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/yaml"

	"github.com/avayacloud/spaces-operator/internal/stack"
)

const chartDir = "spaces-operator"

// options are the documented value sets the chart is rendered with.
var options = map[string]string{
	"defaults":     ``,
	"namespaced":   `watchNamespaces: [team-a, team-b]`,
	"no metrics":   `metrics: {enabled: false}`,
	"with account": "account: {create: true, name: corp, secretName: corp-key, namespaceSelector: {matchLabels: {team: a}}, emailDomains: [corp.example], allow: {createSpaces: true, invite: true}}",
	"one replica":  `{replicas: 1, leaderElection: false, podDisruptionBudget: {enabled: false}, networkPolicy: {enabled: false}, admissionPolicy: {enabled: false}}`,
	"monitoring":   `metrics: {serviceMonitor: {enabled: true}, prometheusRule: {enabled: true}, grafanaDashboard: {enabled: true}}`,
}

const releaseNamespace = "spaces-system"

// render renders the chart's templates with values (YAML) into objects.
func render(t *testing.T, values string) []*unstructured.Unstructured {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]any{}
	if err := yaml.Unmarshal([]byte(values), &vals); err != nil {
		t.Fatal(err)
	}
	rv, err := chartutil.ToRenderValues(ch, vals, chartcommon.ReleaseOptions{Name: "spaces-operator", Namespace: releaseNamespace, IsInstall: true}, chartcommon.DefaultCapabilities)
	if err != nil {
		t.Fatal(err)
	}
	files, err := engine.Render(ch, rv)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	var out []*unstructured.Unstructured
	for _, name := range names {
		if !strings.HasSuffix(name, ".yaml") {
			continue
		}
		for _, doc := range strings.Split(files[name], "\n---") {
			obj := map[string]any{}
			if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
				t.Fatalf("%s: %v\n%s", name, err, doc)
			}
			if len(obj) > 0 {
				out = append(out, &unstructured.Unstructured{Object: obj})
			}
		}
	}
	return out
}

func toYAML(t *testing.T, objs []*unstructured.Unstructured) string {
	t.Helper()
	var b strings.Builder
	for _, o := range objs {
		y, err := yaml.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	return b.String()
}

func kinds(objs []*unstructured.Unstructured) map[string]int {
	out := map[string]int{}
	for _, o := range objs {
		out[o.GetKind()]++
	}
	return out
}

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && (name == "" || o.GetName() == name) {
			return o
		}
	}
	return nil
}

func managerArgs(t *testing.T, objs []*unstructured.Unstructured) []string {
	t.Helper()
	d := find(objs, "Deployment", "")
	if d == nil {
		t.Fatal("no Deployment")
	}
	cs, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	args, _, _ := unstructured.NestedStringSlice(cs[0].(map[string]any), "args")
	return args
}

// TestChart_FilesMatchConfig: the chart's CRDs, the manager's rules and the
// admission policy are config/'s, byte for byte (make chart copies them).
func TestChart_FilesMatchConfig(t *testing.T) {
	crds, _ := filepath.Glob("../config/crd/bases/*.yaml")
	inChart, _ := filepath.Glob(chartDir + "/crds/*.yaml")
	if len(crds) == 0 || len(crds) != len(inChart) {
		t.Fatalf("%d CRDs in config/, %d in the chart; run make chart", len(crds), len(inChart))
	}
	pairs := map[string]string{
		"../config/rbac/role.yaml":                         chartDir + "/files/manager-role.yaml",
		"../config/policy/bookkeeping.yaml":                chartDir + "/files/bookkeeping.yaml",
		"../config/prometheus/rules.yaml":                  chartDir + "/files/prometheus-rules.yaml",
		"../config/grafana/spaces-operator-dashboard.json": chartDir + "/files/grafana-dashboard.json",
	}
	for _, c := range crds {
		pairs[c] = chartDir + "/crds/" + filepath.Base(c)
	}
	for src, dst := range pairs {
		a, errA := os.ReadFile(src)
		b, errB := os.ReadFile(dst)
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs from %s (%v, %v); run make chart", dst, src, errA, errB)
		}
	}
	// The chart's versions are the Makefile's.
	mk, _ := os.ReadFile("../Makefile")
	chartYAML, _ := os.ReadFile(chartDir + "/Chart.yaml")
	var version string
	for _, line := range strings.Split(string(mk), "\n") {
		if v, ok := strings.CutPrefix(line, "VERSION ?= "); ok {
			version = strings.TrimSpace(v)
		}
	}
	if version == "" || !strings.Contains(string(chartYAML), "\nappVersion: v"+version+"\n") || !strings.Contains(string(chartYAML), "\nversion: "+version+"\n") {
		t.Errorf("Chart.yaml does not carry the Makefile's VERSION %q", version)
	}
}

func TestChart_Lints(t *testing.T) {
	for name, values := range options {
		vals := map[string]any{}
		if err := yaml.Unmarshal([]byte(values), &vals); err != nil {
			t.Fatal(err)
		}
		linter := lint.RunAll(chartDir, vals, releaseNamespace)
		for _, m := range linter.Messages {
			if m.Severity >= support.WarningSev {
				t.Errorf("%s: %s", name, m)
			}
		}
	}
}

// TestChart_RendersEachOption checks what each option changes.
func TestChart_RendersEachOption(t *testing.T) {
	def := render(t, options["defaults"])
	k := kinds(def)
	for kind, want := range map[string]int{"Deployment": 1, "ServiceAccount": 1, "ClusterRole": 2, "ClusterRoleBinding": 1, "Role": 1, "RoleBinding": 1,
		"Service": 1, "NetworkPolicy": 1, "PodDisruptionBudget": 1, "ValidatingAdmissionPolicy": 1, "ValidatingAdmissionPolicyBinding": 1} {
		if k[kind] != want {
			t.Errorf("defaults: %d %s, want %d (%v)", k[kind], kind, want, k)
		}
	}
	args := strings.Join(managerArgs(t, def), " ")
	for _, want := range []string{"--leader-elect", "--metrics-bind-address=:8443", "--zap-log-level=info", "--api-timeout=30s"} {
		if !strings.Contains(args, want) {
			t.Errorf("defaults: args %q lack %s", args, want)
		}
	}
	d := find(def, "Deployment", "")
	image, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	if img := image[0].(map[string]any)["image"]; img != "ghcr.io/avayacloud/spaces-operator:v0.1.0" {
		t.Errorf("image %v, want the chart's appVersion as tag", img)
	}
	if g, _, _ := unstructured.NestedFieldNoCopy(d.Object, "spec", "template", "spec", "terminationGracePeriodSeconds"); fmt.Sprint(g) != "75" {
		t.Errorf("grace period %v, want 75 (30 s shutdown + 30 s request + margin)", g)
	}
	vap := find(def, "ValidatingAdmissionPolicy", "")
	if y := toYAML(t, []*unstructured.Unstructured{vap}); !strings.Contains(y, "system:serviceaccount:spaces-system:spaces-operator-controller-manager") {
		t.Errorf("the admission policy does not exempt this release's service account:\n%s", y)
	}
	cr := find(def, "ClusterRole", "spaces-operator-manager")
	if y := toYAML(t, []*unstructured.Unstructured{cr}); !strings.Contains(y, "secrets") {
		t.Error("the cluster-wide install grants no Secret access")
	}

	ns := render(t, options["namespaced"])
	if args := strings.Join(managerArgs(t, ns), " "); !strings.Contains(args, "--watch-namespaces=team-a,team-b") {
		t.Errorf("namespaced: args %q", args)
	}
	roles := map[string]bool{}
	for _, o := range ns {
		switch o.GetKind() {
		case "ClusterRole":
			rules, _, _ := unstructured.NestedSlice(o.Object, "rules")
			for _, r := range rules {
				res, _, _ := unstructured.NestedStringSlice(r.(map[string]any), "resources")
				for _, x := range res {
					if x == "secrets" || x == "spaces" || x == "events" {
						t.Errorf("namespaced: ClusterRole %s grants %s cluster-wide", o.GetName(), x)
					}
				}
			}
		case "Role":
			if o.GetName() == "spaces-operator-manager" {
				roles[o.GetNamespace()] = true
			}
		}
	}
	for _, want := range []string{"team-a", "team-b", releaseNamespace} {
		if !roles[want] {
			t.Errorf("namespaced: no manager Role in %s (%v)", want, roles)
		}
	}

	noMetrics := render(t, options["no metrics"])
	if find(noMetrics, "Service", "") != nil || find(noMetrics, "ClusterRole", "spaces-operator-metrics-reader") != nil {
		t.Error("no metrics: a metrics Service or reader role is rendered")
	}
	if args := strings.Join(managerArgs(t, noMetrics), " "); !strings.Contains(args, "--metrics-bind-address=0") {
		t.Errorf("no metrics: args %q", args)
	}

	acct := find(render(t, options["with account"]), "ClusterSpacesAccount", "corp")
	if acct == nil {
		t.Fatal("with account: no ClusterSpacesAccount")
	}
	if ns, _, _ := unstructured.NestedString(acct.Object, "spec", "secretRef", "namespace"); ns != releaseNamespace {
		t.Errorf("with account: secret namespace %q", ns)
	}

	one := kinds(render(t, options["one replica"]))
	for _, kind := range []string{"PodDisruptionBudget", "NetworkPolicy", "ValidatingAdmissionPolicy"} {
		if one[kind] != 0 {
			t.Errorf("one replica: %s rendered though disabled", kind)
		}
	}
	monitored := render(t, options["monitoring"])
	for _, kind := range []string{"ServiceMonitor", "PrometheusRule", "ConfigMap"} {
		if find(monitored, kind, "") == nil {
			t.Errorf("monitoring: no %s", kind)
		}
	}
	rulesDoc, _ := os.ReadFile("../config/prometheus/rules.yaml")
	var shipped map[string]any
	if err := yaml.Unmarshal(rulesDoc, &shipped); err != nil {
		t.Fatal(err)
	}
	if rule := find(monitored, "PrometheusRule", ""); rule != nil && !reflect.DeepEqual(rule.Object["spec"], shipped["spec"]) {
		t.Error("monitoring: the chart's PrometheusRule spec is not config/prometheus/rules.yaml's")
	}
	if cm := find(monitored, "ConfigMap", ""); cm != nil {
		dash, _, _ := unstructured.NestedString(cm.Object, "data", "spaces-operator.json")
		want, _ := os.ReadFile("../config/grafana/spaces-operator-dashboard.json")
		if strings.TrimSpace(dash) != strings.TrimSpace(string(want)) || cm.GetLabels()["grafana_dashboard"] != "1" {
			t.Error("monitoring: the dashboard ConfigMap does not hold config/grafana's dashboard, labelled for the Grafana sidecar")
		}
	}
	if k := kinds(render(t, options["defaults"])); k["PrometheusRule"] != 0 || k["ConfigMap"] != 0 {
		t.Error("defaults: alerts or dashboard rendered though off by default")
	}
}

// TestChart_AppliesAndRunsNamespaced applies every render by server-side
// dry run to a real API server; then installs the namespaced render for
// real and runs the manager as its service account: Spaces in the watched
// namespaces become Ready, one outside is never touched, and the service
// account cannot read Secrets anywhere else.
func TestChart_AppliesAndRunsNamespaced(t *testing.T) {
	ctrllog.SetLogger(logr.Discard())
	st, stop, err := stack.StartInTemp("chart")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	ctx := context.Background()
	for _, ns := range []string{releaseNamespace, "team-a", "team-b", "team-c"} {
		if _, err := st.Kubectl(ctx, "", "create", "namespace", ns); err != nil {
			t.Fatal(err)
		}
	}
	for name, values := range options {
		objs := render(t, values)
		var apply []*unstructured.Unstructured
		for _, o := range objs {
			if o.GetKind() != "ServiceMonitor" && o.GetKind() != "PrometheusRule" { // their CRDs are the Prometheus operator's
				apply = append(apply, o)
			}
		}
		if out, err := st.Kubectl(ctx, toYAML(t, apply), "apply", "--server-side", "--dry-run=server", "-f", "-"); err != nil {
			t.Errorf("%s: server-side dry run refused: %v\n%s", name, err, out)
		}
	}

	checkRuleScopes(t, st, render(t, options["namespaced"]))

	var rbac []*unstructured.Unstructured
	for _, o := range render(t, options["namespaced"]) {
		switch o.GetKind() {
		case "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding":
			rbac = append(rbac, o)
		}
	}
	if out, err := st.Kubectl(ctx, toYAML(t, rbac), "apply", "--server-side", "-f", "-"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	sa := "spaces-operator-controller-manager"
	kubeconfig, err := st.KubeconfigAs(releaseNamespace, sa)
	if err != nil {
		t.Fatal(err)
	}
	kc := kubernetes.NewForConfigOrDie(st.Env.Config)
	for _, check := range []struct {
		ns      string
		allowed bool
	}{{"team-a", true}, {releaseNamespace, true}, {"team-c", false}, {"kube-system", false}, {"", false}} {
		review, err := kc.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: "system:serviceaccount:" + releaseNamespace + ":" + sa, Groups: []string{"system:serviceaccounts"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: check.ns, Verb: "list", Resource: "secrets"}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if review.Status.Allowed != check.allowed {
			t.Errorf("list secrets in %q: allowed %v, want %v", check.ns, review.Status.Allowed, check.allowed)
		}
	}

	for _, ns := range []string{"team-a", "team-b", "team-c"} {
		if err := st.CreateCredentials(ctx, ns, "spaces-credentials"); err != nil {
			t.Fatal(err)
		}
		space := fmt.Sprintf("apiVersion: spaces.avayacloud.com/v1alpha1\nkind: Space\nmetadata: {name: team}\nspec: {title: Chart %s, credentialsRef: {name: spaces-credentials}}\n", ns)
		if _, err := st.Kubectl(ctx, space, "apply", "-n", ns, "-f", "-"); err != nil {
			t.Fatal(err)
		}
	}
	mgr, err := st.StartManagerWith(kubeconfig, "--watch-namespaces", "team-a,team-b", "--operator-namespace", releaseNamespace)
	if err != nil {
		t.Fatal(err)
	}
	defer mgr.Stop()
	for _, ns := range []string{"team-a", "team-b"} {
		if out, err := st.Kubectl(ctx, "", "wait", "--for=condition=Ready", "space/team", "-n", ns, "--timeout=90s"); err != nil {
			t.Fatalf("%s: %v\n%s", ns, err, out)
		}
	}
	if mgr.Exited() {
		t.Fatal("the manager exited: its namespaced permissions were not enough")
	}
	// team-c is outside the watch: never reconciled, never in Spaces.
	state, err := st.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range state.Spaces {
		if sp.Title == "Chart team-c" {
			t.Error("a Space outside the watched namespaces reached Spaces")
		}
	}
	if out, _ := st.Kubectl(ctx, "", "get", "space", "team", "-n", "team-c", "-o", "jsonpath={.status.conditions}"); out != "" {
		t.Errorf("a Space outside the watched namespaces has status: %s", out)
	}
}

// checkRuleScopes proves the chart's split of the manager's rules by scope
// against the API server's discovery: every resource a Role grants is
// namespaced, every one the ClusterRole grants is cluster-scoped (or not
// a stored resource at all, like the access reviews).
func checkRuleScopes(t *testing.T, st *stack.Stack, objs []*unstructured.Unstructured) {
	t.Helper()
	dc := kubernetes.NewForConfigOrDie(st.Env.Config).Discovery()
	_, lists, err := dc.ServerGroupsAndResources()
	if err != nil {
		t.Fatal(err)
	}
	namespaced := map[string]bool{} // "group/resource"
	for _, l := range lists {
		group, _, _ := strings.Cut(l.GroupVersion, "/")
		if !strings.Contains(l.GroupVersion, "/") {
			group = ""
		}
		for _, r := range l.APIResources {
			namespaced[group+"/"+r.Name] = r.Namespaced
		}
	}
	for _, o := range objs {
		wantNamespaced := o.GetKind() == "Role"
		if o.GetKind() != "Role" && o.GetKind() != "ClusterRole" || strings.HasSuffix(o.GetName(), "-leader-election") {
			continue
		}
		rules, _, _ := unstructured.NestedSlice(o.Object, "rules")
		for _, r := range rules {
			groups, _, _ := unstructured.NestedStringSlice(r.(map[string]any), "apiGroups")
			res, _, _ := unstructured.NestedStringSlice(r.(map[string]any), "resources")
			for _, g := range groups {
				for _, x := range res {
					isNS, known := namespaced[g+"/"+x]
					if parent, _, isSub := strings.Cut(x, "/"); !known && isSub {
						isNS, known = namespaced[g+"/"+parent] // finalizers: not in discovery, scoped as their resource
					}
					if (known || wantNamespaced) && isNS != wantNamespaced {
						t.Errorf("%s %s grants %s/%s, which is %s", o.GetKind(), o.GetName(), g, x, map[bool]string{true: "namespaced", false: "cluster-scoped or unknown"}[isNS])
					}
				}
			}
		}
	}
}
