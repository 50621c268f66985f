package keeper

import (
	"context"
	"errors"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/x/payment/types"
)

// ServeGateway records (or, with an empty url, removes) a hotkey's gateway
// URL. The hotkey must be registered on the subnet; only hotkeys with a
// validator permit are listed and may settle, so a neuron may announce before
// its permit arrives. Updates are rate limited like endpoints.
func (k Keeper) ServeGateway(ctx context.Context, msg *types.MsgServeGateway) error {
	hotkey, err := k.parseAddr("hotkey", msg.Hotkey)
	if err != nil {
		return err
	}
	p, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	if msg.Url != "" {
		if err := types.ValidateGatewayURL(msg.Url, p.MaxUrlLength); err != nil {
			return err
		}
	}
	s, err := k.subnets.GetSubnet(ctx, msg.Netuid)
	if err != nil {
		return err
	}
	if _, err := k.subnets.NeuronByHotkey(ctx, msg.Netuid, hotkey); err != nil {
		return err
	}
	height := sdk.UnwrapSDKContext(ctx).BlockHeight()
	key := collections.Join(msg.Netuid, hotkey)
	old, err := k.Gateways.Get(ctx, key)
	switch {
	case err == nil:
		if limit := int64(s.Hyperparams.ServingRateLimit); height-old.UpdatedAt < limit {
			return types.ErrRateLimited.Wrapf("gateway updated at block %d; next update from block %d", old.UpdatedAt, old.UpdatedAt+limit)
		}
	case !errors.Is(err, collections.ErrNotFound):
		return err
	case msg.Url == "":
		return types.ErrInvalidURL.Wrap("no gateway announced to withdraw")
	}
	if msg.Url == "" {
		if err := k.Gateways.Remove(ctx, key); err != nil {
			return err
		}
	} else if err := k.Gateways.Set(ctx, key, types.Gateway{Netuid: msg.Netuid, Hotkey: hotkey.String(), Url: msg.Url, UpdatedAt: height}); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventGatewayServed{
		Netuid: msg.Netuid, Hotkey: hotkey.String(), Url: msg.Url,
	})
}
