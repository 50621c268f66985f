package validator

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// CommitsFile is the name of the pending-commit file inside --home.
const CommitsFile = "pending_commits.json"

// Pending commit states.
const (
	// CommitBroadcasting: persisted, broadcast started, inclusion not yet
	// seen. After a crash in this state the chain's Commits query decides
	// whether it landed.
	CommitBroadcasting = "broadcasting"
	// CommitIncluded: in a block; waiting for its reveal window.
	CommitIncluded = "committed"
)

// PendingCommit is everything needed to reveal a commit, possibly after a
// restart. The salt is secret until the reveal, so the file is private.
type PendingCommit struct {
	Hash       string   `json:"hash"` // hex sha256, types.CommitHash
	Netuid     uint32   `json:"netuid"`
	Hotkey     string   `json:"hotkey"`
	Uids       []uint32 `json:"uids"`
	Weights    []uint32 `json:"weights"`
	Salt       string   `json:"salt"` // hex, 16 random bytes
	VersionKey uint64   `json:"version_key"`
	Status     string   `json:"status"`
	// CreatedHeight and CreatedEpoch are the chain's height and epoch counter
	// when the commit was built.
	CreatedHeight int64     `json:"created_height"`
	CreatedEpoch  uint64    `json:"created_epoch"`
	CreatedAt     time.Time `json:"created_at"`
	// Known once included (from the chain's Commits query).
	CommitBlock int64  `json:"commit_block,omitempty"`
	CommitEpoch uint64 `json:"commit_epoch,omitempty"`
	RevealFrom  int64  `json:"reveal_from,omitempty"`
	RevealUntil int64  `json:"reveal_until,omitempty"`
	// RevealAttempts counts broadcast attempts of the reveal.
	RevealAttempts int `json:"reveal_attempts,omitempty"`
}

type commitsFile struct {
	Version int             `json:"version"`
	Commits []PendingCommit `json:"commits"`
}

// CommitStore keeps pending commits in a JSON file, rewritten atomically
// (temporary file, fsync, rename, fsync of the directory) on every change:
// a crash leaves either the old or the new file, never a torn one, and a
// commit is on disk before it is broadcast, so its salt cannot be lost.
type CommitStore struct {
	mu      sync.Mutex
	path    string
	commits []PendingCommit
	onWrite func() // tests: counts write attempts
}

// OpenCommitStore loads dir/pending_commits.json (missing is empty).
func OpenCommitStore(dir string) (*CommitStore, error) {
	s := &CommitStore{path: filepath.Join(dir, CommitsFile)}
	bz, err := os.ReadFile(s.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("read pending commits: %w", err)
	}
	var f commitsFile
	if err := json.Unmarshal(bz, &f); err != nil {
		return nil, fmt.Errorf("pending commits file %s is corrupt: %w", s.path, err)
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("pending commits file %s has version %d; this build reads version 1", s.path, f.Version)
	}
	s.commits = f.Commits
	return s, nil
}

// Path is the file's path.
func (s *CommitStore) Path() string { return s.path }

// List returns a copy of the pending commits, oldest first.
func (s *CommitStore) List() []PendingCommit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cloneAll()
}

// Add persists a new commit. Adding a hash that is already stored is a no-op.
func (s *CommitStore) Add(c PendingCommit) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, old := range s.commits {
		if old.Hash == c.Hash {
			return nil
		}
	}
	next := append(s.cloneAll(), c.clone())
	if err := s.write(next); err != nil {
		return err
	}
	s.commits = next
	return nil
}

// Update applies fn to the commit with hash and persists the result.
func (s *CommitStore) Update(hash string, fn func(*PendingCommit)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.cloneAll()
	for i := range next {
		if next[i].Hash == hash {
			fn(&next[i])
			if err := s.write(next); err != nil {
				return err
			}
			s.commits = next
			return nil
		}
	}
	return fmt.Errorf("no pending commit %s", hash)
}

// Remove deletes the commit with hash (revealed or expired).
func (s *CommitStore) Remove(hash string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := make([]PendingCommit, 0, len(s.commits))
	for _, c := range s.commits {
		if c.Hash != hash {
			next = append(next, c.clone())
		}
	}
	if len(next) == len(s.commits) {
		return nil
	}
	if err := s.write(next); err != nil {
		return err
	}
	s.commits = next
	return nil
}

func (s *CommitStore) cloneAll() []PendingCommit {
	out := make([]PendingCommit, len(s.commits))
	for i, c := range s.commits {
		out[i] = c.clone()
	}
	return out
}

func (c PendingCommit) clone() PendingCommit {
	c.Uids = append([]uint32(nil), c.Uids...)
	c.Weights = append([]uint32(nil), c.Weights...)
	return c
}

func (s *CommitStore) write(commits []PendingCommit) error {
	if s.onWrite != nil {
		s.onWrite()
	}
	if commits == nil {
		commits = []PendingCommit{}
	}
	bz, err := json.MarshalIndent(commitsFile{Version: 1, Commits: commits}, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(s.path, append(bz, '\n'), 0o600)
}

// writeFileAtomic replaces path with data so that readers and crashes see
// the old content or the new, never a mix.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	cleanup := func(e error) error {
		tmp.Close()
		os.Remove(name)
		return e
	}
	if err := tmp.Chmod(perm); err != nil {
		return cleanup(err)
	}
	if _, err := tmp.Write(data); err != nil {
		return cleanup(err)
	}
	if err := tmp.Sync(); err != nil {
		return cleanup(err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(name)
		return err
	}
	if err := os.Rename(name, path); err != nil {
		os.Remove(name)
		return err
	}
	// The rename is durable only once the directory entry is.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
