package keeper

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/meritnet/merit/x/subnet/types"
)

type queryServer struct{ k Keeper }

var _ types.QueryServer = queryServer{}

// NewQueryServerImpl returns the Query service backed by the keeper.
func NewQueryServerImpl(k Keeper) types.QueryServer { return queryServer{k} }

// grpcErr maps module errors to gRPC codes clients can act on.
func grpcErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errorsmod.IsOf(err, types.ErrSubnetNotFound, types.ErrNeuronNotFound, types.ErrHotkeyNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errorsmod.IsOf(err, types.ErrInvalidAddress):
		return status.Error(codes.InvalidArgument, err.Error())
	default:
		return status.Error(codes.Internal, err.Error())
	}
}

func (q queryServer) Params(ctx context.Context, _ *types.QueryParamsRequest) (*types.QueryParamsResponse, error) {
	p, err := q.k.Params.Get(ctx)
	if err != nil {
		return nil, grpcErr(err)
	}
	return &types.QueryParamsResponse{Params: p}, nil
}

func (q queryServer) Subnets(ctx context.Context, req *types.QuerySubnetsRequest) (*types.QuerySubnetsResponse, error) {
	subnets, page, err := query.CollectionPaginate(ctx, q.k.Subnets, req.GetPagination(),
		func(_ uint32, s types.Subnet) (types.Subnet, error) { return s, nil })
	if err != nil {
		return nil, grpcErr(err)
	}
	return &types.QuerySubnetsResponse{Subnets: subnets, Pagination: page}, nil
}

func (q queryServer) Subnet(ctx context.Context, req *types.QuerySubnetRequest) (*types.QuerySubnetResponse, error) {
	s, err := q.k.GetSubnet(ctx, req.GetNetuid())
	if err != nil {
		return nil, grpcErr(err)
	}
	return &types.QuerySubnetResponse{Subnet: s}, nil
}

func (q queryServer) Hyperparams(ctx context.Context, req *types.QueryHyperparamsRequest) (*types.QueryHyperparamsResponse, error) {
	s, err := q.k.GetSubnet(ctx, req.GetNetuid())
	if err != nil {
		return nil, grpcErr(err)
	}
	return &types.QueryHyperparamsResponse{Hyperparams: s.Hyperparams}, nil
}

func (q queryServer) Neurons(ctx context.Context, req *types.QueryNeuronsRequest) (*types.QueryNeuronsResponse, error) {
	if _, err := q.k.GetSubnet(ctx, req.GetNetuid()); err != nil {
		return nil, grpcErr(err)
	}
	neurons, page, err := query.CollectionPaginate(ctx, q.k.Neurons, req.GetPagination(),
		func(_ collections.Pair[uint32, uint32], n types.Neuron) (types.Neuron, error) { return n, nil },
		query.WithCollectionPaginationPairPrefix[uint32, uint32](req.GetNetuid()))
	if err != nil {
		return nil, grpcErr(err)
	}
	return &types.QueryNeuronsResponse{Neurons: neurons, Pagination: page}, nil
}

func (q queryServer) Neuron(ctx context.Context, req *types.QueryNeuronRequest) (*types.QueryNeuronResponse, error) {
	n, err := q.k.GetNeuron(ctx, req.GetNetuid(), req.GetUid())
	if err != nil {
		return nil, grpcErr(err)
	}
	return &types.QueryNeuronResponse{Neuron: n}, nil
}

func (q queryServer) NeuronByHotkey(ctx context.Context, req *types.QueryNeuronByHotkeyRequest) (*types.QueryNeuronResponse, error) {
	hk, err := q.k.parseAddr("hotkey", req.GetHotkey())
	if err != nil {
		return nil, grpcErr(err)
	}
	n, err := q.k.NeuronByHotkey(ctx, req.GetNetuid(), hk)
	if err != nil {
		return nil, grpcErr(err)
	}
	return &types.QueryNeuronResponse{Neuron: n}, nil
}

func (q queryServer) RegistrationPrice(ctx context.Context, req *types.QueryRegistrationPriceRequest) (*types.QueryRegistrationPriceResponse, error) {
	p, err := q.k.RegistrationPrice(ctx, req.GetNetuid())
	if err != nil {
		return nil, grpcErr(err)
	}
	return &types.QueryRegistrationPriceResponse{Price: p}, nil
}

func (q queryServer) LockCost(ctx context.Context, _ *types.QueryLockCostRequest) (*types.QueryLockCostResponse, error) {
	c, err := q.k.LockCost(ctx)
	if err != nil {
		return nil, grpcErr(err)
	}
	return &types.QueryLockCostResponse{LockCost: c}, nil
}

func (q queryServer) StakesByDelegator(ctx context.Context, req *types.QueryStakesByDelegatorRequest) (*types.QueryStakesResponse, error) {
	del, err := q.k.parseAddr("delegator", req.GetDelegator())
	if err != nil {
		return nil, grpcErr(err)
	}
	// Delegators hold few stakes, so offset/limit paging over a prefix walk is enough.
	offset, limit := pageBounds(req.GetPagination())
	var stakes []types.Stake
	total := uint64(0)
	rng := collections.NewPrefixedTripleRange[sdk.AccAddress, uint32, sdk.AccAddress](del)
	err = q.k.DelegatorStakes.Walk(ctx, rng, func(key collections.Triple[sdk.AccAddress, uint32, sdk.AccAddress]) (bool, error) {
		total++
		if total <= offset || uint64(len(stakes)) >= limit {
			return false, nil
		}
		amt, err := q.k.GetStake(ctx, key.K2(), key.K3(), key.K1())
		stakes = append(stakes, types.Stake{Netuid: key.K2(), Hotkey: key.K3().String(), Delegator: key.K1().String(), Amount: amt})
		return false, err
	})
	if err != nil {
		return nil, grpcErr(err)
	}
	page := &query.PageResponse{Total: total}
	return &types.QueryStakesResponse{Stakes: stakes, Pagination: page}, nil
}

func (q queryServer) StakesByHotkey(ctx context.Context, req *types.QueryStakesByHotkeyRequest) (*types.QueryStakesResponse, error) {
	hk, err := q.k.parseAddr("hotkey", req.GetHotkey())
	if err != nil {
		return nil, grpcErr(err)
	}
	var out []types.Stake
	rng := collections.NewSuperPrefixedTripleRange[uint32, sdk.AccAddress, sdk.AccAddress](req.GetNetuid(), hk)
	err = q.k.Stakes.Walk(ctx, rng, func(key collections.Triple[uint32, sdk.AccAddress, sdk.AccAddress], amt sdkmath.Int) (bool, error) {
		out = append(out, types.Stake{Netuid: key.K1(), Hotkey: key.K2().String(), Delegator: key.K3().String(), Amount: amt})
		return false, nil
	})
	if err != nil {
		return nil, grpcErr(err)
	}
	return &types.QueryStakesResponse{Stakes: out}, nil
}

func (q queryServer) Unbondings(ctx context.Context, req *types.QueryUnbondingsRequest) (*types.QueryUnbondingsResponse, error) {
	del, err := q.k.parseAddr("delegator", req.GetDelegator())
	if err != nil {
		return nil, grpcErr(err)
	}
	out, page, err := query.CollectionPaginate(ctx, q.k.UnbondingByDelegator, req.GetPagination(),
		func(key collections.Pair[sdk.AccAddress, uint64], _ collections.NoValue) (types.Unbonding, error) {
			return q.k.Unbondings.Get(ctx, key.K2())
		},
		query.WithCollectionPaginationPairPrefix[sdk.AccAddress, uint64](del))
	if err != nil {
		return nil, grpcErr(err)
	}
	return &types.QueryUnbondingsResponse{Unbondings: out, Pagination: page}, nil
}

func (q queryServer) Hotkey(ctx context.Context, req *types.QueryHotkeyRequest) (*types.QueryHotkeyResponse, error) {
	hk, err := q.k.parseAddr("hotkey", req.GetHotkey())
	if err != nil {
		return nil, grpcErr(err)
	}
	info, err := q.k.HotkeyInfo(ctx, hk)
	if err != nil {
		return nil, grpcErr(err)
	}
	return &types.QueryHotkeyResponse{Hotkey: info}, nil
}

func (q queryServer) Metagraph(ctx context.Context, req *types.QueryMetagraphRequest) (*types.QueryMetagraphResponse, error) {
	mg, err := q.k.Metagraph(ctx, req.GetNetuid())
	if err != nil {
		return nil, grpcErr(err)
	}
	return mg, nil
}

// pageBounds reads offset and limit from a page request (default limit 100, max 1000).
func pageBounds(p *query.PageRequest) (offset, limit uint64) {
	limit = 100
	if p == nil {
		return 0, limit
	}
	if p.Limit > 0 {
		limit = min(p.Limit, 1000)
	}
	return p.Offset, limit
}
