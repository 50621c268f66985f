package validator

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// StateFile is the name of the saved scores inside --home.
const StateFile = "state.json"

// SavedState is what `run` leaves in --home after every round: the scores
// (so a restart resumes the EMA instead of starting from zero) and what
// `status` reports without a running daemon.
type SavedState struct {
	Version     int          `json:"version"`
	Netuid      uint32       `json:"netuid"`
	Hotkey      string       `json:"hotkey"`
	UpdatedAt   time.Time    `json:"updated_at"`
	Round       uint64       `json:"round"`
	Height      int64        `json:"height"`
	Scores      []MinerScore `json:"scores"`
	LastWeights *Submission  `json:"last_weights,omitempty"`
}

// Submission is the last weights transaction the validator sent.
type Submission struct {
	Kind    string    `json:"kind"` // set, commit or reveal
	Height  int64     `json:"height"`
	TxHash  string    `json:"tx_hash,omitempty"`
	Uids    []uint32  `json:"uids"`
	Weights []uint32  `json:"weights"`
	At      time.Time `json:"at"`
}

// LoadState reads dir/state.json; a missing file gives (nil, nil).
func LoadState(dir string) (*SavedState, error) {
	bz, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st SavedState
	if err := json.Unmarshal(bz, &st); err != nil {
		return nil, fmt.Errorf("%s is corrupt: %w", filepath.Join(dir, StateFile), err)
	}
	return &st, nil
}

// SaveState writes dir/state.json atomically.
func SaveState(dir string, st *SavedState) error {
	st.Version = 1
	bz, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, StateFile), append(bz, '\n'), 0o600)
}
