package inference

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unsafe"
)

// Model is a loaded llama2.c checkpoint. It is immutable after loading and
// safe to share between goroutines; per-request state lives elsewhere.
type Model struct {
	Config
	// Name is a human label ("merit-tiny", "stories260K").
	Name string
	// SHA256 is the hex digest of the checkpoint file bytes, the model's identity.
	SHA256 string

	data     []float32 // every float after the header, in file order
	tokEmb   []float32 // VocabSize x Dim
	layers   []layerWeights
	rmsFinal []float32
	wcls     []float32 // VocabSize x Dim

	rope []float32 // SeqLen x HeadSize: cos, sin pairs per frequency

	decodeOnce sync.Once
	decode     *decodeWeights // see decode.go
}

type layerWeights struct {
	rmsAtt, wq, wk, wv, wo []float32
	rmsFFN, w1, w2, w3     []float32
}

// ID is the model identifier "name@sha256:<hex>".
func (m *Model) ID() string { return m.Name + "@sha256:" + m.SHA256 }

// ParseCheckpoint decodes a checkpoint held in memory.
func ParseCheckpoint(name string, b []byte) (*Model, error) {
	cfg, err := ParseHeader(b)
	if err != nil {
		return nil, err
	}
	if err := checkSize(cfg, int64(len(b))); err != nil {
		return nil, err
	}
	data := make([]float32, cfg.numFloats())
	for i := range data {
		data[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[HeaderSize+4*i:]))
	}
	sum := sha256.Sum256(b)
	return newModel(name, cfg, data, hex.EncodeToString(sum[:]))
}

// LoadCheckpoint reads a checkpoint file. The model name is the file name
// without its extension.
func LoadCheckpoint(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open checkpoint: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat checkpoint: %w", err)
	}
	hdr := make([]byte, HeaderSize)
	if _, err := io.ReadFull(f, hdr); err != nil {
		return nil, fmt.Errorf("%w: %s: reading header: file is %d bytes, shorter than the %d-byte header", ErrBadCheckpoint, path, st.Size(), HeaderSize)
	}
	cfg, err := ParseHeader(hdr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// Check the size before allocating: a corrupt header must not make us
	// allocate memory the file cannot fill.
	if err := checkSize(cfg, st.Size()); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	data := make([]float32, cfg.numFloats())
	h := sha256.New()
	h.Write(hdr)
	raw := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(data))), len(data)*floatBytes)
	if _, err := io.ReadFull(io.TeeReader(f, h), raw); err != nil {
		return nil, fmt.Errorf("%w: %s: reading tensors: %v", ErrBadCheckpoint, path, err)
	}
	if !littleEndian() {
		for i, v := range data {
			data[i] = math.Float32frombits(swap32(math.Float32bits(v)))
		}
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return newModel(name, cfg, data, hex.EncodeToString(h.Sum(nil)))
}

func checkSize(cfg Config, size int64) error {
	want := cfg.FileSize()
	switch {
	case size < want:
		return fmt.Errorf("%w: truncated: file is %d bytes, config %+v needs %d", ErrBadCheckpoint, size, cfg, want)
	case size > want:
		return fmt.Errorf("%w: file is %d bytes, %d more than config %+v needs (wrong format or trailing data)", ErrBadCheckpoint, size, size-want, cfg)
	}
	return nil
}

// newModel slices the tensors out of data (memory_map_weights in run.c) and
// checks that every value is finite: a NaN or infinity in the weights would
// make greedy decoding and verification meaningless.
func newModel(name string, cfg Config, data []float32, sum string) (*Model, error) {
	for i, v := range data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("%w: non-finite weight %v at float index %d", ErrBadCheckpoint, v, i)
		}
	}
	m := &Model{Config: cfg, Name: name, SHA256: sum, data: data}
	dim, hid, kv, l := cfg.Dim, cfg.HiddenDim, cfg.KVDim(), cfg.Layers
	off := 0
	take := func(n int) []float32 {
		s := data[off : off+n : off+n]
		off += n
		return s
	}
	m.tokEmb = take(cfg.VocabSize * dim)
	rmsAtt := take(l * dim)
	wq := take(l * dim * dim)
	wk := take(l * dim * kv)
	wv := take(l * dim * kv)
	wo := take(l * dim * dim)
	rmsFFN := take(l * dim)
	w1 := take(l * dim * hid)
	w2 := take(l * hid * dim)
	w3 := take(l * dim * hid)
	m.rmsFinal = take(dim)
	take(cfg.SeqLen * cfg.HeadSize()) // legacy RoPE tables, unused
	if cfg.SharedClassifier {
		m.wcls = m.tokEmb
	} else {
		m.wcls = take(cfg.VocabSize * dim)
	}
	m.layers = make([]layerWeights, l)
	for i := range m.layers {
		m.layers[i] = layerWeights{
			rmsAtt: rmsAtt[i*dim : (i+1)*dim],
			wq:     wq[i*dim*dim : (i+1)*dim*dim],
			wk:     wk[i*dim*kv : (i+1)*dim*kv],
			wv:     wv[i*dim*kv : (i+1)*dim*kv],
			wo:     wo[i*dim*dim : (i+1)*dim*dim],
			rmsFFN: rmsFFN[i*dim : (i+1)*dim],
			w1:     w1[i*dim*hid : (i+1)*dim*hid],
			w2:     w2[i*hid*dim : (i+1)*hid*dim],
			w3:     w3[i*dim*hid : (i+1)*dim*hid],
		}
	}
	m.rope = ropeTable(cfg.SeqLen, cfg.HeadSize())
	return m, nil
}

// ropeTable precomputes the RoPE rotations exactly as run.c derives them
// (freq = 1/10000^(i/head_size) in float32, angle = pos*freq in float32), but
// with the deterministic sin/cos so every machine gets the same table.
func ropeTable(seqLen, headSize int) []float32 {
	half := headSize / 2
	freq := make([]float32, half)
	for i := range freq {
		e := float32(2*i) / float32(headSize)
		pw := float32(detExp(float64(float64(e) * 9.210340371976184))) // ln(10000)
		freq[i] = 1 / pw
	}
	t := make([]float32, seqLen*headSize)
	for pos := 0; pos < seqLen; pos++ {
		row := t[pos*headSize : (pos+1)*headSize]
		for i, f := range freq {
			val := float32(float32(pos) * f)
			s, c := detSinCos(float64(val))
			row[2*i], row[2*i+1] = float32(c), float32(s)
		}
	}
	return t
}

// Checkpoint serializes the model in llama2.c format; the result hashes to SHA256.
func (m *Model) Checkpoint() []byte {
	b := make([]byte, 0, HeaderSize+floatBytes*len(m.data))
	b = append(b, m.Config.header()...)
	for _, v := range m.data {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func littleEndian() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}

func swap32(x uint32) uint32 {
	return x>>24 | (x>>8)&0xff00 | (x<<8)&0xff0000 | x<<24
}
