package v1alpha1_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/avayacloud/spaces-operator/internal/testenv"
)

// strict is how kubectl sends objects by default: unknown fields are errors.
var strict = client.FieldValidation("Strict")

// newNamespace creates a namespace for one test.
func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "validation-"}}
	if err := k8sClient.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	return ns.Name
}

// object builds an object of kind with the given spec, written as YAML.
func object(t *testing.T, ns, kind, spec string) *unstructured.Unstructured {
	t.Helper()
	var s map[string]any
	if err := yaml.Unmarshal([]byte(spec), &s); err != nil {
		t.Fatalf("bad spec in test table: %v\n%s", err, spec)
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "spaces.avayacloud.com/v1alpha1",
		"kind":       kind,
		"metadata":   map[string]any{"generateName": strings.ToLower(kind) + "-", "namespace": ns},
		"spec":       s,
	}}
	return u
}

// repeat renders n flow-style YAML list items from a format with one %d.
func repeat(n int, format string) string {
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprintf(format, i)
	}
	return "[" + strings.Join(items, ", ") + "]"
}

const (
	validSpace  = `{title: Payments}`
	validInvite = `{spaceRef: {name: payments}, invitees: [{email: bob@corp.example}]}`
	validUsers  = `{users: [{email: alice@corp.example}]}`
	id1         = "5f1051f0f3ed772f915e19ed"
	id2         = "5f1051f0f3ed772f915e19ee"
)

// TestBadManifestsAreRefusedNamingTheField: each case is a manifest the API
// server must refuse, with an error that names the field at fault. Cases with
// old are first created as old, then updated to spec.
func TestBadManifestsAreRefusedNamingTheField(t *testing.T) {
	long := strings.Repeat("x", 257)
	cases := []struct {
		name  string
		kind  string
		old   string
		spec  string
		field string
	}{
		// Space.
		{"space title missing", "Space", "", `{description: x}`, "spec.title"},
		{"space title empty", "Space", "", `{title: ""}`, "spec.title"},
		{"space title blank", "Space", "", `{title: "   "}`, "spec.title"},
		{"space title with a control character", "Space", "", `{title: "Pay\u0007ments"}`, "spec.title"},
		{"space title with a line break", "Space", "", `{title: "Pay\nments"}`, "spec.title"},
		{"space title with a bidi override", "Space", "", `{title: "Pay\u202Ements"}`, "spec.title"},
		{"space description with a bidi isolate", "Space", "", `{title: t, description: "ok \u2066hidden\u2069"}`, "spec.description"},
		{"space title over 256", "Space", "", `{title: ` + long + `}`, "spec.title"},
		{"space description over 4096", "Space", "", `{title: t, description: ` + strings.Repeat("d", 4097) + `}`, "spec.description"},
		{"space owner not an email", "Space", "", `{title: t, owner: alice}`, "spec.owner"},
		{"space owner with display name", "Space", "", `{title: t, owner: "Alice <alice@corp.example>"}`, "spec.owner"},
		{"space spaceID too short", "Space", "", `{title: t, spaceID: 5f1051}`, "spec.spaceID"},
		{"space spaceID upper case", "Space", "", `{title: t, spaceID: 5F1051F0F3ED772F915E19ED}`, "spec.spaceID"},
		{"space unknown deletionPolicy", "Space", "", `{title: t, deletionPolicy: Destroy}`, "spec.deletionPolicy"},
		{"space negative retention days", "Space", "", `{title: t, settings: {messageRetention: {policy: DeleteAfterDays, days: -1}}}`, "spec.settings.messageRetention.days"},
		{"space zero retention days", "Space", "", `{title: t, settings: {messageRetention: {policy: DeleteAfterDays, days: 0}}}`, "spec.settings.messageRetention.days"},
		{"space retention days without policy needing them", "Space", "", `{title: t, settings: {messageRetention: {policy: Forever, days: 30}}}`, "spec.settings.messageRetention"},
		{"space retention DeleteAfterDays without days", "Space", "", `{title: t, settings: {messageRetention: {policy: DeleteAfterDays}}}`, "spec.settings.messageRetention"},
		{"space unknown retention policy", "Space", "", `{title: t, settings: {messageRetention: {policy: Sometimes}}}`, "spec.settings.messageRetention.policy"},
		{"space setting of the wrong type", "Space", "", `{title: t, settings: {memberOnly: "yes"}}`, "spec.settings.memberOnly"},
		{"space unknown field", "Space", "", `{title: t, colour: blue}`, "spec.colour"},
		{"space unknown setting", "Space", "", `{title: t, settings: {confPin: "1234"}}`, "spec.settings.confPin"},
		{"space credentials in another namespace", "Space", "", `{title: t, credentialsRef: {name: key, namespace: other}}`, "spec.credentialsRef.namespace"},
		{"space credentials name invalid", "Space", "", `{title: t, credentialsRef: {name: Bad_Name}}`, "spec.credentialsRef.name"},
		{"space account and credentials", "Space", "", `{title: t, accountRef: {name: corp}, credentialsRef: {name: key}}`, "spec.accountRef"},
		{"space account name invalid", "Space", "", `{title: t, accountRef: {name: Corp_Key}}`, "spec.accountRef.name"},
		{"space account namespace", "Space", "", `{title: t, accountRef: {name: corp, namespace: other}}`, "spec.accountRef.namespace"},
		{"invite account with spaceRef", "SpaceInvite", "", `{spaceRef: {name: p}, accountRef: {name: corp}, invitees: [{email: bob@corp.example}]}`, "spec.accountRef"},
		{"users account and credentials", "ServiceAccountUserSet", "", `{accountRef: {name: corp}, credentialsRef: {name: key}, users: [{email: bob@corp.example}]}`, "spec.accountRef"},
		{"space credentials key invalid", "Space", "", `{title: t, credentialsRef: {name: key, key: "a/b"}}`, "spec.credentialsRef.key"},
		{"space owner changed", "Space", `{title: t, owner: alice@corp.example}`, `{title: t, owner: bob@corp.example}`, "spec.owner"},
		{"space owner added", "Space", `{title: t}`, `{title: t, owner: bob@corp.example}`, "spec.owner"},
		{"space owner removed", "Space", `{title: t, owner: alice@corp.example}`, `{title: t}`, "spec.owner"},
		{"space spaceID changed", "Space", `{title: t, spaceID: ` + id1 + `}`, `{title: t, spaceID: ` + id2 + `}`, "spec.spaceID"},
		{"space spaceID removed", "Space", `{title: t, spaceID: ` + id1 + `}`, `{title: t}`, "spec.spaceID"},

		// SpaceInvite.
		{"invite neither spaceRef nor spaceID", "SpaceInvite", "", `{invitees: [{email: bob@corp.example}]}`, "spaceRef"},
		{"invite both spaceRef and spaceID", "SpaceInvite", "", `{spaceRef: {name: p}, spaceID: ` + id1 + `, invitees: [{email: bob@corp.example}]}`, "spaceID"},
		{"invite spaceID malformed", "SpaceInvite", "", `{spaceID: nope, invitees: [{email: bob@corp.example}]}`, "spec.spaceID"},
		{"invite invitees missing", "SpaceInvite", "", `{spaceRef: {name: p}}`, "spec.invitees"},
		{"invite invitees empty", "SpaceInvite", "", `{spaceRef: {name: p}, invitees: []}`, "spec.invitees"},
		{"invite over 500 invitees", "SpaceInvite", "", `{spaceRef: {name: p}, invitees: ` + repeat(501, "{email: u%d@corp.example}") + `}`, "spec.invitees"},
		{"invite malformed email", "SpaceInvite", "", `{spaceRef: {name: p}, invitees: [{email: bob.corp.example}]}`, "spec.invitees[0].email"},
		{"invite malformed userID", "SpaceInvite", "", `{spaceRef: {name: p}, invitees: [{userID: "12"}]}`, "spec.invitees[0].userID"},
		{"invite unknown role", "SpaceInvite", "", `{spaceRef: {name: p}, invitees: [{email: bob@corp.example, role: owner}]}`, "spec.invitees[0].role"},
		{"invite email and userID together", "SpaceInvite", "", `{spaceRef: {name: p}, invitees: [{email: bob@corp.example, userID: ` + id1 + `}]}`, "spec.invitees[0]"},
		{"invite neither email nor userID", "SpaceInvite", "", `{spaceRef: {name: p}, invitees: [{role: admin}]}`, "spec.invitees[0]"},
		{"invite duplicate emails", "SpaceInvite", "", `{spaceRef: {name: p}, invitees: [{email: bob@corp.example}, {email: bob@corp.example, role: admin}]}`, "spec.invitees"},
		{"invite email not lower case", "SpaceInvite", "", `{spaceRef: {name: p}, invitees: [{email: Bob@corp.example}]}`, "spec.invitees[0].email"},
		{"invite duplicate userIDs", "SpaceInvite", "", `{spaceRef: {name: p}, invitees: [{userID: ` + id1 + `}, {userID: ` + id1 + `}]}`, "spec.invitees"},
		{"invite unknown notify", "SpaceInvite", "", `{spaceRef: {name: p}, notify: Slack, invitees: [{email: bob@corp.example}]}`, "spec.notify"},
		{"invite credentials with spaceRef", "SpaceInvite", "", `{spaceRef: {name: p}, credentialsRef: {name: key}, invitees: [{email: bob@corp.example}]}`, "spec.credentialsRef"},
		{"invite spaceRef name invalid", "SpaceInvite", "", `{spaceRef: {name: "Not A Name"}, invitees: [{email: bob@corp.example}]}`, "spec.spaceRef.name"},
		{"invite spaceRef changed", "SpaceInvite", validInvite, `{spaceRef: {name: other}, invitees: [{email: bob@corp.example}]}`, "spec.spaceRef"},
		{"invite spaceID changed", "SpaceInvite", `{spaceID: ` + id1 + `, invitees: [{email: bob@corp.example}]}`, `{spaceID: ` + id2 + `, invitees: [{email: bob@corp.example}]}`, "spec.spaceID"},

		// ServiceAccountUserSet.
		{"users missing", "ServiceAccountUserSet", "", `{deletionPolicy: Retain}`, "spec.users"},
		{"users over 1000", "ServiceAccountUserSet", "", `{users: ` + repeat(1001, "{email: u%d@corp.example}") + `}`, "spec.users"},
		{"users duplicate email", "ServiceAccountUserSet", "", `{users: [{email: a@corp.example}, {email: a@corp.example}]}`, "spec.users[1]"},
		{"user email not lower case", "ServiceAccountUserSet", "", `{users: [{email: a@corp.example}, {email: A@corp.example}]}`, "spec.users[1].email"},
		{"user email missing", "ServiceAccountUserSet", "", `{users: [{firstName: Ann}]}`, "spec.users[0].email"},
		{"user email malformed", "ServiceAccountUserSet", "", `{users: [{email: "a@"}]}`, "spec.users[0].email"},
		{"user unknown license", "ServiceAccountUserSet", "", `{users: [{email: a@corp.example, license: Gold}]}`, "spec.users[0].license"},
		{"user work phone without plus", "ServiceAccountUserSet", "", `{users: [{email: a@corp.example, workPhone: "15550100"}]}`, "spec.users[0].workPhone"},
		{"user cell phone with letters", "ServiceAccountUserSet", "", `{users: [{email: a@corp.example, cellPhone: "+44 call me"}]}`, "spec.users[0].cellPhone"},
		{"user first name with refused character", "ServiceAccountUserSet", "", `{users: [{email: a@corp.example, firstName: "Ann!"}]}`, "spec.users[0].firstName"},
		{"user last name with refused character", "ServiceAccountUserSet", "", `{users: [{email: a@corp.example, lastName: "O.Neil"}]}`, "spec.users[0].lastName"},
		{"user names over 380 together", "ServiceAccountUserSet", "", `{users: [{email: a@corp.example, firstName: ` + strings.Repeat("a", 200) + `, lastName: ` + strings.Repeat("b", 181) + `}]}`, "spec.users[0]"},
		{"user language malformed", "ServiceAccountUserSet", "", `{users: [{email: a@corp.example, language: "English!"}]}`, "spec.users[0].language"},
		{"user password is not a field", "ServiceAccountUserSet", "", `{users: [{email: a@corp.example, password: hunter2}]}`, "spec.users[0].password"},
		{"users passwordSecretName invalid", "ServiceAccountUserSet", "", `{passwordSecretName: "Team A", users: [{email: a@corp.example}]}`, "spec.passwordSecretName"},
		{"users unknown deletionPolicy", "ServiceAccountUserSet", "", `{deletionPolicy: Purge, users: [{email: a@corp.example}]}`, "spec.deletionPolicy"},
		{"users passwordSecretName changed", "ServiceAccountUserSet", `{passwordSecretName: one, users: [{email: a@corp.example}]}`, `{passwordSecretName: two, users: [{email: a@corp.example}]}`, "spec.passwordSecretName"},
	}
	ns := newNamespace(t)
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := object(t, ns, tc.kind, tc.spec)
			var err error
			if tc.old == "" {
				err = k8sClient.Create(ctx, obj, strict)
			} else {
				obj = object(t, ns, tc.kind, tc.old)
				if err := k8sClient.Create(ctx, obj, strict); err != nil {
					t.Fatalf("creating the old object: %v", err)
				}
				obj.Object["spec"] = object(t, ns, tc.kind, tc.spec).Object["spec"]
				err = k8sClient.Update(ctx, obj, strict)
			}
			if err == nil {
				t.Fatalf("the API server accepted it; want an error naming %s", tc.field)
			}
			if !apierrors.IsInvalid(err) && !apierrors.IsBadRequest(err) {
				t.Fatalf("want Invalid or BadRequest, got %v", err)
			}
			if strings.Contains(err.Error(), "internal error") {
				t.Fatalf("a validation rule failed to evaluate:\n%v", err)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("error does not name %s:\n%v", tc.field, err)
			}
		})
	}
	if len(cases) < 30 {
		t.Fatalf("only %d bad manifests; the contract asks for at least 30", len(cases))
	}
}

// TestGoodManifestsAreAccepted guards against rules that refuse valid input,
// and against CEL rules too costly for the largest lists the schema allows.
func TestGoodManifestsAreAccepted(t *testing.T) {
	cases := []struct {
		name string
		kind string
		old  string
		spec string
	}{
		{"minimal space", "Space", "", validSpace},
		{"space with every field", "Space", "", `{title: T, description: D, owner: alice@corp.example, spaceID: ` + id1 + `, deletionPolicy: Delete, suspend: true,
			credentialsRef: {name: key, key: my-key.json},
			settings: {memberOnly: true, allowPasswordInURL: false, guestsRequirePassword: true, denyGuestHistory: false, messageRetention: {policy: DeleteAfterDays, days: 36500}}}`},
		{"space retention forever", "Space", "", `{title: T, settings: {messageRetention: {policy: Forever}}}`},
		{"space with a multi-line description and accents", "Space", "", `{title: "Zahlungsverkehr – Team ü", description: "Line one\n\tLine two"}`},
		{"space through an account", "Space", "", `{title: T, accountRef: {name: corp.team-a}}`},
		{"invite by spaceID through an account", "SpaceInvite", "", `{spaceID: ` + id1 + `, accountRef: {name: corp}, invitees: [{email: bob@corp.example}]}`},
		{"users through an account", "ServiceAccountUserSet", "", `{accountRef: {name: corp}, users: [{email: bob@corp.example}]}`},
		{"space title and settings changed", "Space", `{title: T, owner: alice@corp.example}`, `{title: New, owner: alice@corp.example, settings: {memberOnly: true}}`},
		{"space spaceID set later", "Space", validSpace, `{title: Payments, spaceID: ` + id1 + `}`},
		{"invite by spaceID with credentials", "SpaceInvite", "", `{spaceID: ` + id1 + `, credentialsRef: {name: key}, notify: None, prune: true, invitees: [{userID: ` + id1 + `, role: admin}, {email: bob@corp.example, role: guest}]}`},
		{"invite 500 invitees", "SpaceInvite", "", `{spaceRef: {name: p}, invitees: ` + repeat(500, "{email: u%d@corp.example}") + `}`},
		{"invite list changed", "SpaceInvite", validInvite, `{spaceRef: {name: payments}, invitees: [{email: carol@corp.example}]}`},
		{"user with every field", "ServiceAccountUserSet", "", `{passwordSecretName: pw, deletionPolicy: Delete, users: [{email: "o'neil+bot@corp.example", firstName: Ann-Marie, lastName: "O'Neil", language: fr-CA, workPhone: "+15550100", cellPhone: "+447700900123", license: None}]}`},
		{"1000 users", "ServiceAccountUserSet", "", `{users: ` + repeat(1000, "{email: user%d@corp.example, firstName: First, lastName: Last}") + `}`},
		{"users changed", "ServiceAccountUserSet", validUsers, `{users: [{email: alice@corp.example, license: Power}, {email: bob@corp.example}]}`},
	}
	ns := newNamespace(t)
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := tc.spec
			if tc.old != "" {
				spec = tc.old
			}
			obj := object(t, ns, tc.kind, spec)
			if err := k8sClient.Create(ctx, obj, strict); err != nil {
				t.Fatalf("refused: %v", err)
			}
			if tc.old != "" {
				obj.Object["spec"] = object(t, ns, tc.kind, tc.spec).Object["spec"]
				if err := k8sClient.Update(ctx, obj, strict); err != nil {
					t.Fatalf("update refused: %v", err)
				}
			}
		})
	}
}

// TestSamplesAreAccepted applies every manifest in config/samples.
func TestSamplesAreAccepted(t *testing.T) {
	ns := newNamespace(t)
	dir := filepath.Join(testenv.RepoRoot(), "config", "samples")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples in %s: %v", dir, err)
	}
	kinds := map[string]bool{}
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(data, &obj.Object); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if obj.GetKind() == "ClusterSpacesAccount" {
			obj.SetName(obj.GetName() + "-" + ns) // cluster-scoped: one per test run
		} else {
			obj.SetNamespace(ns)
		}
		if err := k8sClient.Create(context.Background(), obj, strict); err != nil {
			t.Errorf("%s refused: %v", filepath.Base(f), err)
		}
		kinds[obj.GetKind()] = true
	}
	for _, k := range []string{"Secret", "Space", "SpaceInvite", "ServiceAccountUserSet", "ClusterSpacesAccount"} {
		if !kinds[k] {
			t.Errorf("config/samples has no %s", k)
		}
	}
}
