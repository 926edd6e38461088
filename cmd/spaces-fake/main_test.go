package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/avayacloud/spaces-operator/internal/spaces"
	"github.com/avayacloud/spaces-operator/internal/spaces/spacestest"
)

// TestRun_ServesAndWritesAUsableKeyFile: the program's key file works with
// the real client against the program's own URL, with the scopes asked for.
func TestRun_ServesAndWritesAUsableKeyFile(t *testing.T) {
	dir := t.TempDir()
	keyPath, urlPath := filepath.Join(dir, "key.json"), filepath.Join(dir, "url")
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--key-file", keyPath, "--url-file", urlPath,
			"--scopes", "spaces.settings.read", "--users", "alice@corp.example"}, io.Discard, func(u string) { urls <- u })
	}()
	url := <-urls

	if st, err := os.Stat(keyPath); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	if b, _ := os.ReadFile(urlPath); string(b) != url+"\n" {
		t.Fatalf("url file has %q, want %q", b, url)
	}
	data, _ := os.ReadFile(keyPath)
	key, err := spaces.ParseServiceKey(data)
	if err != nil {
		t.Fatal(err)
	}
	c, err := spaces.NewClient(url, spaces.NewTokenSource(key, spaces.TokenOptions{}), spaces.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if me, err := c.Me(ctx); err != nil || me.Username != key.Subject {
		t.Fatalf("Me = %+v, %v", me, err)
	}
	users, err := c.ColleaguesBulk(ctx, []string{"alice@corp.example"})
	if spaces.KindOf(err) != spaces.KindForbidden {
		t.Fatalf("colleaguesbulk without its scope: %v %v", users, err)
	}
	resp, err := http.Get(strings.TrimSuffix(url, "/api") + "/_fake/state")
	if err != nil {
		t.Fatal(err)
	}
	state, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(state), `"alice@corp.example"`) {
		t.Fatalf("--users did not create alice:\n%s", state)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestRun_DialectFlag: --dialect list prints every switch with what it
// changes; an unknown switch is refused naming the known ones.
func TestRun_DialectFlag(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), []string{"--dialect", "list"}, &out, nil); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(spacestest.DialectSwitches) {
		t.Fatalf("--dialect list printed %d lines for %d switches:\n%s", len(lines), len(spacestest.DialectSwitches), out.String())
	}
	for i, sw := range spacestest.DialectSwitches {
		if !strings.HasPrefix(lines[i], sw.Name+" ") || len(strings.Fields(lines[i])) < 4 {
			t.Errorf("line %d = %q, want %s and what it changes", i, lines[i], sw.Name)
		}
	}
	err := run(context.Background(), []string{"--dialect", "settings-nested,nonsense"}, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), `"nonsense"`) || !strings.Contains(err.Error(), "members-refused") {
		t.Fatalf("unknown switch: %v", err)
	}
}
