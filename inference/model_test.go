package inference

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStoriesKnownAnswer(t *testing.T) {
	e := storiesEngine(t)
	const want = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park."
	res, err := e.Generate(context.Background(), GenerateRequest{MaxTokens: 40}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.Text, want) {
		t.Fatalf("greedy from BOS gave %q, want prefix %q", res.Text, want)
	}
	info := e.Info()
	if info.SHA256 != "b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696" {
		t.Errorf("stories260K sha256 %s", info.SHA256)
	}
	c := *info.Config
	if c.Dim != 64 || c.HiddenDim != 172 || c.Layers != 5 || c.Heads != 8 || c.KVHeads != 4 || c.VocabSize != 512 || c.SeqLen != 512 || !c.SharedClassifier {
		t.Errorf("config %+v", c)
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	b, err := TinyCheckpoint()
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseCheckpoint("x", b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.Checkpoint(), b) || m.SHA256 != TinySHA256 {
		t.Fatal("checkpoint does not round-trip")
	}
	path := filepath.Join(t.TempDir(), "tiny.bin")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	m2, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if m2.SHA256 != TinySHA256 || m2.Name != "tiny" || m2.ID() != "tiny@sha256:"+TinySHA256 {
		t.Fatalf("loaded %s %s", m2.Name, m2.SHA256)
	}
}

func header(f ...int32) []byte {
	b := make([]byte, 4*len(f))
	for i, v := range f {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
	}
	return b
}

func TestCheckpointErrors(t *testing.T) {
	tiny, _ := TinyCheckpoint()
	nan := append([]byte(nil), tiny...)
	binary.LittleEndian.PutUint32(nan[HeaderSize+40:], math.Float32bits(float32(math.NaN())))
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "shorter than"},
		{"short header", header(1, 2, 3), "shorter than"},
		{"negative dim", header(-64, 172, 5, 8, 4, 512, 512), "dim -64"},
		{"zero layers", header(64, 172, 0, 8, 4, 512, 512), "n_layers 0"},
		{"kv heads", header(64, 172, 5, 8, 3, 512, 512), "not a multiple"},
		{"kv > heads", header(64, 172, 5, 8, 16, 512, 512), "n_kv_heads 16"},
		{"dim/heads", header(65, 172, 5, 8, 4, 512, 512), "dim 65"},
		{"odd head", header(24, 172, 5, 8, 4, 512, 512), "odd"},
		{"absurd", header(65536, 1<<20, 1024, 1024, 1024, 1<<22, 1<<20), "parameters"},
		{"huge vocab", header(64, 172, 5, 8, 4, math.MaxInt32, 512), "vocab_size"},
		{"min int vocab", header(64, 172, 5, 8, 4, math.MinInt32, 512), "vocab_size"},
		{"v1 export", header(0x616b3432, 1, 64, 172, 5, 8, 4), "version 1"},
		{"truncated", tiny[:len(tiny)-1], "truncated"},
		{"header only", tiny[:HeaderSize], "truncated"},
		{"trailing", append(append([]byte(nil), tiny...), 0), "trailing"},
		{"nan", nan, "non-finite"},
	}
	for _, c := range cases {
		_, err := ParseCheckpoint("x", c.b)
		if err == nil || !errors.Is(err, ErrBadCheckpoint) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
	}
	dir := t.TempDir()
	if _, err := LoadCheckpoint(filepath.Join(dir, "missing.bin")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	p := filepath.Join(dir, "trunc.bin")
	os.WriteFile(p, tiny[:1000], 0o600)
	if _, err := LoadCheckpoint(p); !errors.Is(err, ErrBadCheckpoint) || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated file: %v", err)
	}
	os.WriteFile(p, tiny[:10], 0o600)
	if _, err := LoadCheckpoint(p); !errors.Is(err, ErrBadCheckpoint) {
		t.Errorf("short file: %v", err)
	}
}

func FuzzParseCheckpoint(f *testing.F) {
	f.Add(header(64, 172, 5, 8, 4, 512, 512))
	f.Add(header(8, 16, 1, 2, 1, -4, 4))
	f.Add(append(header(2, 2, 1, 1, 1, 3, 1), make([]byte, 4*(3*2+2+4+4+2+12+2+2+6))...))
	f.Add(header(-1, -1, -1, -1, -1, -1, -1))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseCheckpoint("fuzz", b)
		if err != nil {
			if !errors.Is(err, ErrBadCheckpoint) {
				t.Fatalf("error does not wrap ErrBadCheckpoint: %v", err)
			}
			return
		}
		if !bytes.Equal(m.Checkpoint(), b) {
			t.Fatal("accepted checkpoint does not round-trip")
		}
		// A valid checkpoint must run without panicking.
		toks := []int{0, m.VocabSize - 1}[:min(2, m.SeqLen)]
		st := newState(m, len(toks), 1)
		st.forward(toks, 0, 0)
	})
}
