package chain

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/grpc/metadata"

	abci "github.com/cometbft/cometbft/abci/types"

	paymenttypes "github.com/meritnet/merit/x/payment/types"
)

// ErrTooFar says more blocks lie between a follower's last read and the
// chain's height than it is worth reading one by one: read everything.
var ErrTooFar = errors.New("chain: too many blocks to read the changes of")

// paymentEventPrefix starts the type of every event x/payment emits; those
// that change an account name it in account_id.
const paymentEventPrefix = "merit.payment.v1."

// PaymentChanges lists the accounts that x/payment events name in the
// blocks after since, up to the chain's latest height, which it reports.
// Every change to an account emits one (opened, deposit, updated, closing,
// charged, refunded), so re-reading these at that height brings a copy
// taken at since up to date. More than maxBlocks blocks is ErrTooFar.
func (c *Client) PaymentChanges(ctx context.Context, since int64, maxBlocks int) ([]uint64, int64, error) {
	height, err := c.Height(ctx)
	if err != nil {
		return nil, 0, err
	}
	if height-since > int64(maxBlocks) {
		return nil, height, fmt.Errorf("%w: %d after height %d", ErrTooFar, height-since, since)
	}
	var ids []uint64
	for h := since + 1; h <= height; h++ {
		got, err := c.blockPaymentChanges(ctx, h)
		if err != nil {
			return nil, 0, err
		}
		ids = append(ids, got...)
	}
	slices.Sort(ids)
	return slices.Compact(ids), height, nil
}

func (c *Client) blockPaymentChanges(ctx context.Context, height int64) ([]uint64, error) {
	ctx, cancel := c.reqCtx(ctx)
	defer cancel()
	res, err := c.rpc.BlockResults(ctx, &height)
	if err != nil {
		return nil, c.errClosedIf(fmt.Errorf("chain: results of block %d: %w", height, err))
	}
	var ids []uint64
	scan := func(events []abci.Event) error {
		for _, e := range events {
			if !strings.HasPrefix(e.Type, paymentEventPrefix) {
				continue
			}
			for _, a := range e.Attributes {
				if a.Key != "account_id" {
					continue
				}
				// Typed events carry JSON values: numbers as quoted strings.
				id, err := strconv.ParseUint(strings.Trim(a.Value, `"`), 10, 64)
				if err != nil {
					return fmt.Errorf("chain: block %d: %s account_id %q: %w", height, e.Type, a.Value, err)
				}
				ids = append(ids, id)
			}
		}
		return nil
	}
	if err := scan(res.FinalizeBlockEvents); err != nil {
		return nil, err
	}
	for _, tx := range res.TxsResults {
		if tx == nil || tx.Code != 0 {
			continue // a failed transaction changed nothing
		}
		if err := scan(tx.Events); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// PaymentAccountsByID reads accounts at one height; the ids the chain no
// longer holds (refunded and removed) come back as missing.
func (c *Client) PaymentAccountsByID(ctx context.Context, ids []uint64, height int64) (found []paymenttypes.Account, missing []uint64, err error) {
	ctx, cancel := c.reqCtx(ctx)
	defer cancel()
	qctx := metadata.AppendToOutgoingContext(ctx, heightHeader, strconv.FormatInt(height, 10))
	for _, id := range ids {
		res, err := c.paymentQ.Account(qctx, &paymenttypes.QueryAccountRequest{Id: id})
		if err != nil {
			err = c.queryErr(fmt.Sprintf("payment account %d at height %d", id, height), err)
			if errors.Is(err, ErrNotFound) {
				missing = append(missing, id)
				continue
			}
			return nil, nil, err
		}
		found = append(found, res.Account)
	}
	return found, missing, nil
}
