package cmd

import "testing"

// BenchmarkNewRootCmd is the part of every meritd invocation that is ours:
// building the command tree before cobra runs anything.
func BenchmarkNewRootCmd(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewRootCmd(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewRootCmdLight is the tree of a command that needs no module
// (version, keys, status).
func BenchmarkNewRootCmdLight(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewRootCmdFor([]string{"keys"}); err != nil {
			b.Fatal(err)
		}
	}
}
