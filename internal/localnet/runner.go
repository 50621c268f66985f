package localnet

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// Runner satisfies TB for programs (the demo): Fatal prints and exits after
// running the cleanups, TempDir makes directories under Dir.
type Runner struct {
	Dir      string
	mu       sync.Mutex
	cleanups []func()
	n        int
}

func (r *Runner) Helper() {}

func (r *Runner) Fatal(args ...any) {
	fmt.Fprintln(os.Stderr, args...)
	r.Close()
	os.Exit(1)
}

func (r *Runner) Fatalf(format string, args ...any) { r.Fatal(fmt.Sprintf(format, args...)) }

func (r *Runner) TempDir() string {
	r.mu.Lock()
	r.n++
	dir := filepath.Join(r.Dir, fmt.Sprintf("tmp%d", r.n))
	r.mu.Unlock()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		r.Fatal(err)
	}
	return dir
}

func (r *Runner) Cleanup(f func()) {
	r.mu.Lock()
	r.cleanups = append(r.cleanups, f)
	r.mu.Unlock()
}

// Close runs the cleanups, newest first, once.
func (r *Runner) Close() {
	r.mu.Lock()
	fs := r.cleanups
	r.cleanups = nil
	r.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}
