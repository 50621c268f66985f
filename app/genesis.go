package app

import "encoding/json"

// GenesisState is the app state section of genesis.json, keyed by module name.
type GenesisState map[string]json.RawMessage

// DefaultGenesis is every module's default genesis. Denominations are umerit
// because SetAddressPrefixes sets the SDK's default bond denom.
func (app *MeritApp) DefaultGenesis() GenesisState {
	return GenesisState(app.BasicManager.DefaultGenesis(app.appCodec))
}
