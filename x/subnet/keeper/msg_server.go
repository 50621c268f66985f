package keeper

import (
	"context"

	errorsmod "cosmossdk.io/errors"

	"github.com/meritnet/merit/x/subnet/types"
)

type msgServer struct{ Keeper }

var _ types.MsgServer = msgServer{}

// NewMsgServerImpl returns the Msg service backed by the keeper. Handlers
// validate everything before the first write, and the SDK discards a failed
// message's writes, so a rejected message changes nothing.
func NewMsgServerImpl(k Keeper) types.MsgServer { return msgServer{k} }

func (m msgServer) UpdateParams(ctx context.Context, msg *types.MsgUpdateParams) (*types.MsgUpdateParamsResponse, error) {
	if msg.Authority != m.authority {
		return nil, errorsmod.Wrapf(types.ErrInvalidSigner, "invalid authority; expected %s, got %s", m.authority, msg.Authority)
	}
	if err := msg.Params.Validate(); err != nil {
		return nil, errorsmod.Wrap(types.ErrInvalidParams, err.Error())
	}
	if err := m.Params.Set(ctx, msg.Params); err != nil {
		return nil, err
	}
	return &types.MsgUpdateParamsResponse{}, nil
}

func (m msgServer) CreateSubnet(ctx context.Context, msg *types.MsgCreateSubnet) (*types.MsgCreateSubnetResponse, error) {
	return m.Keeper.CreateSubnet(ctx, msg)
}

func (m msgServer) DissolveSubnet(ctx context.Context, msg *types.MsgDissolveSubnet) (*types.MsgDissolveSubnetResponse, error) {
	if msg.Authority != m.authority {
		return nil, errorsmod.Wrapf(types.ErrInvalidSigner, "invalid authority; expected %s, got %s", m.authority, msg.Authority)
	}
	if _, err := m.Keeper.DissolveSubnet(ctx, msg.Netuid); err != nil {
		return nil, err
	}
	return &types.MsgDissolveSubnetResponse{}, nil
}

func (m msgServer) UpdateSubnetHyperparams(ctx context.Context, msg *types.MsgUpdateSubnetHyperparams) (*types.MsgUpdateSubnetHyperparamsResponse, error) {
	return &types.MsgUpdateSubnetHyperparamsResponse{}, m.Keeper.UpdateHyperparams(ctx, msg)
}

func (m msgServer) RegisterNeuron(ctx context.Context, msg *types.MsgRegisterNeuron) (*types.MsgRegisterNeuronResponse, error) {
	return m.Keeper.RegisterNeuron(ctx, msg)
}

func (m msgServer) ServeEndpoint(ctx context.Context, msg *types.MsgServeEndpoint) (*types.MsgServeEndpointResponse, error) {
	return &types.MsgServeEndpointResponse{}, m.Keeper.ServeEndpoint(ctx, msg)
}

func (m msgServer) AddStake(ctx context.Context, msg *types.MsgAddStake) (*types.MsgAddStakeResponse, error) {
	return &types.MsgAddStakeResponse{}, m.Keeper.AddStake(ctx, msg)
}

func (m msgServer) RemoveStake(ctx context.Context, msg *types.MsgRemoveStake) (*types.MsgRemoveStakeResponse, error) {
	return m.Keeper.RemoveStake(ctx, msg)
}

func (m msgServer) SetTake(ctx context.Context, msg *types.MsgSetTake) (*types.MsgSetTakeResponse, error) {
	return &types.MsgSetTakeResponse{}, m.Keeper.SetTake(ctx, msg)
}
