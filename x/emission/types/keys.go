package types

import "cosmossdk.io/collections"

const (
	// ModuleName is the name of the module; also its store key and module account name.
	ModuleName = "emission"
	// StoreKey is the KV store key of the module.
	StoreKey = ModuleName
)

// Collection prefixes. Each is one byte and never reused.
var (
	ParamsKey        = collections.NewPrefix(0)
	TotalIssuedKey   = collections.NewPrefix(1)
	CarryKey         = collections.NewPrefix(2)
	SubnetsKey       = collections.NewPrefix(3)
	HistoryKey       = collections.NewPrefix(4)
	RevenueBurnedKey = collections.NewPrefix(5)
)
