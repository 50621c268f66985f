package inference

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var roundTripTexts = []string{
	"Once upon a time, there was a little girl named Lily.",
	"",
	" leading space",
	"two  spaces\nand a newline\ttab",
	"Ünïcödé: naïve café, 日本語, emoji 🦀 and 𝄞",
	"bytes \x01\x7f and a stray continuation \x80 and a lead \xe2 alone",
	"The miner said: \"stake 100 MERIT on block 2026!\"",
}

func checkRoundTrip(t *testing.T, tok *Tokenizer) {
	t.Helper()
	for _, s := range roundTripTexts {
		ids := tok.Encode(s, true, false)
		if ids[0] != TokenBOS {
			t.Fatalf("%q: no BOS", s)
		}
		if got := tok.Decode(TokenBOS, ids[1:]); got != s {
			t.Errorf("round trip %q -> %v -> %q", s, ids, got)
		}
		if s != "" && len(ids[1:]) >= len(s)+1 && strings.Count(s, " ") > 2 {
			t.Errorf("%q: %d tokens, no merges applied", s, len(ids))
		}
	}
	if ids := tok.Encode("hi", true, true); ids[len(ids)-1] != TokenEOS {
		t.Error("no EOS")
	}
}

func TestTokenizerRoundTripTiny(t *testing.T) {
	_, tok, err := Tiny()
	if err != nil {
		t.Fatal(err)
	}
	checkRoundTrip(t, tok)
	b := tok.Serialize()
	tok2, err := ParseTokenizer(b, tok.VocabSize())
	if err != nil || !bytes.Equal(tok2.Serialize(), b) {
		t.Fatalf("serialize round trip: %v", err)
	}
	// Merges are used: common words are single tokens.
	ids := tok.Encode("the little girl", false, false)
	if len(ids) != 3 {
		t.Errorf("\"the little girl\" -> %v (%q)", ids, tok.Decode(-1, ids))
	}
}

func TestTokenizerStories(t *testing.T) {
	e := storiesEngine(t)
	tok := e.Tokenizer()
	checkRoundTrip(t, tok)
	raw, err := os.ReadFile(filepath.Join(modelsDir(t), "tok512.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(tok.Serialize(), raw) {
		t.Error("tok512.bin does not re-serialize to the same bytes")
	}
	// Byte fallback: characters missing from the vocabulary become <0xXX>.
	ids := tok.Encode("日", false, false)
	want := []int{tok.lookup[" "], 0xe6 + 3, 0x97 + 3, 0xa5 + 3}
	if len(ids) != 4 || ids[1] != want[1] || ids[2] != want[2] || ids[3] != want[3] {
		t.Errorf("byte fallback: %v, want %v", ids, want)
	}
}

func TestPiece(t *testing.T) {
	tok, err := NewTokenizer([]string{"<unk>", "<s>", "</s>", " hi", "<0x41>", "<0x0a>", "<0xZZ>", "<0x4"}, make([]float32, 8), 6)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		prev, id int
		want     string
	}{
		{TokenBOS, 3, "hi"}, {5, 3, " hi"}, {-1, 4, "A"}, {-1, 5, "\n"}, {-1, 6, "<0xZZ>"}, {-1, 7, "\x04"}, {-1, 99, ""}, {-1, -1, ""},
	}
	for _, c := range cases {
		if got := tok.Piece(c.prev, c.id); got != c.want {
			t.Errorf("Piece(%d, %d) = %q, want %q", c.prev, c.id, got, c.want)
		}
	}
}

// TestEncodeMergeOrder checks run.c's merge rule: the best score wins, the
// leftmost pair among equals.
func TestEncodeMergeOrder(t *testing.T) {
	pieces := []string{"<unk>", "<s>", "</s>", " ", "a", "b", "ab", "ba", " a", "aba"}
	scores := []float32{0, 0, 0, 0, 0, 0, -2, -1, -5, -3}
	tok, err := NewTokenizer(pieces, scores, 3)
	if err != nil {
		t.Fatal(err)
	}
	// " abab": pairs " a"(-5) ab(-2) ba(-1) ab(-2): ba merges first -> " ", a, ba, b
	// then " a"(-5) aba(-3): aba -> " ", aba, b; no more merges.
	got := tok.Encode("abab", false, false)
	want := []int{3, 9, 5}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("Encode(abab) = %v, want %v", got, want)
	}
}

func TestTokenizerErrors(t *testing.T) {
	good, _ := TinyTokenizer()
	neg := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(neg[4+4:], 0xffffffff) // first length = -1
	cases := []struct {
		name  string
		b     []byte
		vocab int
		want  string
	}{
		{"empty", nil, 1024, "truncated"},
		{"short", good[:100], 1024, "truncated"},
		{"cut", good[:len(good)-1], 1024, "truncated"},
		{"negative length", neg, 1024, "negative length"},
		{"trailing", good, 1000, "trailing"},
		{"vocab", good, 2, "vocab size"},
		{"negative max", []byte{0, 0, 0, 0x80}, 3, "negative max_token_length"},
	}
	for _, c := range cases {
		_, err := ParseTokenizer(c.b, c.vocab)
		if err == nil || !errors.Is(err, ErrBadTokenizer) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := LoadTokenizer(filepath.Join(t.TempDir(), "none.bin"), 512); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	m, _, _ := Tiny()
	small, _ := NewTokenizer([]string{"a", "b", "c"}, make([]float32, 3), 1)
	if _, err := NewLocalEngine(m, small, Options{}); !errors.Is(err, ErrBadTokenizer) {
		t.Errorf("vocab mismatch: %v", err)
	}
}

func FuzzParseTokenizer(f *testing.F) {
	good, _ := TinyTokenizer()
	f.Add(good[:200], 10)
	f.Add([]byte{7, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 'a', 0, 0, 0, 0, 1, 0, 0, 0, 'b', 0, 0, 0, 0, 2, 0, 0, 0, 'a', 'b'}, 3)
	f.Add([]byte{1, 2, 3}, 3)
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f}, 5)
	f.Fuzz(func(t *testing.T, b []byte, vocab int) {
		tok, err := ParseTokenizer(b, vocab)
		if err != nil {
			if !errors.Is(err, ErrBadTokenizer) {
				t.Fatalf("error does not wrap ErrBadTokenizer: %v", err)
			}
			return
		}
		if !bytes.Equal(tok.Serialize(), b) {
			t.Fatal("accepted tokenizer does not round-trip")
		}
		// Any text must encode to valid ids without panicking.
		for _, id := range tok.Encode(string(b), true, true) {
			if id < 0 || id >= vocab {
				t.Fatalf("id %d out of range", id)
			}
		}
	})
}
