package types

import "cosmossdk.io/collections"

const (
	// ModuleName is the name of the module; also its store key.
	ModuleName = "scoring"
	// StoreKey is the KV store key of the module.
	StoreKey = ModuleName
)

// Collection prefixes. Each is one byte and never reused.
var (
	ParamsKey     = collections.NewPrefix(0)
	WeightsKey    = collections.NewPrefix(1)
	BondsKey      = collections.NewPrefix(2)
	CommitsKey    = collections.NewPrefix(3)
	EpochStateKey = collections.NewPrefix(4)
)

// U16Max is the scale of stored weights and per-UID results.
const U16Max = 65535
