package chain

import (
	"context"
	"fmt"
	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	query "github.com/cosmos/cosmos-sdk/types/query"

	paymenttypes "github.com/meritnet/merit/x/payment/types"
)

// PaymentReader reads x/payment: access accounts, settlement records,
// gateways and the module's parameters.
type PaymentReader interface {
	// PaymentAccounts is every access account of a subnet at one height,
	// which it reports.
	PaymentAccounts(ctx context.Context, netuid uint32) ([]paymenttypes.Account, int64, error)
	// PaymentChanges lists the accounts changed in the blocks after since,
	// up to the latest height, which it reports; ErrTooFar when more than
	// maxBlocks blocks lie between.
	PaymentChanges(ctx context.Context, since int64, maxBlocks int) ([]uint64, int64, error)
	// PaymentAccountsByID reads accounts at a height; ids no longer held
	// come back as missing.
	PaymentAccountsByID(ctx context.Context, ids []uint64, height int64) (found []paymenttypes.Account, missing []uint64, err error)
	// PaymentSettlement is a gateway's last settled counters for an
	// account; ErrNotFound when it never settled it.
	PaymentSettlement(ctx context.Context, gateway string, accountID uint64) (paymenttypes.Settlement, error)
	PaymentParams(ctx context.Context) (paymenttypes.Params, error)
	PaymentGateways(ctx context.Context, netuid uint32) (*paymenttypes.QueryGatewaysResponse, error)
}

var _ PaymentReader = (*Client)(nil)

// heightHeader is the gRPC metadata key in which a Cosmos node reports the
// height a query was answered at, and by which a query asks for one.
const heightHeader = "x-cosmos-block-height"

// accountsPage and maxAccounts bound one read of a subnet's account set: a
// follower re-reads it every block, so it must stay cheap and finite.
const (
	accountsPage = 1000
	maxAccounts  = 200_000
)

// PaymentAccounts pages through the subnet's accounts, every page at the
// height of the first, so the set is one consistent snapshot.
func (c *Client) PaymentAccounts(ctx context.Context, netuid uint32) ([]paymenttypes.Account, int64, error) {
	ctx, cancel := c.reqCtx(ctx)
	defer cancel()
	var (
		out    []paymenttypes.Account
		height int64
		next   []byte
	)
	for {
		qctx := ctx
		if height > 0 {
			qctx = metadata.AppendToOutgoingContext(ctx, heightHeader, strconv.FormatInt(height, 10))
		}
		var md metadata.MD
		res, err := c.paymentQ.SubnetAccounts(qctx, &paymenttypes.QuerySubnetAccountsRequest{
			Netuid: netuid, Pagination: &query.PageRequest{Key: next, Limit: accountsPage},
		}, grpc.Header(&md))
		if err != nil {
			return nil, 0, c.queryErr("payment accounts", err)
		}
		if height == 0 {
			if v := md.Get(heightHeader); len(v) > 0 {
				height, _ = strconv.ParseInt(v[0], 10, 64)
			}
		}
		out = append(out, res.Accounts...)
		if res.Pagination == nil || len(res.Pagination.NextKey) == 0 {
			return out, height, nil
		}
		if len(out) >= maxAccounts {
			return nil, 0, fmt.Errorf("chain: payment accounts of subnet %d: more than %d; this client reads at most that many", netuid, maxAccounts)
		}
		next = res.Pagination.NextKey
	}
}

// PaymentSettlement is gateway's settlement record for an account.
func (c *Client) PaymentSettlement(ctx context.Context, gateway string, accountID uint64) (paymenttypes.Settlement, error) {
	ctx, cancel := c.reqCtx(ctx)
	defer cancel()
	if err := checkAddress("gateway", gateway); err != nil {
		return paymenttypes.Settlement{}, err
	}
	res, err := c.paymentQ.Settlement(ctx, &paymenttypes.QuerySettlementRequest{Gateway: gateway, AccountId: accountID})
	if err != nil {
		return paymenttypes.Settlement{}, c.queryErr(fmt.Sprintf("settlement of account %d by %s", accountID, gateway), err)
	}
	return res.Settlement, nil
}

// PaymentParams are x/payment's parameters.
func (c *Client) PaymentParams(ctx context.Context) (paymenttypes.Params, error) {
	ctx, cancel := c.reqCtx(ctx)
	defer cancel()
	res, err := c.paymentQ.Params(ctx, &paymenttypes.QueryParamsRequest{})
	if err != nil {
		return paymenttypes.Params{}, c.queryErr("payment params", err)
	}
	return res.Params, nil
}

// PaymentGateways lists a subnet's announced gateways with its price.
func (c *Client) PaymentGateways(ctx context.Context, netuid uint32) (*paymenttypes.QueryGatewaysResponse, error) {
	ctx, cancel := c.reqCtx(ctx)
	defer cancel()
	res, err := c.paymentQ.Gateways(ctx, &paymenttypes.QueryGatewaysRequest{Netuid: netuid})
	if err != nil {
		return nil, c.queryErr(fmt.Sprintf("gateways of subnet %d", netuid), err)
	}
	return res, nil
}
