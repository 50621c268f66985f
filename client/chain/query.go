package chain

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sdkmath "cosmossdk.io/math"

	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	emissiontypes "github.com/meritnet/merit/x/emission/types"
	scoringtypes "github.com/meritnet/merit/x/scoring/types"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// queryErr names the query and keeps "does not exist" testable with
// errors.Is(err, ErrNotFound).
func (c *Client) queryErr(what string, err error) error {
	switch status.Code(err) {
	case codes.NotFound:
		return fmt.Errorf("chain: %s: %w: %s", what, ErrNotFound, status.Convert(err).Message())
	case codes.DeadlineExceeded:
		// gRPC status errors do not unwrap to the context's error.
		return fmt.Errorf("chain: %s (gRPC %s): %w", what, c.cfg.GRPCAddr, context.DeadlineExceeded)
	case codes.Canceled:
		return c.errClosedIf(fmt.Errorf("chain: %s (gRPC %s): %w", what, c.cfg.GRPCAddr, context.Canceled))
	}
	return c.errClosedIf(fmt.Errorf("chain: %s (gRPC %s): %w", what, c.cfg.GRPCAddr, err))
}

// requestTimeout bounds one request when the caller's ctx has no deadline,
// so that a node that accepts connections but never answers cannot hang a
// daemon.
const requestTimeout = 30 * time.Second

func (c *Client) reqCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, requestTimeout)
}

// checkAddress refuses malformed or foreign-prefix addresses before asking
// the node, whose error would be less clear.
func checkAddress(what, addr string) error {
	if _, err := accAddrCodec.StringToBytes(addr); err != nil {
		return fmt.Errorf("chain: %s %q is not a %s1… address: %w", what, addr, AccountPrefix, err)
	}
	return nil
}

// Height is the node's latest committed height.
func (c *Client) Height(ctx context.Context) (int64, error) {
	ctx, cancel := c.reqCtx(ctx)
	defer cancel()
	st, err := c.rpc.Status(ctx)
	if err != nil {
		return 0, c.errClosedIf(fmt.Errorf("chain: status (RPC %s): %w", c.cfg.RPCAddr, err))
	}
	return st.SyncInfo.LatestBlockHeight, nil
}

// Metagraph is a subnet with its neurons, their stake and the current
// registration price, read at one height.
func (c *Client) Metagraph(ctx context.Context, netuid uint32) (*subnettypes.QueryMetagraphResponse, error) {
	ctx, cancel := c.reqCtx(ctx)
	defer cancel()
	res, err := c.subnetQ.Metagraph(ctx, &subnettypes.QueryMetagraphRequest{Netuid: netuid})
	if err != nil {
		return nil, c.queryErr(fmt.Sprintf("metagraph of subnet %d", netuid), err)
	}
	return res, nil
}

// Subnet is one subnet's record.
func (c *Client) Subnet(ctx context.Context, netuid uint32) (subnettypes.Subnet, error) {
	ctx, cancel := c.reqCtx(ctx)
	defer cancel()
	res, err := c.subnetQ.Subnet(ctx, &subnettypes.QuerySubnetRequest{Netuid: netuid})
	if err != nil {
		return subnettypes.Subnet{}, c.queryErr(fmt.Sprintf("subnet %d", netuid), err)
	}
	return res.Subnet, nil
}

// NeuronByHotkey is the neuron hotkey holds on a subnet; ErrNotFound when
// it is not registered there.
func (c *Client) NeuronByHotkey(ctx context.Context, netuid uint32, hotkey string) (subnettypes.Neuron, error) {
	ctx, cancel := c.reqCtx(ctx)
	defer cancel()
	if err := checkAddress("hotkey", hotkey); err != nil {
		return subnettypes.Neuron{}, err
	}
	res, err := c.subnetQ.NeuronByHotkey(ctx, &subnettypes.QueryNeuronByHotkeyRequest{Netuid: netuid, Hotkey: hotkey})
	if err != nil {
		return subnettypes.Neuron{}, c.queryErr(fmt.Sprintf("neuron %s on subnet %d", hotkey, netuid), err)
	}
	return res.Neuron, nil
}

// RegistrationPrice is what registering on a subnet burns at the latest
// height (umerit).
func (c *Client) RegistrationPrice(ctx context.Context, netuid uint32) (sdkmath.Int, error) {
	ctx, cancel := c.reqCtx(ctx)
	defer cancel()
	res, err := c.subnetQ.RegistrationPrice(ctx, &subnettypes.QueryRegistrationPriceRequest{Netuid: netuid})
	if err != nil {
		return sdkmath.Int{}, c.queryErr(fmt.Sprintf("registration price of subnet %d", netuid), err)
	}
	return res.Price, nil
}

// EpochState is a subnet's epoch bookkeeping and when the next epoch runs.
func (c *Client) EpochState(ctx context.Context, netuid uint32) (*scoringtypes.QueryEpochStateResponse, error) {
	ctx, cancel := c.reqCtx(ctx)
	defer cancel()
	res, err := c.scoringQ.EpochState(ctx, &scoringtypes.QueryEpochStateRequest{Netuid: netuid})
	if err != nil {
		return nil, c.queryErr(fmt.Sprintf("epoch state of subnet %d", netuid), err)
	}
	return res, nil
}

// Commits are a hotkey's pending weight commits on a subnet with their
// reveal windows.
func (c *Client) Commits(ctx context.Context, netuid uint32, hotkey string) ([]scoringtypes.CommitInfo, error) {
	ctx, cancel := c.reqCtx(ctx)
	defer cancel()
	if err := checkAddress("hotkey", hotkey); err != nil {
		return nil, err
	}
	res, err := c.scoringQ.Commits(ctx, &scoringtypes.QueryCommitsRequest{Netuid: netuid, Hotkey: hotkey})
	if err != nil {
		return nil, c.queryErr(fmt.Sprintf("commits of %s on subnet %d", hotkey, netuid), err)
	}
	return res.Commits, nil
}

// Weights is the weight row a validator (by UID) has stored on a subnet:
// its last set or revealed weights; an empty row when it has none.
func (c *Client) Weights(ctx context.Context, netuid, uid uint32) (scoringtypes.WeightsRow, error) {
	ctx, cancel := c.reqCtx(ctx)
	defer cancel()
	res, err := c.scoringQ.Weights(ctx, &scoringtypes.QueryWeightsRequest{Netuid: netuid, Uid: uid})
	if err != nil {
		return scoringtypes.WeightsRow{}, c.queryErr(fmt.Sprintf("weights of uid %d on subnet %d", uid, netuid), err)
	}
	return res.Weights, nil
}

// NeuronHistory is what a UID earned in its subnet's last epochs.
func (c *Client) NeuronHistory(ctx context.Context, netuid, uid uint32, epochs uint32) ([]emissiontypes.NeuronEmission, error) {
	ctx, cancel := c.reqCtx(ctx)
	defer cancel()
	res, err := c.emissionQ.NeuronHistory(ctx, &emissiontypes.QueryNeuronHistoryRequest{Netuid: netuid, Uid: uid, Epochs: epochs})
	if err != nil {
		return nil, c.queryErr(fmt.Sprintf("history of uid %d on subnet %d", uid, netuid), err)
	}
	return res.Records, nil
}

// Balance is an account's umerit balance (zero for unknown accounts).
func (c *Client) Balance(ctx context.Context, address string) (sdkmath.Int, error) {
	ctx, cancel := c.reqCtx(ctx)
	defer cancel()
	if err := checkAddress("address", address); err != nil {
		return sdkmath.Int{}, err
	}
	res, err := c.bankQ.Balance(ctx, &banktypes.QueryBalanceRequest{Address: address, Denom: Denom})
	if err != nil {
		return sdkmath.Int{}, c.queryErr(fmt.Sprintf("balance of %s", address), err)
	}
	if res.Balance == nil || res.Balance.Amount.IsNil() {
		return sdkmath.ZeroInt(), nil
	}
	return res.Balance.Amount, nil
}
