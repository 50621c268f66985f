package validator

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"strings"

	"github.com/meritnet/merit/inference"
)

// Prompt is one probe: either a completion prompt or a chat conversation.
type Prompt struct {
	// Chat selects /v1/chat/completions with Messages; otherwise
	// /v1/completions with Text.
	Chat     bool
	Text     string
	Messages []inference.Message
}

// PromptGenerator derives probe prompts from a seed. The same seed, round,
// UID and index always give the same prompt, so a run can be replayed; a
// secret random seed (the default) keeps miners from precomputing answers,
// and deriving per miner keeps them from sharing answers with each other.
type PromptGenerator struct {
	seed uint64
}

// NewPromptGenerator returns a generator for seed.
func NewPromptGenerator(seed uint64) *PromptGenerator { return &PromptGenerator{seed: seed} }

// Prompt returns prompt i of round for the miner with uid. Even positions of
// a round's sequence mostly ask for completions, odd ones for chat, so both
// endpoints are exercised every round.
func (g *PromptGenerator) Prompt(round uint64, uid uint16, i int) Prompt {
	r := g.stream(round, uid, i)
	chat := (i+int(r.next()%2))%2 == 1
	if chat {
		return Prompt{Chat: true, Messages: g.messages(r)}
	}
	return Prompt{Text: g.text(r)}
}

// stream seeds a splitmix64 from sha256(seed, round, uid, i): hashing first
// makes neighbouring inputs give unrelated streams.
func (g *PromptGenerator) stream(round uint64, uid uint16, i int) *splitmix {
	var buf [8 + 8 + 2 + 8]byte
	binary.BigEndian.PutUint64(buf[0:], g.seed)
	binary.BigEndian.PutUint64(buf[8:], round)
	binary.BigEndian.PutUint16(buf[16:], uid)
	binary.BigEndian.PutUint64(buf[18:], uint64(i))
	sum := sha256.Sum256(buf[:])
	s := splitmix(binary.BigEndian.Uint64(sum[:8]))
	return &s
}

func (g *PromptGenerator) text(r *splitmix) string {
	switch r.next() % 3 {
	case 0:
		// A fixed opener, varied by a generated clause so that answers cannot
		// be looked up by prompt.
		return pick(r, openers) + " " + g.clause(r) + "."
	case 1:
		return g.sentence(r) + " " + g.sentence(r)
	default:
		return pick(r, instructions) + " " + g.clause(r) + "."
	}
}

func (g *PromptGenerator) messages(r *splitmix) []inference.Message {
	msgs := make([]inference.Message, 0, 3)
	if r.next()%2 == 0 {
		msgs = append(msgs, inference.Message{Role: "system", Content: pick(r, systemPrompts)})
	}
	user := pick(r, questions) + " " + g.clause(r) + "?"
	msgs = append(msgs, inference.Message{Role: "user", Content: user})
	return msgs
}

// sentence builds "The <adj> <noun> <verb> <det> <noun> <place>."
func (g *PromptGenerator) sentence(r *splitmix) string {
	s := "The " + g.clause(r) + " " + pick(r, places) + "."
	return s
}

func (g *PromptGenerator) clause(r *splitmix) string {
	var b strings.Builder
	b.WriteString(pick(r, adjectives))
	b.WriteByte(' ')
	b.WriteString(pick(r, nouns))
	b.WriteByte(' ')
	b.WriteString(pick(r, verbs))
	b.WriteByte(' ')
	b.WriteString(pick(r, determiners))
	b.WriteByte(' ')
	b.WriteString(pick(r, nouns))
	return b.String()
}

func pick(r *splitmix, list []string) string { return list[r.next()%uint64(len(list))] }

// splitmix is splitmix64 (Steele, Lea and Flood): small, fast, and fully
// specified, so prompts do not depend on math/rand's algorithm.
type splitmix uint64

func (s *splitmix) next() uint64 {
	*s += 0x9E3779B97F4A7C15
	z := uint64(*s)
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// The prompt set. Plain English that both small story models and large
// instruction models handle; what matters is that every answer is graded
// against the reference model, not its quality.
var (
	openers = []string{
		"Once upon a time, in a small village by the sea,",
		"Every morning the old baker opened his shop and",
		"Lily found a shiny key under her bed, and",
		"The robot looked at the sky and wondered why",
		"On the first day of school, Tom was nervous because",
		"Far away, beyond the tall mountains,",
		"The little dog ran into the garden where",
		"When the storm finally ended,",
		"Grandma told the children a story about",
		"In the middle of the forest there was a house where",
		"The train stopped suddenly, and everyone saw that",
		"It was the biggest cake anyone had ever seen, and",
	}
	instructions = []string{
		"Write a short story about how",
		"Describe in simple words why",
		"Explain to a child what happens when",
		"Continue the story: one day",
		"Write a poem about the day",
		"Tell me a fable in which",
		"Summarize the news that",
		"Write a letter to a friend saying that",
	}
	questions = []string{
		"Can you tell me a story where",
		"What would happen if",
		"Why do people say that",
		"How would you explain that",
		"Is it true that",
		"Could you write a poem where",
		"What is the best way to show that",
	}
	systemPrompts = []string{
		"You are a helpful assistant.",
		"You are a storyteller for young children.",
		"Answer briefly and clearly.",
		"You are a friendly teacher.",
	}
	adjectives = []string{
		"happy", "tiny", "brave", "sleepy", "clever", "red", "quiet", "old", "shiny", "curious",
		"gentle", "loud", "little", "big", "funny", "kind", "hungry", "silver", "wooden", "lost",
	}
	nouns = []string{
		"cat", "girl", "boy", "bird", "king", "dragon", "teacher", "tree", "ball", "boat",
		"rabbit", "friend", "flower", "star", "fox", "garden", "river", "castle", "book", "moon",
		"dog", "sun", "car", "mouse", "queen", "owl", "baker", "farmer", "cloud", "apple",
	}
	verbs = []string{
		"found", "saw", "helped", "painted", "chased", "loved", "built", "carried", "visited", "heard",
		"followed", "shared", "lost", "opened", "watched", "called", "met", "hid", "fixed", "sang to",
	}
	determiners = []string{"a", "the", "one", "every", "her", "his", "their", "an old"}
	places      = []string{
		"in the park", "near the river", "at the market", "under the bridge", "in the kitchen",
		"on the hill", "by the lake", "in the town", "at night", "after the rain",
	}
)

// randomSeed is a secret non-zero seed. crypto/rand.Read does not fail
// (since Go 1.24 it crashes the program instead).
func randomSeed() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:]) | 1
}
