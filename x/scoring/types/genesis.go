package types

import "fmt"

// DefaultGenesis is the module state of a fresh chain.
func DefaultGenesis() *GenesisState {
	return &GenesisState{Params: DefaultParams()}
}

// Validate checks the genesis state before it is written to the store.
func (gs GenesisState) Validate() error {
	if err := gs.Params.Validate(); err != nil {
		return err
	}
	for _, w := range gs.Weights {
		if len(w.Row.Uids) != len(w.Row.Values) {
			return fmt.Errorf("weights of %d/%d: %d uids but %d values", w.Netuid, w.Uid, len(w.Row.Uids), len(w.Row.Values))
		}
	}
	for _, b := range gs.Bonds {
		if len(b.Row.Uids) != len(b.Row.Values) {
			return fmt.Errorf("bonds of %d/%d: %d uids but %d values", b.Netuid, b.Uid, len(b.Row.Uids), len(b.Row.Values))
		}
	}
	for _, c := range gs.Commits {
		if len(c.Commit.CommitHash) != 32 {
			return fmt.Errorf("commit of %s on %d: hash must be 32 bytes", c.Hotkey, c.Netuid)
		}
	}
	return nil
}
