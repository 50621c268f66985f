package inference

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
)

// Special token ids of llama2.c (sentencepiece) vocabularies.
const (
	TokenUNK = 0
	TokenBOS = 1
	TokenEOS = 2
	// byteBase is the id of "<0x00>": byte fallback token b is b+3.
	byteBase = 3
)

// ErrBadTokenizer is wrapped by every tokenizer decoding error.
var ErrBadTokenizer = errors.New("bad tokenizer")

// Tokenizer is a llama2.c tokenizer: a scored vocabulary encoded greedily by
// merging the best-scoring adjacent pair, with byte fallback. Immutable and
// safe for concurrent use.
type Tokenizer struct {
	maxTokenLength int
	pieces         []string
	scores         []float32
	lookup         map[string]int
}

// NewTokenizer builds a tokenizer from pieces and scores. Duplicate pieces are
// allowed; lookups resolve to the lowest id.
func NewTokenizer(pieces []string, scores []float32, maxTokenLength int) (*Tokenizer, error) {
	if len(pieces) != len(scores) {
		return nil, fmt.Errorf("%w: %d pieces but %d scores", ErrBadTokenizer, len(pieces), len(scores))
	}
	if len(pieces) < 3 {
		return nil, fmt.Errorf("%w: vocabulary of %d tokens is too small", ErrBadTokenizer, len(pieces))
	}
	t := &Tokenizer{maxTokenLength: maxTokenLength, pieces: pieces, scores: scores, lookup: make(map[string]int, len(pieces))}
	for i, p := range pieces {
		if _, dup := t.lookup[p]; !dup {
			t.lookup[p] = i
		}
	}
	return t, nil
}

// ParseTokenizer decodes llama2.c's tokenizer.bin format: int32
// max_token_length, then for each of vocabSize tokens a float32 score, an
// int32 length and that many bytes. The file does not store the vocabulary
// size; it comes from the model header.
func ParseTokenizer(b []byte, vocabSize int) (*Tokenizer, error) {
	if vocabSize < 3 || vocabSize > maxVocab {
		return nil, fmt.Errorf("%w: vocab size %d out of range (3..%d)", ErrBadTokenizer, vocabSize, maxVocab)
	}
	if len(b) < 4 {
		return nil, fmt.Errorf("%w: truncated: %d bytes, no header", ErrBadTokenizer, len(b))
	}
	maxLen := int32(binary.LittleEndian.Uint32(b))
	if maxLen < 0 {
		return nil, fmt.Errorf("%w: negative max_token_length %d", ErrBadTokenizer, maxLen)
	}
	// Every entry needs at least 8 bytes; check before allocating.
	if int64(len(b)-4) < 8*int64(vocabSize) {
		return nil, fmt.Errorf("%w: truncated: %d bytes cannot hold %d tokens", ErrBadTokenizer, len(b), vocabSize)
	}
	pieces := make([]string, vocabSize)
	scores := make([]float32, vocabSize)
	off := 4
	for i := range vocabSize {
		if len(b)-off < 8 {
			return nil, fmt.Errorf("%w: truncated at token %d of %d", ErrBadTokenizer, i, vocabSize)
		}
		scores[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[off:]))
		n := int32(binary.LittleEndian.Uint32(b[off+4:]))
		off += 8
		if n < 0 {
			return nil, fmt.Errorf("%w: token %d has negative length %d", ErrBadTokenizer, i, n)
		}
		if int64(n) > int64(len(b)-off) {
			return nil, fmt.Errorf("%w: truncated: token %d claims %d bytes, %d left", ErrBadTokenizer, i, n, len(b)-off)
		}
		if math.IsNaN(float64(scores[i])) {
			return nil, fmt.Errorf("%w: token %d has a NaN score", ErrBadTokenizer, i)
		}
		pieces[i] = string(b[off : off+int(n)])
		off += int(n)
	}
	if off != len(b) {
		return nil, fmt.Errorf("%w: %d trailing bytes after %d tokens (the tokenizer's vocabulary is larger than the model's?)", ErrBadTokenizer, len(b)-off, vocabSize)
	}
	return NewTokenizer(pieces, scores, int(maxLen))
}

// LoadTokenizer reads a tokenizer file for a model with vocabSize tokens.
func LoadTokenizer(path string, vocabSize int) (*Tokenizer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("open tokenizer: %w", err)
	}
	t, err := ParseTokenizer(b, vocabSize)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Serialize encodes the tokenizer in llama2.c's tokenizer.bin format.
func (t *Tokenizer) Serialize() []byte {
	n := 4
	for _, p := range t.pieces {
		n += 8 + len(p)
	}
	b := make([]byte, 0, n)
	b = binary.LittleEndian.AppendUint32(b, uint32(t.maxTokenLength))
	for i, p := range t.pieces {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(t.scores[i]))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	return b
}

// VocabSize is the number of tokens.
func (t *Tokenizer) VocabSize() int { return len(t.pieces) }

// Vocab returns the raw vocabulary entry of id ("" when out of range).
func (t *Tokenizer) Vocab(id int) string {
	if id < 0 || id >= len(t.pieces) {
		return ""
	}
	return t.pieces[id]
}

// Piece decodes one token the way run.c's decode does: after BOS a leading
// space is dropped, and "<0xXX>" byte tokens become the raw byte. Invalid ids
// decode to "".
func (t *Tokenizer) Piece(prev, id int) string {
	if id < 0 || id >= len(t.pieces) {
		return ""
	}
	p := t.pieces[id]
	if prev == TokenBOS && len(p) > 0 && p[0] == ' ' {
		p = p[1:]
	}
	if b, ok := parseBytePiece(p); ok {
		return string([]byte{b})
	}
	return p
}

// Decode concatenates the pieces of ids; prev is the token before ids[0] (-1
// for none), which matters only for the after-BOS rule.
func (t *Tokenizer) Decode(prev int, ids []int) string {
	var out []byte
	for _, id := range ids {
		out = append(out, t.Piece(prev, id)...)
		prev = id
	}
	return string(out)
}

// parseBytePiece mirrors sscanf(piece, "<0x%02hhX>", &b) == 1: the prefix
// "<0x" and one or two hex digits; the closing '>' is not checked by sscanf.
func parseBytePiece(p string) (byte, bool) {
	if len(p) < 4 || p[0] != '<' || p[1] != '0' || p[2] != 'x' {
		return 0, false
	}
	v, n := 0, 0
	for n < 2 && 3+n < len(p) {
		d, ok := hexDigit(p[3+n])
		if !ok {
			break
		}
		v = v*16 + d
		n++
	}
	return byte(v), n > 0
}

func hexDigit(c byte) (int, bool) {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0'), true
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10, true
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10, true
	}
	return 0, false
}

// Encode tokenizes text exactly as run.c's encode: optional BOS, a dummy
// prefix " " when text is not empty, one token per UTF-8 character (byte
// fallback tokens when the character is not in the vocabulary), then
// repeatedly merge the adjacent pair whose concatenation is the
// highest-scoring vocabulary entry (leftmost on ties, scores must exceed
// -1e10), and optional EOS.
//
// One difference is unavoidable: a Go string may contain NUL bytes, which
// end a C string; here they are encoded with byte fallback like any other
// unknown character.
func (t *Tokenizer) Encode(text string, bos, eos bool) []int {
	toks := make([]int, 0, len(text)+3)
	if bos {
		toks = append(toks, TokenBOS)
	}
	toks = t.merge(t.unmerged(toks, text))
	if eos {
		toks = append(toks, TokenEOS)
	}
	return toks
}

// unmerged appends the tokens before merging: the dummy prefix and one
// token per character, or its bytes.
func (t *Tokenizer) unmerged(toks []int, text string) []int {
	if text != "" {
		if id, ok := t.lookup[" "]; ok {
			toks = append(toks, id)
		} else {
			toks = append(toks, t.byteToken(' '))
		}
	}
	for i := 0; i < len(text); {
		// A character is a lead byte plus at most three continuation bytes,
		// as run.c counts them (it does not validate UTF-8).
		j := i + 1
		for j < len(text) && text[j]&0xC0 == 0x80 && j-i < 4 {
			j++
		}
		if id, ok := t.lookup[text[i:j]]; ok {
			toks = append(toks, id)
		} else {
			for k := i; k < j; k++ {
				toks = append(toks, t.byteToken(text[k]))
			}
		}
		i = j
	}
	return toks
}

// byteToken is the byte fallback token of b; a vocabulary too small to have
// byte tokens (where run.c would read out of bounds) gets <unk> instead.
func (t *Tokenizer) byteToken(b byte) int {
	if id := int(b) + byteBase; id < len(t.pieces) {
		return id
	}
	return TokenUNK
}

// merge runs the BPE merge loop over a linked list with a max-heap of the
// candidate pairs, so a prompt of n characters costs O(n log n) instead of
// run.c's O(n²) scan per merge. The heap orders by score, then by position,
// which is run.c's choice exactly (strict >, leftmost wins): a merged node
// keeps its left position, so positions stay in list order. Entries made
// stale by a merge are skipped when popped.
func (t *Tokenizer) merge(toks []int) []int {
	n := len(toks)
	if n < 2 {
		return toks
	}
	next := make([]int, n)
	prev := make([]int, n)
	pair := make([]int, n) // id of toks[i]+toks[next[i]], or -1
	for i := range n {
		next[i], prev[i] = i+1, i-1
	}
	next[n-1] = -1
	h := make(pairHeap, 0, n)
	lookPair := func(i int) {
		pair[i] = -1
		if j := next[i]; j >= 0 {
			if id, ok := t.lookup[t.Vocab(toks[i])+t.Vocab(toks[j])]; ok && t.scores[id] > -1e10 {
				pair[i] = id
				h.push(pairEntry{score: t.scores[id], pos: i, id: id, right: j})
			}
		}
	}
	for i := range n {
		lookPair(i)
	}
	for len(h) > 0 {
		e := h.pop()
		// Stale: the left node was merged away or re-paired, or its right
		// neighbour changed since the entry was pushed.
		if toks[e.pos] < 0 || pair[e.pos] != e.id || next[e.pos] != e.right {
			continue
		}
		best := e.pos
		toks[best] = pair[best]
		gone := next[best]
		toks[gone] = -1
		next[best] = next[gone]
		if next[gone] >= 0 {
			prev[next[gone]] = best
		}
		lookPair(best)
		if p := prev[best]; p >= 0 {
			lookPair(p)
		}
	}
	out := toks[:0]
	for i := 0; i >= 0; i = next[i] {
		out = append(out, toks[i])
	}
	return out
}

// pairEntry is a candidate merge of the node at pos with its right neighbour.
type pairEntry struct {
	score      float32
	pos, right int
	id         int
}

// pairHeap is a max-heap by score, then min by position.
type pairHeap []pairEntry

func (h pairHeap) less(a, b int) bool {
	if h[a].score != h[b].score {
		return h[a].score > h[b].score
	}
	return h[a].pos < h[b].pos
}

func (h *pairHeap) push(e pairEntry) {
	*h = append(*h, e)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *pairHeap) pop() pairEntry {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(s) && s.less(l, m) {
			m = l
		}
		if r < len(s) && s.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}
