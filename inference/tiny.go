package inference

import (
	"fmt"
	"sync"
)

// merit-tiny is the built-in default model: a transformer whose weights are
// drawn from a fixed seed by the code below, so every machine builds the same
// bytes without a download. It is serialized in llama2.c format and loaded
// through the same loader as any checkpoint; its identity is the sha256 of
// those bytes. Its output is gibberish made of English fragments: the model
// exists to be served fast and verified exactly, not to be read.

const (
	// TinyName is merit-tiny's model name.
	TinyName = "merit-tiny"
	// TinySeed seeds merit-tiny's weights ("merit-v1" in ASCII).
	TinySeed uint64 = 0x6d657269742d7631
	// TinySHA256 is the sha256 of merit-tiny's checkpoint bytes. A test
	// rebuilds the model and checks it, so a change to the generator cannot
	// go unnoticed.
	TinySHA256 = "2f27905e0378c0ede9f74e1d1f4ff843657e08571013367bcc5465e377523467"
	// TinyTokenizerSHA256 is the sha256 of merit-tiny's tokenizer file bytes.
	TinyTokenizerSHA256 = "9189e4477fd830c6cd5bd3885649d17a116ebabc47000cb9e8df83f70b4a9dda"
)

// TinyConfig is merit-tiny's shape: about a million parameters, grouped-query
// attention (8 query heads share 4 key/value heads) and an unshared classifier.
var TinyConfig = Config{
	Dim: 128, HiddenDim: 384, Layers: 4, Heads: 8, KVHeads: 4,
	VocabSize: 1024, SeqLen: 512, SharedClassifier: false,
}

// TinyID is merit-tiny's model id, "merit-tiny@sha256:<hex>".
func TinyID() string { return TinyName + "@sha256:" + TinySHA256 }

// tinyScales are the weight scales; each tensor is uniform in [-1, 1) times
// its scale divided by sqrt(fan_in/3), so a scale of 1 keeps unit variance.
type tinyScales struct {
	emb, q, k, v, o, up, down, cls float32
	// clsRare scales the classifier rows of <unk>, BOS and the byte
	// fallback tokens so they are rarely chosen; EOS keeps the full scale.
	clsRare float32
}

// The classifier is deliberately large so that the logits spread widely
// (standard deviation near 8): greedy choices then win by a clear margin
// almost always, which lets the verifier tell merit-tiny apart from any
// other model, including a slightly perturbed copy. Query and key scales make
// attention sharp and position-dependent, so that context, not just the last
// token, decides the next one.
var tinyDefaultScales = tinyScales{emb: 1, q: 2, k: 2, v: 1, o: 1, up: 1, down: 1, cls: 8, clsRare: 0.3}

// tinyData draws every float of the checkpoint in file order.
func tinyData(seed uint64, sc tinyScales) []float32 {
	c := TinyConfig
	rng := splitmix64(seed)
	data := make([]float32, 0, c.numFloats())
	fill := func(n int, scale float32) {
		for range n {
			data = append(data, float32(rng.uniform()*scale))
		}
	}
	ones := func(n int) {
		for range n {
			data = append(data, 1)
		}
	}
	dim, hid, kv, l := c.Dim, c.HiddenDim, c.KVDim(), c.Layers
	// sqrt(3/fan_in) written as exact constants so no math library call is involved.
	const invDim = 0.15309310892394863  // sqrt(3/128)
	const invHid = 0.088388347648318440 // sqrt(3/384)
	fill(c.VocabSize*dim, sc.emb)
	ones(l * dim)
	fill(l*dim*dim, sc.q*invDim)
	fill(l*dim*kv, sc.k*invDim)
	fill(l*dim*kv, sc.v*invDim)
	fill(l*dim*dim, sc.o*invDim)
	ones(l * dim)
	fill(l*dim*hid, sc.up*invDim)   // w1
	fill(l*hid*dim, sc.down*invHid) // w2
	fill(l*dim*hid, sc.up*invDim)   // w3
	ones(dim)
	for range c.SeqLen * c.HeadSize() { // legacy RoPE tables: unused, zero
		data = append(data, 0)
	}
	for id := range c.VocabSize {
		s := sc.cls * invDim
		if id < byteBase+256 && id != TokenEOS {
			s *= sc.clsRare
		}
		fill(dim, s)
	}
	return data
}

// tinyPieces builds merit-tiny's vocabulary: <unk>, BOS, EOS and the 256
// byte tokens as in every llama2.c vocabulary, then merges (score -k for the
// k-th, so earlier merges win), then single characters (scored below all
// merges, as sentencepiece exports them), truncated to the vocabulary size.
func tinyPieces() ([]string, []float32, int) {
	pieces := []string{"<unk>", "\n<s>\n", "\n</s>\n"}
	for b := range 256 {
		pieces = append(pieces, fmt.Sprintf("<0x%02X>", b))
	}
	have := map[string]bool{}
	var singles []string
	for c := byte(32); c < 127; c++ {
		singles = append(singles, string(c))
		have[string(c)] = true
	}
	// Add words in order, each with the prefixes it needs, skipping a word
	// whose prefixes would overflow the vocabulary; the list ends with
	// two-letter fragments (one merge each) that fill the last slots.
	n := TinyConfig.VocabSize - len(pieces) - len(singles)
	var merges []string
	for _, w := range tinyWords {
		var need []string
		for k := 2; k <= len(w); k++ {
			if !have[w[:k]] {
				need = append(need, w[:k])
			}
		}
		if !have[w[:1]] && len(singles)+len(merges)+len(need)+1+len(pieces) <= TinyConfig.VocabSize {
			singles = append(singles, w[:1])
			have[w[:1]] = true
			n--
		}
		if len(merges)+len(need) > n {
			continue
		}
		for _, p := range need {
			merges = append(merges, p)
			have[p] = true
		}
	}
	if len(merges) != n {
		panic(fmt.Sprintf("merit-tiny word list fills %d of %d merge slots", len(merges), n))
	}
	scores := make([]float32, len(pieces), TinyConfig.VocabSize)
	pieces = append(pieces, merges...)
	for k := range merges {
		scores = append(scores, -float32(k))
	}
	pieces = append(pieces, singles...)
	for k := range singles {
		scores = append(scores, -float32(len(merges)+k))
	}
	maxLen := 0
	for _, p := range pieces {
		maxLen = max(maxLen, len(p))
	}
	return pieces, scores, maxLen
}

// NewTiny builds a merit-tiny-shaped model from any seed; TinySeed gives
// merit-tiny itself. Other seeds are for tests (a different model of the
// same shape must fail verification).
func NewTiny(seed uint64) (*Model, *Tokenizer, error) {
	raw := &Model{Config: TinyConfig, data: tinyData(seed, tinyDefaultScales)}
	m, err := ParseCheckpoint(TinyName, raw.Checkpoint())
	if err != nil {
		return nil, nil, err
	}
	pieces, scores, maxLen := tinyPieces()
	t, err := NewTokenizer(pieces, scores, maxLen)
	if err != nil {
		return nil, nil, err
	}
	// Round-trip through the file format so merit-tiny uses the same loader.
	t, err = ParseTokenizer(t.Serialize(), TinyConfig.VocabSize)
	if err != nil {
		return nil, nil, err
	}
	return m, t, nil
}

var tiny = sync.OnceValues(func() (*tinyPair, error) {
	m, t, err := NewTiny(TinySeed)
	if err != nil {
		return nil, err
	}
	return &tinyPair{m, t}, nil
})

type tinyPair struct {
	m *Model
	t *Tokenizer
}

// Tiny returns merit-tiny, built once per process and shared (read-only).
func Tiny() (*Model, *Tokenizer, error) {
	p, err := tiny()
	if err != nil {
		return nil, nil, err
	}
	return p.m, p.t, nil
}

// TinyCheckpoint returns merit-tiny's checkpoint in llama2.c format.
func TinyCheckpoint() ([]byte, error) {
	m, _, err := Tiny()
	if err != nil {
		return nil, err
	}
	return m.Checkpoint(), nil
}

// TinyTokenizer returns merit-tiny's tokenizer in llama2.c tokenizer.bin format.
func TinyTokenizer() ([]byte, error) {
	_, t, err := Tiny()
	if err != nil {
		return nil, err
	}
	return t.Serialize(), nil
}

// TinyEngine returns a LocalEngine serving merit-tiny.
func TinyEngine(opts Options) (*LocalEngine, error) {
	m, t, err := Tiny()
	if err != nil {
		return nil, err
	}
	return NewLocalEngine(m, t, opts)
}

// splitmix64 is the weight generator's PRNG (Steele, Lea and Flood, 2014).
type splitmix64 uint64

func (s *splitmix64) next() uint64 {
	*s += 0x9E3779B97F4A7C15
	z := uint64(*s)
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// uniform returns an exact float32 in [-1, 1) from the top 24 bits.
func (s *splitmix64) uniform() float32 {
	return float32(int32(s.next()>>40)-(1<<23)) / (1 << 23)
}
