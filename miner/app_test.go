package miner

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/meritnet/merit/inference"
)

// run executes merit-miner with args and returns stdout, stderr and the error.
func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	app := NewApp()
	var out, errOut bytes.Buffer
	app.Writer, app.ErrWriter = &out, &errOut
	err := app.RunContext(context.Background(), append([]string{"merit-miner"}, args...))
	return out.String(), errOut.String(), err
}

func modelsDir(t *testing.T) string {
	if d := os.Getenv("MERIT_TEST_MODELS"); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "shared", "models")
}

func TestGenerateTiny(t *testing.T) {
	out1, errOut, err := run(t, "generate", "-n", "20", "--temperature", "0", "--prompt", "Once upon a time")
	if err != nil {
		t.Fatal(err)
	}
	out2, _, _ := run(t, "generate", "-n", "20", "-t", "0", "--prompt", "Once upon a time")
	if out1 != out2 || !strings.HasPrefix(out1, "Once upon a time") || len(out1) < 40 {
		t.Fatalf("greedy output %q then %q", out1, out2)
	}
	if !strings.Contains(errOut, "achieved tok/s:") || !strings.Contains(errOut, inference.TinyID()) {
		t.Fatalf("stderr %q", errOut)
	}
	// Seeded sampling is reproducible; env vars work.
	t.Setenv("MERIT_STEPS", "15")
	t.Setenv("MERIT_SEED", "7")
	a, _, _ := run(t, "generate", "--echo=false")
	b, _, _ := run(t, "generate", "--echo=false")
	c, _, _ := run(t, "generate", "--echo=false", "--seed", "8")
	if a != b || a == c || a == "" {
		t.Fatalf("sampling: %q %q %q", a, b, c)
	}
}

func TestGenerateStories(t *testing.T) {
	dir := modelsDir(t)
	ckpt := filepath.Join(dir, "stories260K.bin")
	if _, err := os.Stat(ckpt); err != nil {
		t.Skipf("test model missing (%v); set MERIT_TEST_MODELS", err)
	}
	out, _, err := run(t, "generate", "--checkpoint", ckpt, "--temperature", "0", "-n", "40")
	if err != nil {
		t.Fatal(err)
	}
	if want := "Once upon a time, there was a little girl named Lily. She loved to play outside in the park."; !strings.HasPrefix(out, want) {
		t.Fatalf("got %q", out)
	}
	out, _, err = run(t, "model", "info", "--checkpoint", ckpt, "--tokenizer", filepath.Join(dir, "tok512.bin"))
	if err != nil || !strings.Contains(out, "stories260K@sha256:b0a507e7") || !strings.Contains(out, "kv_heads:    4") {
		t.Fatalf("%v %s", err, out)
	}
}

func TestModelInfo(t *testing.T) {
	out, _, err := run(t, "model", "info")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{inference.TinyID(), "dim:         128", "vocab_size:  1024", "classifier:  separate"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	out, _, err = run(t, "model", "info", "--json")
	var info inference.ModelInfo
	if err != nil || json.Unmarshal([]byte(out), &info) != nil || info.ID != inference.TinyID() || info.Config.Layers != 4 {
		t.Fatalf("%v %s", err, out)
	}
}

func TestCLIErrors(t *testing.T) {
	dir := t.TempDir()
	tiny, _ := inference.TinyCheckpoint()
	tok, _ := inference.TinyTokenizer()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("tiny.bin", tiny)
	write("tok1024.bin", tok)
	trunc := write("trunc.bin", tiny[:len(tiny)/2])
	badHdr := write("bad.bin", append([]byte{0xff, 0xff, 0xff, 0xff}, tiny[4:]...))
	alone := filepath.Join(t.TempDir(), "alone.bin")
	os.WriteFile(alone, tiny, 0o600)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"generate", "--checkpoint", filepath.Join(dir, "missing.bin")}, "no such file"},
		{[]string{"generate", "--checkpoint", trunc}, "truncated"},
		{[]string{"generate", "--checkpoint", badHdr}, "bad checkpoint: dim -1"},
		{[]string{"generate", "--checkpoint", alone}, "pass --tokenizer"},
		{[]string{"generate", "--checkpoint", good, "--tokenizer", trunc}, "bad tokenizer"},
		{[]string{"generate", "--tokenizer", good}, "needs --checkpoint"},
		{[]string{"generate", "-n", "-1"}, "negative"},
		{[]string{"generate", "--temperature", "-1"}, "temperature"},
		{[]string{"model", "info", "--checkpoint", badHdr}, "bad checkpoint"},
	}
	for _, c := range cases {
		_, _, err := run(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.args, err, c.want)
		}
	}
	// The tokenizer is found beside the checkpoint.
	out, _, err := run(t, "generate", "--checkpoint", good, "-n", "5", "--echo=false", "-t", "0")
	if err != nil || out == "" {
		t.Fatalf("%v %q", err, out)
	}
}
