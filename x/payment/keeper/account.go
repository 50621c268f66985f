package keeper

import (
	"context"
	"errors"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/x/payment/types"
)

// gatewayList validates an allowed-gateways list: addresses, no duplicates,
// at most max entries. It returns the list in canonical string form.
func (k Keeper) gatewayList(list []string, max uint32) ([]string, error) {
	if uint64(len(list)) > uint64(max) {
		return nil, types.ErrInvalidGateways.Wrapf("%d gateways, at most %d (max_gateways_per_account)", len(list), max)
	}
	out := make([]string, 0, len(list))
	for i, s := range list {
		bz, err := k.parseAddr("allowed gateway", s)
		if err != nil {
			return nil, err
		}
		canon := sdk.AccAddress(bz).String()
		for _, prev := range out[:i] {
			if prev == canon {
				return nil, types.ErrInvalidGateways.Wrapf("%s listed twice", s)
			}
		}
		out = append(out, canon)
	}
	return out, nil
}

func nonNegative(field string, v sdkmath.Int) error {
	if v.IsNil() || v.IsNegative() {
		return types.ErrInvalidAmount.Wrapf("%s must be a non-negative integer", field)
	}
	return nil
}

// OpenAccount moves the deposit from the payer into the module and creates the account.
func (k Keeper) OpenAccount(ctx context.Context, msg *types.MsgOpenAccount) (uint64, error) {
	payer, err := k.parseAddr("payer", msg.Payer)
	if err != nil {
		return 0, err
	}
	p, err := k.Params.Get(ctx)
	if err != nil {
		return 0, err
	}
	if err := types.ValidateKeyHash(msg.KeyHash); err != nil {
		return 0, err
	}
	if msg.Deposit.IsNil() || msg.Deposit.LT(p.MinDeposit) {
		return 0, types.ErrDepositTooSmall.Wrapf("deposit %s umerit, min_deposit is %s umerit", msg.Deposit, p.MinDeposit)
	}
	if err := nonNegative("spend_limit_per_epoch", msg.SpendLimitPerEpoch); err != nil {
		return 0, err
	}
	gateways, err := k.gatewayList(msg.AllowedGateways, p.MaxGatewaysPerAccount)
	if err != nil {
		return 0, err
	}
	if _, err := k.subnets.GetSubnet(ctx, msg.Netuid); err != nil {
		return 0, err
	}
	if owner, err := k.KeyHashIndex.Get(ctx, msg.KeyHash); err == nil {
		return 0, types.ErrKeyHashInUse.Wrapf("account %d", owner)
	} else if !errors.Is(err, collections.ErrNotFound) {
		return 0, err
	}
	if err := k.bank.SendCoinsFromAccountToModule(ctx, payer, types.ModuleName, k.coins(msg.Deposit)); err != nil {
		return 0, err
	}
	id, err := k.NextAccountID.Next(ctx)
	if err != nil {
		return 0, err
	}
	zero := sdkmath.ZeroInt()
	a := types.Account{
		Id: id, Payer: payer.String(), Netuid: msg.Netuid, KeyHash: msg.KeyHash,
		Balance: msg.Deposit, SpendLimitPerEpoch: msg.SpendLimitPerEpoch, AllowedGateways: gateways,
		Totals:     types.AccountTotals{Deposited: msg.Deposit, Charged: zero},
		EpochSpent: zero, CreatedAt: sdk.UnwrapSDKContext(ctx).BlockHeight(),
	}
	if err := k.Accounts.Set(ctx, id, a); err != nil {
		return 0, err
	}
	if err := k.KeyHashIndex.Set(ctx, a.KeyHash, id); err != nil {
		return 0, err
	}
	if err := k.PayerIndex.Set(ctx, collections.Join(payer, id)); err != nil {
		return 0, err
	}
	if err := k.SubnetIndex.Set(ctx, collections.Join(a.Netuid, id)); err != nil {
		return 0, err
	}
	return id, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventAccountOpened{
		AccountId: id, Payer: a.Payer, Netuid: a.Netuid, KeyHash: a.KeyHash, Deposit: msg.Deposit,
	})
}

// payerAccount loads an account the signer may change: its own and not closing.
func (k Keeper) payerAccount(ctx context.Context, payer string, id uint64) (types.Account, sdk.AccAddress, error) {
	addr, err := k.parseAddr("payer", payer)
	if err != nil {
		return types.Account{}, nil, err
	}
	a, err := k.GetAccount(ctx, id)
	if err != nil {
		return a, nil, err
	}
	if a.Payer != addr.String() {
		return a, nil, types.ErrNotPayer.Wrapf("account %d belongs to %s", id, a.Payer)
	}
	if a.Closing {
		return a, nil, types.ErrAccountClosing.Wrapf("account %d is refunded after block %d", id, a.CloseAt)
	}
	return a, addr, nil
}

// Deposit tops up an open account.
func (k Keeper) Deposit(ctx context.Context, msg *types.MsgDeposit) (sdkmath.Int, error) {
	if msg.Amount.IsNil() || !msg.Amount.IsPositive() {
		return sdkmath.Int{}, types.ErrInvalidAmount.Wrap("amount must be positive")
	}
	a, payer, err := k.payerAccount(ctx, msg.Payer, msg.AccountId)
	if err != nil {
		return sdkmath.Int{}, err
	}
	if err := k.bank.SendCoinsFromAccountToModule(ctx, payer, types.ModuleName, k.coins(msg.Amount)); err != nil {
		return sdkmath.Int{}, err
	}
	a.Balance = a.Balance.Add(msg.Amount)
	a.Totals.Deposited = a.Totals.Deposited.Add(msg.Amount)
	if err := k.Accounts.Set(ctx, a.Id, a); err != nil {
		return sdkmath.Int{}, err
	}
	return a.Balance, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventDeposit{
		AccountId: a.Id, Amount: msg.Amount, Balance: a.Balance,
	})
}

// UpdateAccount rotates the key hash, changes the spend limit or the gateway list.
func (k Keeper) UpdateAccount(ctx context.Context, msg *types.MsgUpdateAccount) error {
	a, _, err := k.payerAccount(ctx, msg.Payer, msg.AccountId)
	if err != nil {
		return err
	}
	if msg.KeyHash == "" && !msg.SetSpendLimit && !msg.SetAllowedGateways {
		return types.ErrInvalidAmount.Wrap("nothing to update: give a key hash, a spend limit or a gateway list")
	}
	p, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	if msg.SetSpendLimit {
		if err := nonNegative("spend_limit_per_epoch", msg.SpendLimitPerEpoch); err != nil {
			return err
		}
		a.SpendLimitPerEpoch = msg.SpendLimitPerEpoch
	}
	if msg.SetAllowedGateways {
		list, err := k.gatewayList(msg.AllowedGateways, p.MaxGatewaysPerAccount)
		if err != nil {
			return err
		}
		height := sdk.UnwrapSDKContext(ctx).BlockHeight()
		a.SetAllowedGateways(list, height, height+int64(p.CloseGraceBlocks), p.MaxGatewaysPerAccount)
	}
	if msg.KeyHash != "" && msg.KeyHash != a.KeyHash {
		if err := types.ValidateKeyHash(msg.KeyHash); err != nil {
			return err
		}
		if owner, err := k.KeyHashIndex.Get(ctx, msg.KeyHash); err == nil {
			return types.ErrKeyHashInUse.Wrapf("account %d", owner)
		} else if !errors.Is(err, collections.ErrNotFound) {
			return err
		}
		if err := k.KeyHashIndex.Remove(ctx, a.KeyHash); err != nil {
			return err
		}
		if err := k.KeyHashIndex.Set(ctx, msg.KeyHash, a.Id); err != nil {
			return err
		}
		a.KeyHash = msg.KeyHash
	}
	if err := k.Accounts.Set(ctx, a.Id, a); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventAccountUpdated{
		AccountId: a.Id, KeyHash: a.KeyHash, SpendLimitPerEpoch: a.SpendLimitPerEpoch, AllowedGateways: a.AllowedGateways,
		RevokedGateways: a.RevokedGateways, RevokedAny: a.RevokedAny, RevokedUntil: a.RevokedUntil,
	})
}

// CloseAccount stops service at once: the key hash is released, gateways may
// settle what they already served until close_at, and EndBlock refunds the
// balance after that.
func (k Keeper) CloseAccount(ctx context.Context, msg *types.MsgCloseAccount) (int64, error) {
	a, _, err := k.payerAccount(ctx, msg.Payer, msg.AccountId)
	if err != nil {
		return 0, err
	}
	p, err := k.Params.Get(ctx)
	if err != nil {
		return 0, err
	}
	a.Closing = true
	a.CloseAt = sdk.UnwrapSDKContext(ctx).BlockHeight() + int64(p.CloseGraceBlocks)
	if err := k.KeyHashIndex.Remove(ctx, a.KeyHash); err != nil {
		return 0, err
	}
	if err := k.ClosingQueue.Set(ctx, collections.Join(a.CloseAt, a.Id)); err != nil {
		return 0, err
	}
	if err := k.Accounts.Set(ctx, a.Id, a); err != nil {
		return 0, err
	}
	return a.CloseAt, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventAccountClosing{
		AccountId: a.Id, CloseAt: a.CloseAt,
	})
}
