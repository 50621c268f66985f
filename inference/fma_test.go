package inference

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// fusedOp matches the floating-point fused multiply-add mnemonics of the
// architectures where the Go compiler fuses x*y+z.
var fusedOp = regexp.MustCompile(`^(FN?M(ADD|SUB)[SDF]?|WFN?M[AS][SD]B|XSN?M(ADD|SUB)[AM][DS]P|VFM(LA|LS)|VFN?M[AS][SD]B|VFN?M(ADD|SUB)[0-9]+[SP][SD])$`)

// fusingArches are the targets whose compiler fuses x*y+z; "amd64/v3" is
// amd64 built with GOAMD64=v3, which fuses too.
var fusingArches = []string{"arm64", "ppc64le", "s390x", "riscv64", "loong64", "amd64/v3"}

// fusedOps compiles the package in dir for arch and lists its fused
// floating-point instructions.
func fusedOps(t *testing.T, dir, arch string) []string {
	t.Helper()
	cmd := exec.Command("go", "build", "-gcflags=-S", "-o", os.DevNull, ".")
	cmd.Dir = dir
	goarch, level, _ := strings.Cut(arch, "/")
	cmd.Env = append(os.Environ(), "GOARCH="+goarch, "GOOS=linux", "CGO_ENABLED=0")
	if level != "" {
		cmd.Env = append(cmd.Env, "GOAMD64="+level)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("GOARCH=%s go build: %v\n%s", arch, err, out)
	}
	var found []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(line, "\t")
		if len(f) >= 3 && strings.HasPrefix(f[1], "0x") && fusedOp.MatchString(f[2]) {
			found = append(found, f[1]+" "+f[2])
		}
	}
	return found
}

// TestNoFusedMultiplyAdd compiles this package for architectures where the
// compiler may fuse x*y+z into one rounding and checks that it never did:
// the engine's arithmetic is then the same IEEE 754 sequence on every
// machine. A control package that does fuse proves the scan works. By
// default it checks arm64 (about 10 s with a cold build cache, instant
// after); MERIT_FMA_ARCHES=all checks every fusing target, or give a comma
// list such as arm64,amd64/v3.
func TestNoFusedMultiplyAdd(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles the package")
	}
	arches := []string{"arm64"}
	switch v := os.Getenv("MERIT_FMA_ARCHES"); v {
	case "":
	case "all":
		arches = fusingArches
	default:
		arches = strings.Split(v, ",")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go command not found")
	}
	control := t.TempDir()
	os.WriteFile(filepath.Join(control, "go.mod"), []byte("module control\n\ngo 1.26\n"), 0o600)
	os.WriteFile(filepath.Join(control, "f.go"), []byte("package control\n\nfunc F(x, y, z float32) float32 { return x*y + z }\n"), 0o600)
	for _, arch := range arches {
		if len(fusedOps(t, control, arch)) == 0 {
			t.Fatalf("scan found no fused op in the control package on %s", arch)
		}
		if ops := fusedOps(t, ".", arch); len(ops) > 0 {
			t.Errorf("%s: fused multiply-add in the engine (wrap the product in an explicit conversion):\n%s", arch, strings.Join(ops, "\n"))
		}
	}
}
