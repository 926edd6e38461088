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

// TestProbe_TellsTheDialect: spacesctl probe, read-only, reports what the
// server answered for each unknown, so one can tell the default dialect
// from every switch on; it writes nothing to Spaces and prints no secret.
func TestProbe_TellsTheDialect(t *testing.T) {
	for _, tc := range []struct {
		dialect spacestest.Dialect
		want    []string
	}{
		{nil, []string{"ids:                  _id", "phone numbers:        a list", "answered 401", "message at the top", "search:               honoured",
			"restrict and msgRetention at the top", "the space lists its members", "members route:        allowed; asked 1, got 1"}},
		{spacestest.AllDialect(), []string{"ids:                  id (no _id)", "phone numbers:        an object", "answered 403", "message under error", "search:               ignored",
			"restrict and msgRetention under settings", "the space lists no members", "members route:        refused"}},
	} {
		fake := spacestest.NewServer(t, spacestest.Options{Dialect: tc.dialect})
		key, err := fake.AddServiceApp()
		if err != nil {
			t.Fatal(err)
		}
		sk, _ := spaces.ParseServiceKey(key.JSON)
		c, _ := spaces.NewClient(fake.URL, spaces.NewTokenSource(sk, spaces.TokenOptions{}), spaces.ClientOptions{})
		if _, err := c.CreateSpace(context.Background(), spaces.CreateSpaceRequest{Topic: spaces.Topic{Title: "Probed"}}, ""); err != nil {
			t.Fatal(err)
		}
		keyPath := filepath.Join(t.TempDir(), "key.json")
		if err := os.WriteFile(keyPath, key.JSON, 0o600); err != nil {
			t.Fatal(err)
		}
		writes := fake.Writes()
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{"probe", "-api-url", fake.URL, keyPath}, nil, &stdout, &stderr); code != 0 {
			t.Fatalf("%s: exit %d: %s", tc.dialect, code, stderr.String())
		}
		report := strings.Join(strings.Fields(stdout.String()), " ")
		for _, want := range tc.want {
			if !strings.Contains(report, strings.Join(strings.Fields(want), " ")) {
				t.Errorf("%s: report lacks %q:\n%s", tc.dialect, want, stdout.String())
			}
		}
		if fake.Writes() != writes {
			t.Errorf("%s: probe wrote to Spaces: %v", tc.dialect, fake.AllCalls())
		}
		if strings.Contains(stdout.String(), "PRIVATE KEY") || strings.Contains(stdout.String(), "eyJ") {
			t.Errorf("%s: the report holds key material or a token", tc.dialect)
		}
	}
}
