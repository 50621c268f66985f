package keeper

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"

	"github.com/meritnet/merit/x/emission/types"
)

type queryServer struct{ k Keeper }

var _ types.QueryServer = queryServer{}

// NewQueryServerImpl returns the Query service backed by the keeper.
func NewQueryServerImpl(k Keeper) types.QueryServer { return queryServer{k} }

func internal(err error) error { return status.Error(codes.Internal, err.Error()) }

func (q queryServer) Params(ctx context.Context, _ *types.QueryParamsRequest) (*types.QueryParamsResponse, error) {
	p, err := q.k.Params.Get(ctx)
	if err != nil {
		return nil, internal(err)
	}
	return &types.QueryParamsResponse{Params: p}, nil
}

func (q queryServer) BlockReward(ctx context.Context, _ *types.QueryBlockRewardRequest) (*types.QueryBlockRewardResponse, error) {
	p, err := q.k.Params.Get(ctx)
	if err != nil {
		return nil, internal(err)
	}
	issued, err := q.k.GetTotalIssued(ctx)
	if err != nil {
		return nil, internal(err)
	}
	r, k := types.BlockReward(p.InitialBlockReward, issued, p.SupplyCap)
	return &types.QueryBlockRewardResponse{Reward: r, Halvings: k}, nil
}

func (q queryServer) TotalIssued(ctx context.Context, _ *types.QueryTotalIssuedRequest) (*types.QueryTotalIssuedResponse, error) {
	p, err := q.k.Params.Get(ctx)
	if err != nil {
		return nil, internal(err)
	}
	issued, err := q.k.GetTotalIssued(ctx)
	if err != nil {
		return nil, internal(err)
	}
	burned, err := q.k.GetTotalBurned(ctx)
	if err != nil {
		return nil, internal(err)
	}
	return &types.QueryTotalIssuedResponse{TotalIssued: issued, SupplyCap: p.SupplyCap, TotalBurned: burned}, nil
}

func (q queryServer) Subnets(ctx context.Context, _ *types.QuerySubnetsRequest) (*types.QuerySubnetsResponse, error) {
	p, err := q.k.Params.Get(ctx)
	if err != nil {
		return nil, internal(err)
	}
	// The split as the next block would compute it, without writing the EMAs.
	b, err := q.k.split(sdkCtxNoWrite(ctx), p)
	if err != nil {
		return nil, internal(err)
	}
	total := sdkmath.ZeroInt()
	for i := range b.eligible {
		total = total.Add(b.stake[i]).Add(b.revenue[i])
	}
	out := &types.QuerySubnetsResponse{}
	for i, se := range b.eligible {
		out.Subnets = append(out.Subnets, se)
		share := uint32(0)
		if total.IsPositive() {
			share = uint32(b.stake[i].Add(b.revenue[i]).MulRaw(types.BasisPoints).Quo(total).Int64())
		}
		out.ShareBps = append(out.ShareBps, share)
		out.StakePart = append(out.StakePart, b.stake[i])
		out.RevenuePart = append(out.RevenuePart, b.revenue[i])
	}
	return out, nil
}

func (q queryServer) NeuronHistory(ctx context.Context, req *types.QueryNeuronHistoryRequest) (*types.QueryNeuronHistoryResponse, error) {
	p, err := q.k.Params.Get(ctx)
	if err != nil {
		return nil, internal(err)
	}
	n := req.GetEpochs()
	if n == 0 || n > p.HistoryEpochs {
		n = p.HistoryEpochs
	}
	var latest uint64
	found := false
	rng := new(collections.Range[collections.Triple[uint32, uint64, uint32]]).
		Prefix(collections.TriplePrefix[uint32, uint64, uint32](req.GetNetuid())).Descending()
	if err := q.k.History.Walk(ctx, rng, func(key collections.Triple[uint32, uint64, uint32], _ types.NeuronEmission) (bool, error) {
		latest, found = key.K2(), true
		return true, nil
	}); err != nil {
		return nil, internal(err)
	}
	out := &types.QueryNeuronHistoryResponse{}
	if !found {
		return out, nil
	}
	for e := uint64(0); e < uint64(n) && e <= latest; e++ {
		rec, err := q.k.History.Get(ctx, collections.Join3(req.GetNetuid(), latest-e, req.GetUid()))
		if err == nil {
			out.Records = append(out.Records, rec)
		} else if !isNotFound(err) {
			return nil, internal(err)
		}
	}
	return out, nil
}
