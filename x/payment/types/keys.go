package types

import "cosmossdk.io/collections"

const (
	// ModuleName is the name of the module; also its store key and module account name.
	ModuleName = "payment"
	// StoreKey is the KV store key of the module.
	StoreKey = ModuleName
)

// Collection prefixes. Each is one byte and never reused.
var (
	ParamsKey        = collections.NewPrefix(0)
	NextAccountIDKey = collections.NewPrefix(1)
	AccountsKey      = collections.NewPrefix(2)
	KeyHashIndexKey  = collections.NewPrefix(3)
	PayerIndexKey    = collections.NewPrefix(4)
	ClosingQueueKey  = collections.NewPrefix(5)
	SettlementsKey   = collections.NewPrefix(6)
	GatewaysKey      = collections.NewPrefix(7)
	RevenueKey       = collections.NewPrefix(8)
	SubnetIndexKey   = collections.NewPrefix(9)
)
