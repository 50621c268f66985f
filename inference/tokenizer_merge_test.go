package inference

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"
)

// mergeByScan is the merge loop as run.c writes it (and as this package did
// before the heap): scan every pair for the best each time, O(n²). The heap
// version must produce the same tokens.
func (t *Tokenizer) mergeByScan(toks []int) []int {
	for {
		best, bestID, bestScore := -1, -1, float32(-1e10)
		for i := 0; i+1 < len(toks); i++ {
			if id, ok := t.lookup[t.Vocab(toks[i])+t.Vocab(toks[i+1])]; ok && t.scores[id] > bestScore {
				best, bestID, bestScore = i, id, t.scores[id]
			}
		}
		if best < 0 {
			return toks
		}
		toks[best] = bestID
		toks = append(toks[:best+1], toks[best+2:]...)
	}
}

func randomText(r *rand.Rand, tok *Tokenizer, n int) string {
	var b strings.Builder
	for b.Len() < n {
		switch r.Intn(6) {
		case 0:
			b.WriteByte(byte(r.Intn(256))) // any byte, invalid UTF-8 included
		case 1:
			b.WriteString([]string{" ", "  ", "\n", "é", "日本", "🦀"}[r.Intn(6)])
		default:
			b.WriteString(tok.Vocab(3 + r.Intn(tok.VocabSize()-3)))
		}
	}
	return b.String()
}

// TestHeapMergeMatchesScan compares the two merge loops on random text over
// the merit-tiny and stories260K vocabularies, and on the scores' ties.
func TestHeapMergeMatchesScan(t *testing.T) {
	_, tiny, err := Tiny()
	if err != nil {
		t.Fatal(err)
	}
	toks := []*Tokenizer{tiny}
	if e, err := loadStories(t, 0); err == nil {
		toks = append(toks, e.Tokenizer())
	}
	tie, _ := NewTokenizer([]string{"<unk>", "<s>", "</s>", " ", "a", "b", "aa", "ab", "ba", "bb", "aaa", "abab"},
		[]float32{0, 0, 0, 0, 0, 0, -1, -1, -1, -1, -1, -1}, 4)
	toks = append(toks, tie)
	r := rand.New(rand.NewSource(7))
	for ti, tok := range toks {
		for it := 0; it < 300; it++ {
			text := randomText(r, tok, 1+r.Intn(400))
			if tok == tie {
				text = strings.Repeat([]string{"a", "b", "ab", "ba"}[r.Intn(4)], 1+r.Intn(50)) + text[:0]
			}
			got := tok.Encode(text, true, false)
			want := tok.mergeByScan(tok.unmerged([]int{TokenBOS}, text))
			if len(got) != len(want) {
				t.Fatalf("tokenizer %d, %q: heap %v, scan %v", ti, text, got, want)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("tokenizer %d, %q: heap %v, scan %v", ti, text, got, want)
				}
			}
		}
	}
}

// TestEncodeLongPromptIsFast guards the complexity, not a speed: 200k
// characters of one long word merge in well under the seconds the quadratic
// loop took (18.6 s for 100k on a busy machine). Generous for CI load.
func TestEncodeLongPromptIsFast(t *testing.T) {
	_, tiny, _ := Tiny()
	text := strings.Repeat("abcdefghij", 20_000)
	start := time.Now()
	ids := tiny.Encode(text, true, false)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("encoding 200k characters took %s", d)
	}
	if tiny.Decode(TokenBOS, ids[1:]) != text {
		t.Fatal("round trip")
	}
}

func BenchmarkEncode(b *testing.B) {
	_, tiny, _ := Tiny()
	for _, n := range []int{1_000, 25_000, 100_000} {
		text := strings.Repeat("hello world, a miner answers ", n/29+1)[:n]
		b.Run(fmt.Sprintf("chars=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				tiny.Encode(text, true, false)
			}
		})
	}
}
