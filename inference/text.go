package inference

import (
	"unicode/utf8"
)

// CanonicalText replaces every byte that is not part of valid UTF-8 with
// U+FFFD, as encoding/json does when it marshals a string. Token pieces can
// split a character, and a completion that travelled through JSON has lost
// such bytes; comparing canonical forms makes "ids decode to the text" a
// check that survives the wire. strings.ToValidUTF8 would not do: it
// replaces a whole run of invalid bytes with one U+FFFD.
func CanonicalText(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = utf8.AppendRune(b, utf8.RuneError)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return string(b)
}
