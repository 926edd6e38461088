package main

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// memoryLimitShare is the part of the container's memory limit the Go heap
// aims to stay under, leaving the rest to the runtime and the stacks.
const memoryLimitShare = 0.9

// setMemoryLimit makes the Go heap aware of the container's memory limit
// (cgroup v2 memory.max, or v1 memory.limit_in_bytes, under root): a
// garbage collector that does not know the limit lets the heap grow past
// it and the kernel kills the pod. An explicit GOMEMLIMIT wins. It returns
// the limit set, 0 when none.
func setMemoryLimit(root string) int64 {
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0
	}
	limit, ok := cgroupMemoryLimit(root)
	if !ok {
		return 0
	}
	soft := int64(float64(limit) * memoryLimitShare)
	debug.SetMemoryLimit(soft)
	return soft
}

// cgroupMemoryLimit reads the memory limit of the cgroup the process runs
// in; false when there is none ("max", or a v1 value meaning unlimited).
func cgroupMemoryLimit(root string) (int64, bool) {
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
