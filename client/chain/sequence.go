package chain

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
)

// account is what signing needs to know about one signer.
//
// mu is held from simulation to the CheckTx answer of one tx, so a signer's
// txs reach the mempool in sequence order however many goroutines send
// them; waiting for inclusion happens after it is released, so a signer
// can have many txs in flight.
type account struct {
	mu       sync.Mutex
	loaded   bool // number and sequence are known
	number   uint64
	sequence uint64 // the next tx's sequence
}

// sequences tracks accounts by bech32 address for the life of the Client.
type sequences struct {
	mu     sync.Mutex
	byAddr map[string]*account
}

func (s *sequences) get(addr string) *account {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.byAddr[addr]
	if !ok {
		a = &account{}
		s.byAddr[addr] = a
	}
	return a
}

// loadAccount reads the account number and sequence from committed state.
// The committed sequence ignores txs still in the mempool, which is why a
// sequence mismatch prefers the node's "expected" number (see resync).
func (c *Client) loadAccount(ctx context.Context, addr string, acc *account) error {
	ctx, cancel := c.reqCtx(ctx)
	defer cancel()
	res, err := c.authQ.AccountInfo(ctx, &authtypes.QueryAccountInfoRequest{Address: addr})
	if err != nil {
		err = c.queryErr("account "+addr, err)
		return fmt.Errorf("%w (an account exists only once it has received funds)", err)
	}
	if res.Info == nil {
		return fmt.Errorf("chain: account %s: empty answer", addr)
	}
	acc.number, acc.sequence, acc.loaded = res.Info.AccountNumber, res.Info.Sequence, true
	return nil
}

// seqMismatchRe matches the SDK ante handler's message; "expected" is the
// sequence in the node's check state, which counts txs already in its
// mempool.
var seqMismatchRe = regexp.MustCompile(`account sequence mismatch, expected (\d+), got (\d+)`)

func isSequenceMismatch(e *TxError) bool {
	return e.Is(sdkerrors.ErrWrongSequence) || strings.Contains(e.Log, "account sequence mismatch")
}

// lowerSighting remembers an "expected" sequence below the tracked one,
// seen once and not yet believed.
type lowerSighting struct {
	seen bool
	n    uint64
}

// resync corrects the tracked sequence after a mismatch, from the node's
// own "expected N" when the log has it, else from committed state. It
// reports whether the tracked sequence changed.
//
// An "expected" below the tracked sequence is believed only when it is
// seen twice in a row: right after a commit the check state can lag the
// mempool, and going down at once would reuse the sequence of a tx that is
// still pending. A tx that really left the mempool reports the same lower
// number again.
func (c *Client) resync(ctx context.Context, addr string, acc *account, e *TxError, lower *lowerSighting) (bool, error) {
	if m := seqMismatchRe.FindStringSubmatch(e.Log); m != nil {
		if n, err := strconv.ParseUint(m[1], 10, 64); err == nil {
			if n < acc.sequence && (!lower.seen || lower.n != n) {
				*lower = lowerSighting{seen: true, n: n}
				return false, nil
			}
			*lower = lowerSighting{}
			acc.sequence = n
			return true, nil
		}
	}
	*lower = lowerSighting{}
	return true, c.loadAccount(ctx, addr, acc)
}
