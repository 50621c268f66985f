package app_test

import (
	sdk "github.com/cosmos/cosmos-sdk/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/meritnet/merit/app"
)

func banktypesSend(from, to sdk.AccAddress, amount int64) sdk.Msg {
	return banktypes.NewMsgSend(from, to, sdk.NewCoins(sdk.NewInt64Coin(app.BondDenom, amount)))
}
