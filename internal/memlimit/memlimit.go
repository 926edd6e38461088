// Package memlimit plans the Go runtime's memory limit from the
// container's: a garbage collector that does not know the limit lets the
// heap grow past it, and the kernel kills the pod.
package memlimit

import (
	"debug/elf"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// Share is the part of the container's limit the process plans to use
// as a whole, the rest left for what nobody counts (page tables, socket
// buffers, the scavenger's lag).
const Share = 0.9

// Soft is the Go runtime's memory limit in a container limited to limit
// bytes, for a binary whose loaded segments take image bytes. The cgroup
// charges the binary's pages to the container, and the Go runtime does not
// count them: about 26 MiB of the manager's resident memory, a fifth of a
// 128 MiB limit. So they come off the runtime's share. It never goes
// below a quarter of the limit, where collections would never end.
func Soft(limit, image int64) int64 {
	return max(int64(float64(limit)*Share)-image, limit/4)
}

// ImageSize is the size of the segments an executable's loader maps from
// its file (code, read-only data, initialised data); 0 when it cannot be
// read.
func ImageSize(path string) int64 {
	f, err := elf.Open(path)
	if err != nil {
		return 0
	}
	defer func() { _ = f.Close() }()
	var size int64
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			size += int64(p.Filesz)
		}
	}
	return size
}

// Set sets the runtime's memory limit to Soft of the memory limit of the
// cgroup mounted at root (v2 memory.max, or v1 memory.limit_in_bytes),
// for the executable at exe. An explicit GOMEMLIMIT wins. It returns the
// limit set, 0 when none.
func Set(root, exe string) int64 {
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0
	}
	limit, ok := CgroupLimit(root)
	if !ok {
		return 0
	}
	soft := Soft(limit, ImageSize(exe))
	debug.SetMemoryLimit(soft)
	return soft
}

// CgroupLimit reads the memory limit of the cgroup mounted at root; false
// when there is none ("max", or a v1 value meaning unlimited).
func CgroupLimit(root string) (int64, bool) {
	for _, p := range []string{"memory.max", filepath.Join("memory", "memory.limit_in_bytes")} {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			continue
		}
		v := strings.TrimSpace(string(b))
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 || n >= 1<<60 {
			return 0, false // "max", or v1's "unlimited" (a page-rounded MaxInt64)
		}
		return n, true
	}
	return 0, false
}
