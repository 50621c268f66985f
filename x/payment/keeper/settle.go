package keeper

import (
	"context"
	"errors"
	"fmt"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/x/payment/types"
)

// settleCtx is what every item of one settlement shares: read once per message.
type settleCtx struct {
	params  types.Params
	gateway sdk.AccAddress
	gwStr   string
	netuid  uint32
	price   uint64
	epoch   uint64
	height  int64
}

// settleTotals sums one message's charges so money moves once per message,
// not once per item.
type settleTotals struct {
	charged, fee, burn, toSubnet, shortfall sdkmath.Int
	tokens                                  uint64
}

// SettleUsage charges each listed account for the increase of this gateway's
// cumulative counters since its last settlement. The message fails as a whole
// for a bad gateway (not registered, no permit), a bad subnet or a malformed
// item list; an item whose account cannot be charged (unknown, other subnet,
// closed past its grace period, gateway not allowed, counters going backwards)
// is refused on its own, charges nothing and says why in its result and an
// event, so one payer cannot block a gateway's whole batch.
func (k Keeper) SettleUsage(ctx context.Context, msg *types.MsgSettleUsage) (*types.MsgSettleUsageResponse, error) {
	sc, err := k.settleContext(ctx, msg)
	if err != nil {
		return nil, err
	}
	z := sdkmath.ZeroInt()
	tot := settleTotals{charged: z, fee: z, burn: z, toSubnet: z, shortfall: z}
	resp := &types.MsgSettleUsageResponse{Results: make([]types.ItemResult, len(msg.Items))}
	events := sdk.UnwrapSDKContext(ctx).EventManager()
	for i, it := range msg.Items {
		res, err := k.settleItem(ctx, sc, it, &tot)
		if err != nil {
			return nil, err
		}
		resp.Results[i] = res
		if res.Refused != "" {
			if err := events.EmitTypedEvent(&types.EventUsageRefused{AccountId: it.AccountId, Gateway: sc.gwStr, Reason: res.Refused}); err != nil {
				return nil, err
			}
		}
	}
	if err := k.moveRevenue(ctx, sc, tot); err != nil {
		return nil, err
	}
	resp.Charged = tot.charged
	return resp, nil
}

func (k Keeper) settleContext(ctx context.Context, msg *types.MsgSettleUsage) (settleCtx, error) {
	gateway, err := k.parseAddr("gateway", msg.Gateway)
	if err != nil {
		return settleCtx{}, err
	}
	p, err := k.Params.Get(ctx)
	if err != nil {
		return settleCtx{}, err
	}
	if len(msg.Items) == 0 {
		return settleCtx{}, types.ErrInvalidSettlement.Wrap("no items")
	}
	if uint64(len(msg.Items)) > uint64(p.MaxSettleItems) {
		return settleCtx{}, types.ErrTooManyItems.Wrapf("%d items, at most %d (max_settle_items)", len(msg.Items), p.MaxSettleItems)
	}
	seen := make(map[uint64]struct{}, len(msg.Items))
	for _, it := range msg.Items {
		if _, dup := seen[it.AccountId]; dup {
			return settleCtx{}, types.ErrInvalidSettlement.Wrapf("account %d listed twice", it.AccountId)
		}
		seen[it.AccountId] = struct{}{}
	}
	s, err := k.subnets.GetSubnet(ctx, msg.Netuid)
	if err != nil {
		return settleCtx{}, err
	}
	n, err := k.subnets.NeuronByHotkey(ctx, msg.Netuid, gateway)
	if err != nil {
		return settleCtx{}, types.ErrNoPermit.Wrap(err.Error())
	}
	if !n.ValidatorPermit {
		return settleCtx{}, types.ErrNoPermit.Wrapf("uid %d on subnet %d", n.Uid, msg.Netuid)
	}
	epoch, err := k.epochs.EpochNumber(ctx, msg.Netuid)
	if err != nil {
		return settleCtx{}, err
	}
	return settleCtx{
		params: p, gateway: gateway, gwStr: gateway.String(), netuid: msg.Netuid,
		price: s.Hyperparams.PricePerMillionTokens, epoch: epoch, height: sdk.UnwrapSDKContext(ctx).BlockHeight(),
	}, nil
}

func refused(id uint64, format string, args ...any) types.ItemResult {
	return types.ItemResult{AccountId: id, Charged: sdkmath.ZeroInt(), Shortfall: sdkmath.ZeroInt(), Refused: fmt.Sprintf(format, args...)}
}

// settleItem applies one item. A returned error aborts the message (store
// failure); a refusal is a result.
func (k Keeper) settleItem(ctx context.Context, sc settleCtx, it types.UsageItem, tot *settleTotals) (types.ItemResult, error) {
	a, err := k.Accounts.Get(ctx, it.AccountId)
	if errors.Is(err, collections.ErrNotFound) {
		return refused(it.AccountId, "unknown account"), nil
	}
	if err != nil {
		return types.ItemResult{}, err
	}
	switch {
	case a.Netuid != sc.netuid:
		return refused(a.Id, "account is for subnet %d", a.Netuid), nil
	case a.Closing && sc.height > a.CloseAt:
		return refused(a.Id, "account closed: settlement was possible until block %d", a.CloseAt), nil
	case !a.MaySettle(sc.gwStr, sc.height):
		if a.RevokedUntil > 0 {
			return refused(a.Id, "gateway not in the account's allowed list (removed gateways could settle until block %d)", a.RevokedUntil), nil
		}
		return refused(a.Id, "gateway not in the account's allowed list"), nil
	}
	key := collections.Join(a.Id, sc.gateway)
	rec, err := k.Settlements.Get(ctx, key)
	switch {
	case errors.Is(err, collections.ErrNotFound):
		if a.GatewayCount >= sc.params.MaxGatewaysPerAccount {
			return refused(a.Id, "account already settled by %d gateways (max_gateways_per_account)", a.GatewayCount), nil
		}
		a.GatewayCount++
		rec = types.Settlement{Gateway: sc.gwStr, AccountId: a.Id, Charged: sdkmath.ZeroInt(), Shortfall: sdkmath.ZeroInt()}
	case err != nil:
		return types.ItemResult{}, err
	}
	if it.CumulativeTokens < rec.Tokens || it.CumulativeRequests < rec.Requests {
		return refused(a.Id, "counters went backwards: settled %d tokens / %d requests, reported %d / %d",
			rec.Tokens, rec.Requests, it.CumulativeTokens, it.CumulativeRequests), nil
	}
	dTokens, dRequests := it.CumulativeTokens-rec.Tokens, it.CumulativeRequests-rec.Requests
	if dTokens == 0 && dRequests == 0 {
		// A retry or replay of what is already settled: nothing to do.
		return types.ItemResult{AccountId: a.Id, Charged: sdkmath.ZeroInt(), Shortfall: sdkmath.ZeroInt()}, nil
	}
	if a.Epoch != sc.epoch {
		a.Epoch, a.EpochSpent = sc.epoch, sdkmath.ZeroInt()
	}
	cost, remainder := types.PriceUsage(dTokens, sc.price, rec.Remainder)
	charge := sdkmath.MinInt(cost, a.Balance)
	if a.SpendLimitPerEpoch.IsPositive() {
		charge = sdkmath.MinInt(charge, sdkmath.MaxInt(a.SpendLimitPerEpoch.Sub(a.EpochSpent), sdkmath.ZeroInt()))
	}
	shortfall := cost.Sub(charge)
	if shortfall.IsPositive() {
		// What could not be charged is the gateway's loss, fraction included.
		remainder = 0
	}
	fee, burn, toSubnet := types.SplitCharge(charge, sc.params.GatewayFeeBps, sc.params.BurnBps)

	a.Balance = a.Balance.Sub(charge)
	a.EpochSpent = a.EpochSpent.Add(charge)
	a.Totals.Charged = a.Totals.Charged.Add(charge)
	a.Totals.Tokens = satAdd(a.Totals.Tokens, dTokens)
	a.Totals.Requests = satAdd(a.Totals.Requests, dRequests)
	rec.Tokens, rec.Requests, rec.Remainder = it.CumulativeTokens, it.CumulativeRequests, remainder
	rec.Charged = rec.Charged.Add(charge)
	rec.Shortfall = rec.Shortfall.Add(shortfall)
	rec.UpdatedAt = sc.height
	if err := k.Accounts.Set(ctx, a.Id, a); err != nil {
		return types.ItemResult{}, err
	}
	if err := k.Settlements.Set(ctx, key, rec); err != nil {
		return types.ItemResult{}, err
	}
	tot.charged, tot.fee, tot.burn = tot.charged.Add(charge), tot.fee.Add(fee), tot.burn.Add(burn)
	tot.toSubnet, tot.shortfall = tot.toSubnet.Add(toSubnet), tot.shortfall.Add(shortfall)
	tot.tokens = satAdd(tot.tokens, dTokens)
	ev := types.EventUsageCharged{
		AccountId: a.Id, Gateway: sc.gwStr, Netuid: sc.netuid, Tokens: dTokens, Requests: dRequests,
		CumulativeTokens: rec.Tokens, CumulativeRequests: rec.Requests, Price: sc.price,
		Charged: charge, Shortfall: shortfall, GatewayFee: fee, Burned: burn, ToSubnet: toSubnet, Balance: a.Balance,
	}
	sdk.UnwrapSDKContext(ctx).EventManager().EmitEvent(ev.ToEvent())
	return types.ItemResult{AccountId: a.Id, Charged: charge, Shortfall: shortfall}, nil
}

// moveRevenue pays one message's gateway fee to the gateway's owner and hands
// the subnet and burn shares to x/emission, then updates the subnet's sums.
func (k Keeper) moveRevenue(ctx context.Context, sc settleCtx, tot settleTotals) error {
	if tot.fee.IsPositive() {
		info, err := k.subnets.HotkeyInfo(ctx, sc.gateway)
		if err != nil {
			return err
		}
		owner, err := k.parseAddr("gateway owner", info.Owner)
		if err != nil {
			return err
		}
		if err := k.bank.SendCoinsFromModuleToAccount(ctx, types.ModuleName, owner, k.coins(tot.fee)); err != nil {
			return err
		}
	}
	if toEmission := tot.toSubnet.Add(tot.burn); toEmission.IsPositive() {
		if err := k.bank.SendCoinsFromModuleToModule(ctx, types.ModuleName, k.emissionModule, k.coins(toEmission)); err != nil {
			return err
		}
		if err := k.emission.AddRevenue(ctx, sc.netuid, tot.toSubnet, tot.burn); err != nil {
			return err
		}
	}
	if !tot.charged.IsPositive() && !tot.shortfall.IsPositive() && tot.tokens == 0 {
		return nil
	}
	r, err := k.subnetRevenue(ctx, sc.netuid)
	if err != nil {
		return err
	}
	r.Charged, r.GatewayFees, r.Burned = r.Charged.Add(tot.charged), r.GatewayFees.Add(tot.fee), r.Burned.Add(tot.burn)
	r.ToSubnet, r.Shortfall = r.ToSubnet.Add(tot.toSubnet), r.Shortfall.Add(tot.shortfall)
	r.Tokens = satAdd(r.Tokens, tot.tokens)
	return k.Revenue.Set(ctx, sc.netuid, r)
}

// satAdd adds without wrapping: lifetime token sums are statistics, and a
// gateway may report counters near 2^64.
func satAdd(a, b uint64) uint64 {
	if a+b < a {
		return ^uint64(0)
	}
	return a + b
}
