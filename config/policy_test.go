package config

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
	"github.com/avayacloud/spaces-operator/internal/testenv"
)

// TestBookkeepingPolicy installs the admission policy exactly as
// config/default renders it and proves it: a tenant (the edit rights on
// Spaces in its namespace) can neither set, change nor remove the
// operator's annotations, on create or update, while its own annotations
// pass; the operator's service account, the one config/default installs,
// may write them.
func TestBookkeepingPolicy(t *testing.T) {
	env := controlPlane(t)
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = spacesv1alpha1.AddToScheme(scheme)
	admin, err := client.New(env.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// The policy and binding as installed, and the operator's identity.
	out, err := exec.Command(env.Kubectl(), "kustomize", testenv.RepoRoot()+"/config/default").Output()
	if err != nil {
		t.Fatal(err)
	}
	var operator string
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(out), 4096)
	for {
		obj := &unstructured.Unstructured{}
		if err := dec.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatal(err)
		}
		switch obj.GetKind() {
		case "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding":
			if err := admin.Create(ctx, obj); err != nil {
				t.Fatal(err)
			}
		case "Deployment":
			sa, _, _ := unstructured.NestedString(obj.Object, "spec", "template", "spec", "serviceAccountName")
			operator = "system:serviceaccount:" + obj.GetNamespace() + ":" + sa
		}
	}
	if !strings.Contains(string(out), "'"+operator+"'") {
		t.Fatalf("the policy does not exempt the installed service account %s", operator)
	}

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}}
	if err := admin.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	grant := func(name string, subject rbacv1.Subject, namespaced bool) {
		role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{"spaces.avayacloud.com"}, Resources: []string{"spaces"}, Verbs: []string{"create", "get", "list", "update", "patch", "delete"}}}}
		if err := admin.Create(ctx, role); err != nil {
			t.Fatal(err)
		}
		ref := rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: name}
		var binding client.Object = &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, Subjects: []rbacv1.Subject{subject}, RoleRef: ref}
		if namespaced {
			binding = &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "team-a"}, Subjects: []rbacv1.Subject{subject}, RoleRef: ref}
		}
		if err := admin.Create(ctx, binding); err != nil {
			t.Fatal(err)
		}
	}
	grant("tenant", rbacv1.Subject{Kind: "User", Name: "alice", APIGroup: "rbac.authorization.k8s.io"}, true)
	grant("operator", rbacv1.Subject{Kind: "User", Name: operator, APIGroup: "rbac.authorization.k8s.io"}, false)
	as := func(user string) client.Client {
		cfg := rest.CopyConfig(env.Config)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{"system:authenticated"}}
		c, err := client.New(cfg, client.Options{Scheme: scheme})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tenant, op := as("alice"), as(operator)

	space := func(name string, annotations map[string]string) *spacesv1alpha1.Space {
		return &spacesv1alpha1.Space{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "team-a", Annotations: annotations},
			Spec: spacesv1alpha1.SpaceSpec{Title: name}}
	}
	forged := map[string]string{spacesv1alpha1.AnnotationSpaceID: "5f1051f0f3ed772f915e19ed"}
	// The policy takes a moment to be enforced once created.
	deadline := time.Now().Add(time.Minute)
	for {
		err := tenant.Create(ctx, space("probe", forged))
		if apierrors.IsForbidden(err) || apierrors.IsInvalid(err) {
			if !strings.Contains(err.Error(), "bookkeeping") {
				t.Fatalf("refused without saying why: %v", err)
			}
			break
		}
		if err == nil {
			_ = admin.Delete(ctx, space("probe", nil))
		}
		if time.Now().After(deadline) {
			t.Fatalf("a forged space-id on create was never refused: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	if err := tenant.Create(ctx, space("honest", map[string]string{"team": "a"})); err != nil {
		t.Fatalf("a tenant's own Space was refused: %v", err)
	}
	update := func(c client.Client, name string, f func(map[string]string)) error {
		sp := &spacesv1alpha1.Space{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "team-a", Name: name}, sp); err != nil {
			t.Fatal(err)
		}
		if sp.Annotations == nil {
			sp.Annotations = map[string]string{}
		}
		f(sp.Annotations)
		return c.Update(ctx, sp)
	}
	refused := []struct {
		name string
		edit func(map[string]string)
	}{
		{"set space-id", func(a map[string]string) { a[spacesv1alpha1.AnnotationSpaceID] = "5f1051f0f3ed772f915e19ed" }},
		{"set create-pending", func(a map[string]string) { a[spacesv1alpha1.AnnotationCreatePending] = "2026-01-01T00:00:00Z" }},
	}
	for _, r := range refused {
		if err := update(tenant, "honest", r.edit); !apierrors.IsForbidden(err) && !apierrors.IsInvalid(err) {
			t.Errorf("tenant could %s: %v", r.name, err)
		}
	}
	if err := update(tenant, "honest", func(a map[string]string) { a[spacesv1alpha1.AnnotationRecreate] = "true"; a["team"] = "b" }); err != nil {
		t.Errorf("the tenant's own annotations were refused: %v", err)
	}
	// The operator records an id; the tenant can then neither change nor
	// remove it.
	if err := update(op, "honest", func(a map[string]string) { a[spacesv1alpha1.AnnotationSpaceID] = "5f1051f0f3ed772f915e19ed" }); err != nil {
		t.Fatalf("the operator's own write was refused: %v", err)
	}
	for name, edit := range map[string]func(map[string]string){
		"change space-id": func(a map[string]string) { a[spacesv1alpha1.AnnotationSpaceID] = "6b0b6bb73faa4412e26de57f" },
		"remove space-id": func(a map[string]string) { delete(a, spacesv1alpha1.AnnotationSpaceID) },
	} {
		if err := update(tenant, "honest", edit); !apierrors.IsForbidden(err) && !apierrors.IsInvalid(err) {
			t.Errorf("tenant could %s: %v", name, err)
		}
	}
	// Deleting is the tenant's right, bookkeeping or not.
	if err := tenant.Delete(ctx, space("honest", nil)); err != nil {
		t.Errorf("the tenant could not delete its Space: %v", err)
	}
}
