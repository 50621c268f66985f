package types

// DefaultGenesis is the module state of a fresh chain.
func DefaultGenesis() *GenesisState {
	return &GenesisState{Params: DefaultParams()}
}

// Validate checks the genesis state before it is written to the store.
func (gs GenesisState) Validate() error {
	return gs.Params.Validate()
}
