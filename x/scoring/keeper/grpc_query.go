package keeper

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/x/scoring/types"
	"github.com/meritnet/merit/x/scoring/yuma"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// MaxScenarioBytes bounds a simulate request; a 4096-UID dense scenario is far below it.
const MaxScenarioBytes = 64 << 20

type queryServer struct{ k Keeper }

var _ types.QueryServer = queryServer{}

// NewQueryServerImpl returns the Query service backed by the keeper.
func NewQueryServerImpl(k Keeper) types.QueryServer { return queryServer{k} }

func grpcErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errorsmod.IsOf(err, subnettypes.ErrSubnetNotFound, subnettypes.ErrNeuronNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errorsmod.IsOf(err, types.ErrInvalidScenario, types.ErrInvalidWeights):
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

func (q queryServer) Weights(ctx context.Context, req *types.QueryWeightsRequest) (*types.QueryWeightsResponse, error) {
	row, err := q.k.Weights.Get(ctx, collections.Join(req.GetNetuid(), req.GetUid()))
	if err != nil && !isNotFound(err) {
		return nil, grpcErr(err)
	}
	return &types.QueryWeightsResponse{Weights: row}, nil
}

func (q queryServer) Bonds(ctx context.Context, req *types.QueryBondsRequest) (*types.QueryBondsResponse, error) {
	row, err := q.k.Bonds.Get(ctx, collections.Join(req.GetNetuid(), req.GetUid()))
	if err != nil && !isNotFound(err) {
		return nil, grpcErr(err)
	}
	return &types.QueryBondsResponse{Bonds: row}, nil
}

func (q queryServer) Commits(ctx context.Context, req *types.QueryCommitsRequest) (*types.QueryCommitsResponse, error) {
	hk, err := q.k.parseAddr("hotkey", req.GetHotkey())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	s, err := q.k.subnets.GetSubnet(ctx, req.GetNetuid())
	if err != nil {
		return nil, grpcErr(err)
	}
	var out []types.CommitInfo
	rng := collections.NewSuperPrefixedTripleRange[uint32, sdk.AccAddress, int64](req.GetNetuid(), hk)
	err = q.k.Commits.Walk(ctx, rng, func(_ collections.Triple[uint32, sdk.AccAddress, int64], c types.WeightCommit) (bool, error) {
		from, until := revealWindow(c.CommitBlock, req.GetNetuid(), s.Hyperparams.Tempo, s.Hyperparams.RevealPeriod)
		out = append(out, types.CommitInfo{Commit: c, RevealFrom: from, RevealUntil: until})
		return false, nil
	})
	if err != nil {
		return nil, grpcErr(err)
	}
	return &types.QueryCommitsResponse{Commits: out}, nil
}

func (q queryServer) EpochState(ctx context.Context, req *types.QueryEpochStateRequest) (*types.QueryEpochStateResponse, error) {
	s, err := q.k.subnets.GetSubnet(ctx, req.GetNetuid())
	if err != nil {
		return nil, grpcErr(err)
	}
	st, err := q.k.epochState(ctx, req.GetNetuid())
	if err != nil {
		return nil, grpcErr(err)
	}
	height := sdk.UnwrapSDKContext(ctx).BlockHeight()
	return &types.QueryEpochStateResponse{
		State: st, Tempo: s.Hyperparams.Tempo,
		NextEpochBlock: nextEpochAtOrAfter(height+1, req.GetNetuid(), s.Hyperparams.Tempo),
	}, nil
}

func (q queryServer) Simulate(_ context.Context, req *types.QuerySimulateRequest) (*types.QuerySimulateResponse, error) {
	if len(req.GetScenario()) > MaxScenarioBytes {
		return nil, grpcErr(types.ErrInvalidScenario.Wrapf("scenario is %d bytes; the limit is %d", len(req.GetScenario()), MaxScenarioBytes))
	}
	out, err := yuma.Simulate([]byte(req.GetScenario()))
	if err != nil {
		return nil, grpcErr(types.ErrInvalidScenario.Wrap(err.Error()))
	}
	return &types.QuerySimulateResponse{Result: string(out)}, nil
}
