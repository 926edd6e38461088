package config

import (
	"os"
	"sync"
	"testing"

	"github.com/avayacloud/spaces-operator/internal/testenv"
)

// One control plane serves every test of the package that needs one,
// started by the first.
var (
	envOnce sync.Once
	env     *testenv.Environment
	envErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if env != nil {
		_ = env.Stop()
	}
	os.Exit(code)
}

func controlPlane(t *testing.T) *testenv.Environment {
	t.Helper()
	envOnce.Do(func() { env, envErr = testenv.Start() })
	if envErr != nil {
		t.Fatal(envErr)
	}
	return env
}
