package main

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

// TestMemoryLimitFollowsTheCgroup: the Go heap's limit is 90 % of the
// container's (cgroup v2 or v1); none without a limit; GOMEMLIMIT wins.
func TestMemoryLimitFollowsTheCgroup(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	for _, tc := range []struct {
		name, file, value string
		want              int64
	}{
		{"v2", "memory.max", "268435456\n", 241591910},
		{"v2 unlimited", "memory.max", "max\n", 0},
		{"v1", "memory/memory.limit_in_bytes", "134217728\n", 120795955},
		{"v1 unlimited", "memory/memory.limit_in_bytes", "9223372036854771712\n", 0},
		{"no cgroup", "", "", 0},
	} {
		root := t.TempDir()
		if tc.file != "" {
			path := filepath.Join(root, tc.file)
			_ = os.MkdirAll(filepath.Dir(path), 0o755)
			if err := os.WriteFile(path, []byte(tc.value), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Setenv("GOMEMLIMIT", "")
		if got := setMemoryLimit(root); got != tc.want {
			t.Errorf("%s: limit %d, want %d", tc.name, got, tc.want)
		}
		if tc.want > 0 && debug.SetMemoryLimit(-1) != tc.want {
			t.Errorf("%s: the runtime's limit is %d", tc.name, debug.SetMemoryLimit(-1))
		}
	}
	root := t.TempDir()
	_ = os.WriteFile(filepath.Join(root, "memory.max"), []byte("268435456"), 0o644)
	t.Setenv("GOMEMLIMIT", "100MiB")
	if got := setMemoryLimit(root); got != 0 {
		t.Errorf("GOMEMLIMIT set: the cgroup overrode it (%d)", got)
	}
}
