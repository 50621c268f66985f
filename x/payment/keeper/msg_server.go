package keeper

import (
	"context"

	errorsmod "cosmossdk.io/errors"

	"github.com/meritnet/merit/x/payment/types"
)

type msgServer struct{ Keeper }

var _ types.MsgServer = msgServer{}

// NewMsgServerImpl returns the Msg service backed by the keeper.
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

func (m msgServer) OpenAccount(ctx context.Context, msg *types.MsgOpenAccount) (*types.MsgOpenAccountResponse, error) {
	id, err := m.Keeper.OpenAccount(ctx, msg)
	if err != nil {
		return nil, err
	}
	return &types.MsgOpenAccountResponse{AccountId: id}, nil
}

func (m msgServer) Deposit(ctx context.Context, msg *types.MsgDeposit) (*types.MsgDepositResponse, error) {
	bal, err := m.Keeper.Deposit(ctx, msg)
	if err != nil {
		return nil, err
	}
	return &types.MsgDepositResponse{Balance: bal}, nil
}

func (m msgServer) UpdateAccount(ctx context.Context, msg *types.MsgUpdateAccount) (*types.MsgUpdateAccountResponse, error) {
	if err := m.Keeper.UpdateAccount(ctx, msg); err != nil {
		return nil, err
	}
	return &types.MsgUpdateAccountResponse{}, nil
}

func (m msgServer) CloseAccount(ctx context.Context, msg *types.MsgCloseAccount) (*types.MsgCloseAccountResponse, error) {
	at, err := m.Keeper.CloseAccount(ctx, msg)
	if err != nil {
		return nil, err
	}
	return &types.MsgCloseAccountResponse{CloseAt: at}, nil
}

func (m msgServer) SettleUsage(ctx context.Context, msg *types.MsgSettleUsage) (*types.MsgSettleUsageResponse, error) {
	return m.Keeper.SettleUsage(ctx, msg)
}

func (m msgServer) ServeGateway(ctx context.Context, msg *types.MsgServeGateway) (*types.MsgServeGatewayResponse, error) {
	if err := m.Keeper.ServeGateway(ctx, msg); err != nil {
		return nil, err
	}
	return &types.MsgServeGatewayResponse{}, nil
}
