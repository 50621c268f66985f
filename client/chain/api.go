// Package chain is the Go SDK's view of a Merit chain: gRPC queries, signed
// transactions with sequence tracking, and a block stream. Both daemons use
// it through the Chain interface so they can be tested against a real node
// and read without the implementation's details.
package chain

import (
	"context"
	"time"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/client/identity"
	emissiontypes "github.com/meritnet/merit/x/emission/types"
	scoringtypes "github.com/meritnet/merit/x/scoring/types"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// Config says where the node is and how to pay for transactions.
type Config struct {
	// GRPCAddr is host:port of the node's gRPC server (default 127.0.0.1:9090).
	GRPCAddr string
	// RPCAddr is the CometBFT RPC URL (default http://127.0.0.1:26657); the
	// block stream uses its /websocket endpoint.
	RPCAddr string
	// ChainID of the network; when empty it is read from the node.
	ChainID string
	// GasPrice in umerit per gas unit, as a decimal string (default "0").
	GasPrice string
	// GasAdjustment multiplies simulated gas (default 1.5).
	GasAdjustment float64
	// InclusionTimeout bounds how long Broadcast waits for a block (default 30s).
	InclusionTimeout time.Duration
}

// TxResult is a transaction that made it into a block.
type TxResult struct {
	Hash   string
	Height int64
	Code   uint32
	// Codespace qualifies a non-zero Code (e.g. "subnet", "sdk").
	Codespace string
	Log       string
	GasUsed   int64
	// Data is the raw TxMsgData; use DecodeResponse to read a Msg's response.
	Data []byte
}

// Block is one committed block as the stream reports it.
type Block struct {
	Height int64
	Time   time.Time
	// Events are the block's finalize-block and transaction events, flattened
	// as type -> attributes, in order.
	Events []Event
}

// Event is one ABCI event.
type Event struct {
	Type       string
	Attributes map[string]string
}

// The chain's services, one small interface per role, so that a consumer
// names only what it uses (as CometBFT's rpc/client does) and a test fake
// implements only that. *Client implements them all.

// StatusReader knows which chain it talks to and how far it is.
type StatusReader interface {
	ChainID() string
	Height(ctx context.Context) (int64, error)
}

// MetagraphReader reads a subnet with its neurons.
type MetagraphReader interface {
	Metagraph(ctx context.Context, netuid uint32) (*subnettypes.QueryMetagraphResponse, error)
}

// SubnetReader reads x/subnet: subnets, neurons and registration prices.
type SubnetReader interface {
	MetagraphReader
	Subnet(ctx context.Context, netuid uint32) (subnettypes.Subnet, error)
	NeuronByHotkey(ctx context.Context, netuid uint32, hotkey string) (subnettypes.Neuron, error)
	RegistrationPrice(ctx context.Context, netuid uint32) (sdkmath.Int, error)
}

// ScoringReader reads x/scoring: epochs, pending commits and stored
// weight rows.
type ScoringReader interface {
	EpochState(ctx context.Context, netuid uint32) (*scoringtypes.QueryEpochStateResponse, error)
	Commits(ctx context.Context, netuid uint32, hotkey string) ([]scoringtypes.CommitInfo, error)
	Weights(ctx context.Context, netuid, uid uint32) (scoringtypes.WeightsRow, error)
}

// EmissionReader reads x/emission's payout history.
type EmissionReader interface {
	NeuronHistory(ctx context.Context, netuid, uid uint32, epochs uint32) ([]emissiontypes.NeuronEmission, error)
}

// BankReader reads balances.
type BankReader interface {
	Balance(ctx context.Context, address string) (sdkmath.Int, error)
}

// Broadcaster sends signed transactions.
type Broadcaster interface {
	// Broadcast signs msgs with signer's key (sign mode direct), simulates
	// gas, broadcasts, and waits until the tx is in a block or the
	// inclusion timeout passes. It tracks the account sequence per signer
	// and recovers from sequence mismatches with a bounded number of
	// rebuilds. A tx that is included but fails returns its TxResult and an
	// error carrying the code and log.
	Broadcast(ctx context.Context, signer *identity.Identity, msgs ...sdk.Msg) (*TxResult, error)
}

// BlockStreamer streams committed blocks.
type BlockStreamer interface {
	// Blocks streams committed blocks from the CometBFT websocket. It
	// reconnects with backoff and, after a gap, replays the missed heights in
	// order before new ones, so a consumer sees every height once. The
	// channel closes when ctx ends.
	Blocks(ctx context.Context) (<-chan Block, error)
}

// Chain is every role together: what a daemon that does everything holds.
// Components take the smaller interfaces above.
type Chain interface {
	StatusReader
	SubnetReader
	ScoringReader
	EmissionReader
	BankReader
	PaymentReader
	Broadcaster
	BlockStreamer
	Close() error
}

var _ Chain = (*Client)(nil)
