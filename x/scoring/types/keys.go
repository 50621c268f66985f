package types

import "cosmossdk.io/collections"

const (
	// ModuleName is the name of the module; also its store key and module account name.
	ModuleName = "scoring"
	// StoreKey is the KV store key of the module.
	StoreKey = ModuleName
)

// Collection prefixes. Each is one byte and never reused: renumbering one would
// corrupt state written by an earlier binary.
var (
	ParamsKey = collections.NewPrefix(0)
)
