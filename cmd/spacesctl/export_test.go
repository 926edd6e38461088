package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/avayacloud/spaces-operator/internal/spaces"
	"github.com/avayacloud/spaces-operator/internal/spaces/spacestest"
)

// TestExport_Command: spacesctl export writes one Space per space the
// service account administers whose title matches, in the namespace and
// with the credentials given, says which it left out and why, and writes
// nothing to Spaces.
func TestExport_Command(t *testing.T) {
	fake := spacestest.NewServer(t, spacestest.Options{})
	key, err := fake.AddServiceApp()
	if err != nil {
		t.Fatal(err)
	}
	sk, _ := spaces.ParseServiceKey(key.JSON)
	c, _ := spaces.NewClient(fake.URL, spaces.NewTokenSource(sk, spaces.TokenOptions{}), spaces.ClientOptions{})
	ids := map[string]string{}
	for _, title := range []string{"Keep one", "Keep two", "Keep, not admin", "Other"} {
		resp, err := c.CreateSpace(context.Background(), spaces.CreateSpaceRequest{Topic: spaces.Topic{Title: title}}, "")
		if err != nil {
			t.Fatal(err)
		}
		ids[title] = resp.Data[0].TopicID
	}
	fake.Do(func(st *spacestest.State) { st.Spaces[ids["Keep, not admin"]].Members[0].Role = "member" })
	keyPath := filepath.Join(t.TempDir(), "key.json")
	if err := os.WriteFile(keyPath, key.JSON, 0o600); err != nil {
		t.Fatal(err)
	}
	writes := fake.Writes()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"export", "-api-url", fake.URL, "-title", "^Keep", "-namespace", "team-a", "-credentials", "team-key", keyPath}, nil, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	if n := strings.Count(out, "kind: Space\n"); n != 2 {
		t.Fatalf("%d Spaces:\n%s", n, out)
	}
	for _, want := range []string{"namespace: team-a", "name: team-key", "spaceID: " + ids["Keep one"], "spaceID: " + ids["Keep two"], "title: Keep one"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, ids["Other"]) || strings.Contains(out, ids["Keep, not admin"]) {
		t.Errorf("exported a space it should not have:\n%s", out)
	}
	if !strings.Contains(stderr.String(), "not one of its admins") || !strings.Contains(stderr.String(), "exported 2 spaces") {
		t.Errorf("stderr: %s", stderr.String())
	}
	if fake.Writes() != writes {
		t.Errorf("export wrote to Spaces: %v", fake.AllCalls())
	}
	if code := run(context.Background(), []string{"export", "-api-url", fake.URL, "-account", "a", "-credentials", "b", keyPath}, nil, &stdout, &stderr); code != 1 {
		t.Errorf("both -account and -credentials: exit %d", code)
	}
}
