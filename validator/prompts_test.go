package validator

import (
	"reflect"
	"testing"
)

func TestPromptGeneratorDeterministic(t *testing.T) {
	a, b := NewPromptGenerator(42), NewPromptGenerator(42)
	other := NewPromptGenerator(43)
	chat, text, differ := 0, 0, 0
	seen := map[string]bool{}
	for round := uint64(1); round <= 20; round++ {
		for uid := uint16(0); uid < 5; uid++ {
			for i := range 3 {
				pa, pb := a.Prompt(round, uid, i), b.Prompt(round, uid, i)
				if !reflect.DeepEqual(pa, pb) {
					t.Fatalf("same seed, different prompts: %+v %+v", pa, pb)
				}
				if !reflect.DeepEqual(pa, other.Prompt(round, uid, i)) {
					differ++
				}
				if pa.Chat {
					chat++
					if len(pa.Messages) == 0 || pa.Messages[len(pa.Messages)-1].Role != "user" || pa.Messages[len(pa.Messages)-1].Content == "" {
						t.Fatalf("bad chat prompt %+v", pa)
					}
					seen[pa.Messages[len(pa.Messages)-1].Content] = true
				} else {
					text++
					if pa.Text == "" {
						t.Fatal("empty prompt")
					}
					seen[pa.Text] = true
				}
			}
		}
	}
	if chat < 50 || text < 50 {
		t.Fatalf("unbalanced: %d chat, %d completion prompts", chat, text)
	}
	if differ < 280 {
		t.Fatalf("another seed gives the same prompt too often (%d of 300 differ)", differ)
	}
	if len(seen) < 280 {
		t.Fatalf("only %d distinct prompts in 300", len(seen))
	}
	// Miners of the same round get different prompts (no answer sharing).
	if reflect.DeepEqual(a.Prompt(1, 1, 0), a.Prompt(1, 2, 0)) {
		t.Fatal("two miners got the same prompt")
	}
}

func TestPromptGeneratorPinned(t *testing.T) {
	// A fixed --seed reproduces a run exactly, on any machine and build:
	// the generator is specified (sha256, splitmix64), not math/rand.
	g := NewPromptGenerator(1)
	if p := g.Prompt(1, 0, 0); !p.Chat || p.Messages[0].Content != "Could you write a poem where little castle opened an old teacher?" {
		t.Fatalf("%+v", p)
	}
	if p := g.Prompt(1, 0, 2); p.Chat || p.Text != "Continue the story: one day tiny mouse saw an old boat." {
		t.Fatalf("%+v", p)
	}
}
