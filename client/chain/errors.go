package chain

import (
	"errors"
	"fmt"
)

var (
	// ErrNotFound wraps query errors for which the node answered gRPC
	// NotFound (unknown subnet, neuron, hotkey, account), so callers can tell
	// "does not exist" from "could not ask".
	ErrNotFound = errors.New("not found")
	// ErrUnreachable wraps errors of Dial when the node does not answer.
	ErrUnreachable = errors.New("node unreachable")
	// ErrChainIDMismatch is returned by Dial when Config.ChainID differs from
	// the node's, or the gRPC and RPC endpoints belong to different chains.
	ErrChainIDMismatch = errors.New("chain id mismatch")
	// ErrInclusionTimeout is returned by Broadcast when a tx passed CheckTx
	// but was not found in a block within Config.InclusionTimeout. The tx may
	// still be included later.
	ErrInclusionTimeout = errors.New("tx not included in time")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("client closed")
)

// Stages at which a transaction can fail, as reported in TxError.Stage.
const (
	StageSimulate = "simulate" // the node's simulation refused it: nothing was broadcast
	StageCheckTx  = "checktx"  // the mempool refused it: not in any block, no fee paid
	StageDeliver  = "deliver"  // it is in a block but failed: fee paid, no state change
)

// TxError is a transaction the chain refused, with the ABCI code and log.
//
// errors.Is(err, registeredErr) matches when the codespace and code equal
// those of a registered SDK or module error, e.g.
// errors.Is(err, subnettypes.ErrAlreadyRegistered) or
// errors.Is(err, sdkerrors.ErrInsufficientFunds).
type TxError struct {
	Stage     string
	Hash      string // empty for StageSimulate
	Height    int64  // only for StageDeliver
	Codespace string
	Code      uint32
	Log       string
}

func (e *TxError) Error() string {
	s := fmt.Sprintf("chain: tx failed at %s: codespace %q code %d", e.Stage, e.Codespace, e.Code)
	if e.Hash != "" {
		s += " hash " + e.Hash
	}
	if e.Height != 0 {
		s += fmt.Sprintf(" height %d", e.Height)
	}
	return s + ": " + e.Log
}

// abciCoder is what registered errors (cosmossdk.io/errors) expose.
type abciCoder interface {
	Codespace() string
	ABCICode() uint32
}

// Is lets errors.Is compare a TxError with registered module errors by
// (codespace, code), which is all that survives the trip through the node.
func (e *TxError) Is(target error) bool {
	c, ok := target.(abciCoder)
	return ok && e.Code != 0 && c.Codespace() == e.Codespace && c.ABCICode() == e.Code
}
