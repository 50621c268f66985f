package inference

import "strings"

// stopFilter holds back tokens while the text could still turn into a stop
// string, so a streaming client never sees part of a stop string, and trims
// the tokens' visible text when one completes.
type stopFilter struct {
	stops    []string
	buf      []byte  // all generated text
	released int     // bytes of buf handed out
	held     []Token // tokens not yet handed out
	starts   []int   // offset in buf of each held token
	cut      int     // length of the visible text once stopped, else -1
}

func newStopFilter(stops []string) *stopFilter { return &stopFilter{stops: stops, cut: -1} }

// push adds a token; it returns the tokens that can be released and whether
// a stop string completed (then no further tokens may be pushed).
func (f *stopFilter) push(t Token) ([]Token, bool) {
	if len(f.stops) == 0 {
		t.Text = t.Piece
		f.buf = append(f.buf, t.Piece...)
		f.released = len(f.buf)
		return []Token{t}, false
	}
	f.held = append(f.held, t)
	f.starts = append(f.starts, len(f.buf))
	f.buf = append(f.buf, t.Piece...)
	// A match cannot start in released text (it was released because no
	// stop string could begin there), so search only the held tail.
	tail := string(f.buf[f.released:])
	if first, _ := findStops(tail, f.stops); first >= 0 {
		f.cut = f.released + first
		return f.release(len(f.held), f.cut), true
	}
	// Keep back the longest suffix that is a proper prefix of a stop string.
	hold := 0
	for _, s := range f.stops {
		for k := min(len(s)-1, len(tail)); k > hold; k-- {
			if strings.HasSuffix(tail, s[:k]) {
				hold = k
				break
			}
		}
	}
	safe := len(f.buf) - hold
	n := 0
	for n < len(f.held) && f.starts[n]+len(f.held[n].Piece) <= safe {
		n++
	}
	return f.release(n, len(f.buf)), false
}

// findStops returns where the first stop string in text begins and where
// the earliest-ending one ends, or -1, -1 when none occurs. Empty stop
// strings are ignored. The generator and the verifier both use it, so they
// agree on where a completion stops.
func findStops(text string, stops []string) (first, end int) {
	first, end = -1, -1
	for _, s := range stops {
		if s == "" {
			continue
		}
		if i := strings.Index(text, s); i >= 0 {
			if first < 0 || i < first {
				first = i
			}
			if end < 0 || i+len(s) < end {
				end = i + len(s)
			}
		}
	}
	return first, end
}

// release hands out the first n held tokens, their visible text clipped to
// buf[:limit].
func (f *stopFilter) release(n, limit int) []Token {
	out := make([]Token, n)
	for i := range n {
		t := f.held[i]
		s, e := f.starts[i], f.starts[i]+len(t.Piece)
		s, e = min(s, limit), min(e, limit)
		t.Text = string(f.buf[s:e])
		out[i] = t
	}
	if n > 0 {
		f.released = max(f.released, min(f.starts[n-1]+len(f.held[n-1].Piece), limit))
	}
	f.held = f.held[n:]
	f.starts = f.starts[n:]
	return out
}

// flush releases everything still held (generation ended without a stop string).
func (f *stopFilter) flush() []Token { return f.release(len(f.held), len(f.buf)) }

// text is the visible completion.
func (f *stopFilter) text() string {
	if f.cut >= 0 {
		return string(f.buf[:f.cut])
	}
	return string(f.buf)
}
