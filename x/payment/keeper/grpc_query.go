package keeper

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/meritnet/merit/x/payment/types"
)

type queryServer struct{ k Keeper }

var _ types.QueryServer = queryServer{}

// NewQueryServerImpl returns the Query service backed by the keeper.
func NewQueryServerImpl(k Keeper) types.QueryServer { return queryServer{k} }

// grpcErr maps not-found and bad-input errors to their gRPC codes.
func grpcErr(err error) error {
	switch {
	case errors.Is(err, types.ErrAccountNotFound), errors.Is(err, types.ErrSettlementNotFound), errors.Is(err, collections.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, types.ErrInvalidAddress), errors.Is(err, types.ErrInvalidKeyHash):
		return status.Error(codes.InvalidArgument, err.Error())
	}
	return status.Error(codes.Internal, err.Error())
}

func (q queryServer) Params(ctx context.Context, _ *types.QueryParamsRequest) (*types.QueryParamsResponse, error) {
	p, err := q.k.Params.Get(ctx)
	if err != nil {
		return nil, grpcErr(err)
	}
	return &types.QueryParamsResponse{Params: p}, nil
}

func (q queryServer) Account(ctx context.Context, req *types.QueryAccountRequest) (*types.QueryAccountResponse, error) {
	a, err := q.k.GetAccount(ctx, req.Id)
	if err != nil {
		return nil, grpcErr(err)
	}
	return &types.QueryAccountResponse{Account: a}, nil
}

func (q queryServer) AccountByKey(ctx context.Context, req *types.QueryAccountByKeyRequest) (*types.QueryAccountResponse, error) {
	if err := types.ValidateKeyHash(req.KeyHash); err != nil {
		return nil, grpcErr(err)
	}
	id, err := q.k.KeyHashIndex.Get(ctx, req.KeyHash)
	if errors.Is(err, collections.ErrNotFound) {
		return nil, grpcErr(types.ErrAccountNotFound.Wrapf("no open account has key hash %s", req.KeyHash))
	}
	if err != nil {
		return nil, grpcErr(err)
	}
	return q.Account(ctx, &types.QueryAccountRequest{Id: id})
}

func (q queryServer) Accounts(ctx context.Context, req *types.QueryAccountsRequest) (*types.QueryAccountsResponse, error) {
	if req.Payer == "" {
		accounts, page, err := query.CollectionPaginate(ctx, q.k.Accounts, req.Pagination,
			func(_ uint64, a types.Account) (types.Account, error) { return a, nil })
		if err != nil {
			return nil, grpcErr(err)
		}
		return &types.QueryAccountsResponse{Accounts: accounts, Pagination: page}, nil
	}
	payer, err := q.k.parseAddr("payer", req.Payer)
	if err != nil {
		return nil, grpcErr(err)
	}
	accounts, page, err := indexedAccounts(ctx, q.k, q.k.PayerIndex, payer, req.Pagination)
	if err != nil {
		return nil, grpcErr(err)
	}
	return &types.QueryAccountsResponse{Accounts: accounts, Pagination: page}, nil
}

func (q queryServer) SubnetAccounts(ctx context.Context, req *types.QuerySubnetAccountsRequest) (*types.QuerySubnetAccountsResponse, error) {
	accounts, page, err := indexedAccounts(ctx, q.k, q.k.SubnetIndex, req.Netuid, req.Pagination)
	if err != nil {
		return nil, grpcErr(err)
	}
	return &types.QuerySubnetAccountsResponse{Accounts: accounts, Pagination: page}, nil
}

// indexedAccounts pages through the accounts an index (payer or subnet,
// then account id) lists under one prefix.
func indexedAccounts[K any](ctx context.Context, k Keeper, index collections.KeySet[collections.Pair[K, uint64]], prefix K,
	page *query.PageRequest,
) ([]types.Account, *query.PageResponse, error) {
	return query.CollectionPaginate(ctx, index, page,
		func(key collections.Pair[K, uint64], _ collections.NoValue) (types.Account, error) {
			return k.GetAccount(ctx, key.K2())
		}, query.WithCollectionPaginationPairPrefix[K, uint64](prefix))
}

func (q queryServer) Gateways(ctx context.Context, req *types.QueryGatewaysRequest) (*types.QueryGatewaysResponse, error) {
	s, err := q.k.subnets.GetSubnet(ctx, req.Netuid)
	if err != nil {
		return nil, status.Error(codes.NotFound, err.Error())
	}
	p, err := q.k.Params.Get(ctx)
	if err != nil {
		return nil, grpcErr(err)
	}
	neurons, stakes, err := q.k.subnets.NeuronsOf(ctx, req.Netuid)
	if err != nil {
		return nil, grpcErr(err)
	}
	byHotkey := make(map[string]int, len(neurons))
	for i, n := range neurons {
		byHotkey[n.Hotkey] = i
	}
	resp := &types.QueryGatewaysResponse{
		PricePerMillionTokens: s.Hyperparams.PricePerMillionTokens, GatewayFeeBps: p.GatewayFeeBps, BurnBps: p.BurnBps,
	}
	err = q.k.Gateways.Walk(ctx, collections.NewPrefixedPairRange[uint32, sdk.AccAddress](req.Netuid),
		func(_ collections.Pair[uint32, sdk.AccAddress], g types.Gateway) (bool, error) {
			i, ok := byHotkey[g.Hotkey]
			if !ok || !neurons[i].ValidatorPermit {
				return false, nil
			}
			resp.Gateways = append(resp.Gateways, types.GatewayInfo{
				Hotkey: g.Hotkey, Uid: neurons[i].Uid, Url: g.Url, Stake: stakes[i], UpdatedAt: g.UpdatedAt,
			})
			return false, nil
		})
	if err != nil {
		return nil, grpcErr(err)
	}
	return resp, nil
}

func (q queryServer) Settlement(ctx context.Context, req *types.QuerySettlementRequest) (*types.QuerySettlementResponse, error) {
	gw, err := q.k.parseAddr("gateway", req.Gateway)
	if err != nil {
		return nil, grpcErr(err)
	}
	s, err := q.k.Settlements.Get(ctx, collections.Join(req.AccountId, gw))
	if errors.Is(err, collections.ErrNotFound) {
		return nil, grpcErr(types.ErrSettlementNotFound.Wrapf("gateway %s has not settled account %d", req.Gateway, req.AccountId))
	}
	if err != nil {
		return nil, grpcErr(err)
	}
	return &types.QuerySettlementResponse{Settlement: s}, nil
}

func (q queryServer) Settlements(ctx context.Context, req *types.QuerySettlementsRequest) (*types.QuerySettlementsResponse, error) {
	resp := &types.QuerySettlementsResponse{}
	err := q.k.Settlements.Walk(ctx, collections.NewPrefixedPairRange[uint64, sdk.AccAddress](req.AccountId),
		func(_ collections.Pair[uint64, sdk.AccAddress], s types.Settlement) (bool, error) {
			resp.Settlements = append(resp.Settlements, s)
			return false, nil
		})
	if err != nil {
		return nil, grpcErr(err)
	}
	return resp, nil
}

func (q queryServer) Revenue(ctx context.Context, req *types.QueryRevenueRequest) (*types.QueryRevenueResponse, error) {
	r, err := q.k.subnetRevenue(ctx, req.Netuid)
	if err != nil {
		return nil, grpcErr(err)
	}
	total, ema, err := q.k.emission.SubnetRevenue(ctx, req.Netuid)
	if err != nil {
		return nil, grpcErr(err)
	}
	return &types.QueryRevenueResponse{Revenue: r, EmissionRevenue: total, RevenueEma: ema}, nil
}
