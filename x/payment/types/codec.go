package types

import (
	"github.com/cosmos/cosmos-sdk/codec"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/msgservice"
)

// RegisterLegacyAminoCodec registers the messages for amino JSON signing (Ledger).
func RegisterLegacyAminoCodec(cdc *codec.LegacyAmino) {
	cdc.RegisterConcrete(&MsgUpdateParams{}, "merit/x/payment/MsgUpdateParams", nil)
	cdc.RegisterConcrete(&MsgOpenAccount{}, "merit/x/payment/MsgOpenAccount", nil)
	cdc.RegisterConcrete(&MsgDeposit{}, "merit/x/payment/MsgDeposit", nil)
	cdc.RegisterConcrete(&MsgUpdateAccount{}, "merit/x/payment/MsgUpdateAccount", nil)
	cdc.RegisterConcrete(&MsgCloseAccount{}, "merit/x/payment/MsgCloseAccount", nil)
	cdc.RegisterConcrete(&MsgSettleUsage{}, "merit/x/payment/MsgSettleUsage", nil)
	cdc.RegisterConcrete(&MsgServeGateway{}, "merit/x/payment/MsgServeGateway", nil)
	cdc.RegisterConcrete(&Params{}, "merit/x/payment/Params", nil)
}

// RegisterInterfaces registers the messages so transactions and gov proposals can carry them.
func RegisterInterfaces(registry codectypes.InterfaceRegistry) {
	registry.RegisterImplementations((*sdk.Msg)(nil),
		&MsgUpdateParams{}, &MsgOpenAccount{}, &MsgDeposit{}, &MsgUpdateAccount{},
		&MsgCloseAccount{}, &MsgSettleUsage{}, &MsgServeGateway{},
	)
	msgservice.RegisterMsgServiceDesc(registry, &_Msg_serviceDesc)
}
