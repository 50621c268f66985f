package types

import "cosmossdk.io/collections"

const (
	// ModuleName is the name of the module; also its store key and module account name.
	ModuleName = "subnet"
	// StoreKey is the KV store key of the module.
	StoreKey = ModuleName
)

// Collection prefixes. Each is one byte and never reused: renumbering one would
// corrupt state written by an earlier binary.
var (
	ParamsKey              = collections.NewPrefix(0)
	SubnetsKey             = collections.NewPrefix(1)
	NeuronsKey             = collections.NewPrefix(2)
	HotkeyUIDKey           = collections.NewPrefix(3)
	HotkeysKey             = collections.NewPrefix(4)
	StakesKey              = collections.NewPrefix(5)
	HotkeyStakeKey         = collections.NewPrefix(6)
	DelegatorStakeIndexKey = collections.NewPrefix(7)
	UnbondingsKey          = collections.NewPrefix(8)
	UnbondingQueueKey      = collections.NewPrefix(9)
	UnbondingByDelegKey    = collections.NewPrefix(10)
	PruneIndexKey          = collections.NewPrefix(11)
	NextNetuidKey          = collections.NewPrefix(12)
	NextUnbondingIDKey     = collections.NewPrefix(13)
	LockStateKey           = collections.NewPrefix(14)
	TotalBurnedKey         = collections.NewPrefix(15)
)

const (
	// MaxUIDsBound is the hard ceiling on max_uids: UIDs are u16 on the wire to
	// validators and the epoch is sized for it.
	MaxUIDsBound = 4096
	// MaxNetuid is the largest netuid (netuids are u16).
	MaxNetuid = 65535
	// BasisPoints is the denominator of every *_bps field.
	BasisPoints = 10_000
	// U16Max is the denominator of u16 fractions (kappa, epoch results, weights).
	U16Max = 65535
	// MaxEndpointAddressLen bounds MsgServeEndpoint.address.
	MaxEndpointAddressLen = 128
	// MaxModelIDLen bounds model ids in tasks and endpoints.
	MaxModelIDLen = 256
	// MaxSubnetNameLen bounds subnet names.
	MaxSubnetNameLen = 64
)
