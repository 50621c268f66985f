package inference

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// modelsDir locates ../shared/models relative to the repository root, or
// MERIT_TEST_MODELS.
func modelsDir(tb testing.TB) string {
	tb.Helper()
	if d := os.Getenv("MERIT_TEST_MODELS"); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0) // .../inference/testutil_test.go
	return filepath.Join(filepath.Dir(file), "..", "..", "shared", "models")
}

// loadStories loads stories260K with tok512; the error says what is missing.
func loadStories(tb testing.TB, threads int) (*LocalEngine, error) {
	dir := modelsDir(tb)
	ckpt := filepath.Join(dir, "stories260K.bin")
	tok := filepath.Join(dir, "tok512.bin")
	for _, p := range []string{ckpt, tok} {
		if _, err := os.Stat(p); err != nil {
			return nil, err
		}
	}
	return LoadLocalEngine(ckpt, tok, Options{Threads: threads})
}

// storiesEngine loads stories260K with tok512, or skips the test.
func storiesEngine(tb testing.TB) *LocalEngine {
	tb.Helper()
	e, err := loadStories(tb, 0)
	if os.IsNotExist(err) {
		tb.Skipf("test model missing (%v); put stories260K.bin and tok512.bin in ../shared/models or set MERIT_TEST_MODELS", err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

func tinyEngine(tb testing.TB) *LocalEngine {
	tb.Helper()
	e, err := TinyEngine(Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return e
}
