package validator

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestCommitStorePersistsAtomically(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenCommitStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.List()) != 0 {
		t.Fatal("new store not empty")
	}
	a := PendingCommit{Hash: "aa", Netuid: 1, Hotkey: "merit1x", Uids: []uint32{1, 2}, Weights: []uint32{65535, 3},
		Salt: "00112233445566778899aabbccddeeff", VersionKey: 7, Status: CommitBroadcasting, CreatedHeight: 10, CreatedAt: time.Unix(1, 0).UTC()}
	b := a
	b.Hash, b.Uids = "bb", []uint32{4}
	if err := s.Add(a); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(b); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(a); err != nil || len(s.List()) != 2 {
		t.Fatalf("adding a known hash twice: %v %d", err, len(s.List()))
	}
	if err := s.Update("aa", func(p *PendingCommit) {
		p.Status, p.CommitBlock, p.RevealFrom, p.RevealUntil = CommitIncluded, 11, 20, 29
	}); err != nil {
		t.Fatal(err)
	}
	// Callers cannot alias the stored slices.
	l := s.List()
	l[0].Uids[0] = 99

	r, err := OpenCommitStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := r.List()
	if len(got) != 2 || got[0].Hash != "aa" || got[0].Status != CommitIncluded || got[0].CommitBlock != 11 ||
		got[0].RevealUntil != 29 || got[0].Uids[0] != 1 || got[0].Salt != a.Salt || got[0].VersionKey != 7 || got[1].Hash != "bb" {
		t.Fatalf("reloaded %+v", got)
	}
	if err := r.Remove("aa"); err != nil {
		t.Fatal(err)
	}
	if err := r.Remove("nope"); err != nil {
		t.Fatal(err)
	}
	r2, _ := OpenCommitStore(dir)
	if l := r2.List(); len(l) != 1 || l[0].Hash != "bb" {
		t.Fatalf("after remove %+v", l)
	}
	// Private file, no temporary files left behind.
	st, err := os.Stat(filepath.Join(dir, CommitsFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v", st.Mode(), err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("stray files: %v", ents)
	}
	if err := r2.Update("zz", func(*PendingCommit) {}); err == nil {
		t.Fatal("update of an unknown hash succeeded")
	}
}

func TestCommitStoreRejectsCorruptFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, CommitsFile), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCommitStore(dir); err == nil {
		t.Fatal("corrupt file accepted")
	}
	if err := os.WriteFile(filepath.Join(dir, CommitsFile), []byte(`{"version":2,"commits":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCommitStore(dir); err == nil {
		t.Fatal("unknown version accepted")
	}
}

func TestSavedState(t *testing.T) {
	dir := t.TempDir()
	if st, err := LoadState(dir); st != nil || err != nil {
		t.Fatal(st, err)
	}
	in := &SavedState{Netuid: 2, Hotkey: "merit1v", Round: 5, Scores: []MinerScore{{UID: 1, Hotkey: "m", Score: 0.5}}}
	if err := SaveState(dir, in); err != nil {
		t.Fatal(err)
	}
	out, err := LoadState(dir)
	if err != nil || out.Round != 5 || len(out.Scores) != 1 || out.Scores[0].Score != 0.5 {
		t.Fatalf("%+v %v", out, err)
	}
}
