package inference

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// HeaderSize is the size of a llama2.c checkpoint header: seven int32 fields.
const HeaderSize = 7 * 4

// Sanity bounds for checkpoint headers. They are far above any model this
// engine can run usefully and exist so that a corrupt or hostile header gives
// an error instead of an attempt to allocate terabytes.
const (
	maxDim     = 1 << 16
	maxLayers  = 1 << 10
	maxHeads   = 1 << 10
	maxVocab   = 1 << 22
	maxSeqLen  = 1 << 20
	maxFloats  = 1 << 36 // 256 GiB of float32
	v1Magic    = 0x616b3432
	floatBytes = 4
)

// ErrBadCheckpoint is wrapped by every checkpoint decoding error.
var ErrBadCheckpoint = errors.New("bad checkpoint")

// Config is the llama2.c model configuration.
type Config struct {
	Dim       int // transformer width
	HiddenDim int // feed-forward width
	Layers    int
	Heads     int // query heads
	KVHeads   int // key/value heads (grouped-query attention when < Heads)
	VocabSize int
	SeqLen    int // maximum context length
	// SharedClassifier is true when the output classifier reuses the token
	// embedding table (a positive vocab size in the header).
	SharedClassifier bool
}

// HeadSize is the width of one attention head.
func (c Config) HeadSize() int { return c.Dim / c.Heads }

// KVDim is the width of the key and value projections.
func (c Config) KVDim() int { return c.Dim * c.KVHeads / c.Heads }

// ParseHeader decodes and validates a llama2.c checkpoint header.
func ParseHeader(b []byte) (Config, error) {
	if len(b) < HeaderSize {
		return Config{}, fmt.Errorf("%w: file is %d bytes, shorter than the %d-byte header", ErrBadCheckpoint, len(b), HeaderSize)
	}
	var f [7]int32
	for i := range f {
		f[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	if uint32(f[0]) == v1Magic {
		return Config{}, fmt.Errorf("%w: this is a llama2.c version 1/2 export (magic \"ak42\"); only the legacy version 0 format that run.c reads is supported", ErrBadCheckpoint)
	}
	c := Config{
		Dim: int(f[0]), HiddenDim: int(f[1]), Layers: int(f[2]), Heads: int(f[3]),
		KVHeads: int(f[4]), VocabSize: int(f[5]), SeqLen: int(f[6]),
	}
	c.SharedClassifier = c.VocabSize > 0
	if c.VocabSize < 0 {
		c.VocabSize = -c.VocabSize
	}
	return c, c.Validate()
}

// Validate checks that the configuration describes a model this engine can run.
func (c Config) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrBadCheckpoint, fmt.Sprintf(format, a...))
	}
	switch {
	case c.Dim <= 0 || c.Dim > maxDim:
		return bad("dim %d out of range (1..%d)", c.Dim, maxDim)
	case c.HiddenDim <= 0 || c.HiddenDim > 16*maxDim:
		return bad("hidden_dim %d out of range (1..%d)", c.HiddenDim, 16*maxDim)
	case c.Layers <= 0 || c.Layers > maxLayers:
		return bad("n_layers %d out of range (1..%d)", c.Layers, maxLayers)
	case c.Heads <= 0 || c.Heads > maxHeads:
		return bad("n_heads %d out of range (1..%d)", c.Heads, maxHeads)
	case c.KVHeads <= 0 || c.KVHeads > c.Heads:
		return bad("n_kv_heads %d out of range (1..n_heads=%d)", c.KVHeads, c.Heads)
	case c.Heads%c.KVHeads != 0:
		return bad("n_heads %d is not a multiple of n_kv_heads %d", c.Heads, c.KVHeads)
	case c.Dim%c.Heads != 0:
		return bad("dim %d is not a multiple of n_heads %d", c.Dim, c.Heads)
	case c.HeadSize()%2 != 0:
		return bad("head size %d is odd; RoPE needs pairs", c.HeadSize())
	case c.VocabSize < 3 || c.VocabSize > maxVocab:
		return bad("vocab_size %d out of range (3..%d)", c.VocabSize, maxVocab)
	case c.SeqLen <= 0 || c.SeqLen > maxSeqLen:
		return bad("seq_len %d out of range (1..%d)", c.SeqLen, maxSeqLen)
	}
	if n := c.numFloats(); n > maxFloats {
		return bad("model would need %d parameters, above the limit of %d", n, int64(maxFloats))
	}
	return nil
}

// numFloats is the number of float32 values after the header, in the order
// run.c's memory_map_weights reads them. The bounds in Validate keep every
// product inside int64.
func (c Config) numFloats() int64 {
	dim, hid, l := int64(c.Dim), int64(c.HiddenDim), int64(c.Layers)
	hs, kv := int64(c.HeadSize()), int64(c.KVDim())
	n := int64(c.VocabSize) * dim // token embedding
	n += l * dim                  // rms_att
	n += l * dim * dim            // wq
	n += 2 * l * dim * kv         // wk, wv
	n += l * dim * dim            // wo
	n += l * dim                  // rms_ffn
	n += 3 * l * dim * hid        // w1, w2, w3
	n += dim                      // rms_final
	n += int64(c.SeqLen) * hs     // legacy freq_cis_real and freq_cis_imag
	if !c.SharedClassifier {
		n += int64(c.VocabSize) * dim
	}
	return n
}

// FileSize is the exact size in bytes of a checkpoint with this configuration.
func (c Config) FileSize() int64 { return HeaderSize + floatBytes*c.numFloats() }

// Params is the number of model parameters (excluding the legacy RoPE tables).
func (c Config) Params() int64 { return c.numFloats() - int64(c.SeqLen)*int64(c.HeadSize()) }

// header encodes the configuration as a llama2.c header.
func (c Config) header() []byte {
	v := c.VocabSize
	if !c.SharedClassifier {
		v = -v
	}
	f := [7]int{c.Dim, c.HiddenDim, c.Layers, c.Heads, c.KVHeads, v, c.SeqLen}
	b := make([]byte, HeaderSize)
	for i, x := range f {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(int32(x)))
	}
	return b
}
