package memlimit

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

const mib = 1 << 20

func TestSoft(t *testing.T) {
	for _, tc := range []struct {
		name         string
		limit, image int64
		want         int64
	}{
		{"the binary's pages come off 90 %", 128 * mib, 34 * mib, 128*mib*9/10 - 34*mib + 1},
		{"a big limit", 1024 * mib, 34 * mib, 1024*mib*9/10 - 34*mib + 1},
		{"binary unknown", 256 * mib, 0, 256 * mib * 9 / 10},
		{"never below a quarter", 40 * mib, 34 * mib, 10 * mib},
	} {
		if got := Soft(tc.limit, tc.image); got < tc.want-1 || got > tc.want {
			t.Errorf("%s: Soft(%d, %d) = %d, want %d", tc.name, tc.limit, tc.image, got, tc.want)
		}
	}
}

// TestImageSize: the loaded segments of this test binary: more than its
// code alone, less than its file (which also holds symbols and debug
// information the loader leaves on disk); 0 for what is not an ELF file.
func TestImageSize(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(exe)
	if err != nil {
		t.Fatal(err)
	}
	size := ImageSize(exe)
	if size < mib || size > st.Size() {
		t.Errorf("image of %s: %d bytes, file %d", exe, size, st.Size())
	}
	notELF := filepath.Join(t.TempDir(), "script")
	_ = os.WriteFile(notELF, []byte("#!/bin/sh\n"), 0o755)
	if got := ImageSize(notELF); got != 0 {
		t.Errorf("image of a script: %d", got)
	}
}

// TestSet_FollowsTheCgroup: the runtime's limit is Soft of the container's
// (cgroup v2 or v1); none without a limit; GOMEMLIMIT wins.
func TestSet_FollowsTheCgroup(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	noImage := filepath.Join(t.TempDir(), "missing")
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
		if got := Set(root, noImage); got != tc.want {
			t.Errorf("%s: limit %d, want %d", tc.name, got, tc.want)
		}
		if tc.want > 0 && debug.SetMemoryLimit(-1) != tc.want {
			t.Errorf("%s: the runtime's limit is %d", tc.name, debug.SetMemoryLimit(-1))
		}
	}
	root := t.TempDir()
	_ = os.WriteFile(filepath.Join(root, "memory.max"), []byte("268435456"), 0o644)
	exe, _ := os.Executable()
	t.Setenv("GOMEMLIMIT", "")
	if got, want := Set(root, exe), Soft(268435456, ImageSize(exe)); got != want || got >= 241591910 {
		t.Errorf("with this binary's image: limit %d, want %d, below 90 %% of the limit", got, want)
	}
	t.Setenv("GOMEMLIMIT", "100MiB")
	if got := Set(root, exe); got != 0 {
		t.Errorf("GOMEMLIMIT set: the cgroup overrode it (%d)", got)
	}
}
