// Package argocd holds the Argo CD health checks shipped for the operator's
// kinds; this test runs them in gopher-lua, the interpreter Argo CD embeds.
package argocd

import (
	"os"
	"strconv"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
	"sigs.k8s.io/yaml"
)

// toLua converts decoded JSON the way Argo CD hands objects to health
// scripts: objects and arrays become tables (arrays 1-based), numbers float.
func toLua(L *lua.LState, v any) lua.LValue {
	switch x := v.(type) {
	case map[string]any:
		t := L.NewTable()
		for k, e := range x {
			t.RawSetString(k, toLua(L, e))
		}
		return t
	case []any:
		t := L.NewTable()
		for i, e := range x {
			t.RawSetInt(i+1, toLua(L, e))
		}
		return t
	case string:
		return lua.LString(x)
	case float64:
		return lua.LNumber(x)
	case int64:
		return lua.LNumber(x)
	case bool:
		return lua.LBool(x)
	default:
		return lua.LNil
	}
}

func health(t *testing.T, script, object string) (status, message string) {
	t.Helper()
	var obj map[string]any
	if err := yaml.Unmarshal([]byte(object), &obj); err != nil {
		t.Fatal(err)
	}
	L := lua.NewState()
	defer L.Close()
	L.SetGlobal("obj", toLua(L, obj))
	if err := L.DoString(script); err != nil {
		t.Fatalf("script failed: %v", err)
	}
	hs, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		t.Fatalf("script returned %v, want a table", L.Get(-1))
	}
	return hs.RawGetString("status").String(), hs.RawGetString("message").String()
}

func object(generation, observed int, conditions ...string) string {
	s := "metadata: {name: x, generation: " + strconv.Itoa(generation) + "}\n"
	if observed < 0 {
		return s
	}
	return s + "status: {observedGeneration: " + strconv.Itoa(observed) + ", conditions: [" + strings.Join(conditions, ", ") + "]}\n"
}

func TestHealthCheck(t *testing.T) {
	script, err := os.ReadFile("health.lua")
	if err != nil {
		t.Fatal(err)
	}
	ready := `{type: Ready, status: "True", reason: Synced, message: "Space matches the spec"}`
	notReady := `{type: Ready, status: "False", reason: SpacesUnavailable, message: "Spaces failed"}`
	reconciling := `{type: Reconciling, status: "True", reason: SpacesUnavailable, message: "retrying"}`
	stalled := `{type: Stalled, status: "True", reason: MissingScope, message: "enable spaces.create"}`
	stalledReady := `{type: Ready, status: "False", reason: MissingScope, message: "enable spaces.create"}`
	suspended := `{type: Ready, status: "False", reason: Suspended, message: "spec.suspend is true"}`
	cases := []struct {
		name, obj, status, message string
	}{
		{"no status yet", object(1, -1), "Progressing", "Waiting"},
		{"ready and current", object(2, 2, ready), "Healthy", "matches the spec"},
		{"ready but stale observedGeneration", object(3, 2, ready), "Progressing", "not yet acted"},
		{"stalled", object(2, 2, stalledReady, stalled), "Degraded", "MissingScope: enable spaces.create"},
		{"stalled but stale", object(3, 2, stalledReady, stalled), "Progressing", "not yet acted"},
		{"transient failure", object(2, 2, notReady, reconciling), "Progressing", "SpacesUnavailable"},
		{"suspended", object(1, 1, suspended), "Suspended", "spec.suspend"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, message := health(t, string(script), tc.obj)
			if status != tc.status || !strings.Contains(message, tc.message) {
				t.Fatalf("got %s %q, want %s %q", status, message, tc.status, tc.message)
			}
		})
	}
}

// TestArgoCDConfigMapCarriesTheScript: the argocd-cm snippet installs the
// same script for all four kinds.
func TestArgoCDConfigMapCarriesTheScript(t *testing.T) {
	script, _ := os.ReadFile("health.lua")
	data, err := os.ReadFile("argocd-cm-patch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cm struct {
		Data map[string]string `json:"data"`
	}
	if err := yaml.Unmarshal(data, &cm); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"Space", "SpaceInvite", "ServiceAccountUserSet", "ClusterSpacesAccount"} {
		key := "resource.customizations.health.spaces.avayacloud.com_" + kind
		if strings.TrimSpace(cm.Data[key]) != strings.TrimSpace(string(script)) {
			t.Errorf("%s differs from health.lua", key)
		}
	}
}
