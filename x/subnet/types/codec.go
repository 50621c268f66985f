package types

import (
	"github.com/cosmos/cosmos-sdk/codec"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/msgservice"
)

// RegisterLegacyAminoCodec registers the messages for amino JSON signing (Ledger).
func RegisterLegacyAminoCodec(cdc *codec.LegacyAmino) {
	cdc.RegisterConcrete(&Params{}, "merit/x/subnet/Params", nil)
	cdc.RegisterConcrete(&MsgUpdateParams{}, "merit/x/subnet/MsgUpdateParams", nil)
	cdc.RegisterConcrete(&MsgCreateSubnet{}, "merit/x/subnet/MsgCreateSubnet", nil)
	cdc.RegisterConcrete(&MsgDissolveSubnet{}, "merit/x/subnet/MsgDissolveSubnet", nil)
	cdc.RegisterConcrete(&MsgUpdateSubnetHyperparams{}, "merit/x/subnet/MsgUpdateSubnetHyperparams", nil)
	cdc.RegisterConcrete(&MsgRegisterNeuron{}, "merit/x/subnet/MsgRegisterNeuron", nil)
	cdc.RegisterConcrete(&MsgServeEndpoint{}, "merit/x/subnet/MsgServeEndpoint", nil)
	cdc.RegisterConcrete(&MsgAddStake{}, "merit/x/subnet/MsgAddStake", nil)
	cdc.RegisterConcrete(&MsgRemoveStake{}, "merit/x/subnet/MsgRemoveStake", nil)
	cdc.RegisterConcrete(&MsgSetTake{}, "merit/x/subnet/MsgSetTake", nil)
}

// RegisterInterfaces registers the messages so transactions and gov proposals can carry them.
func RegisterInterfaces(registry codectypes.InterfaceRegistry) {
	registry.RegisterImplementations((*sdk.Msg)(nil),
		&MsgUpdateParams{}, &MsgCreateSubnet{}, &MsgDissolveSubnet{}, &MsgUpdateSubnetHyperparams{},
		&MsgRegisterNeuron{}, &MsgServeEndpoint{}, &MsgAddStake{}, &MsgRemoveStake{}, &MsgSetTake{},
	)
	msgservice.RegisterMsgServiceDesc(registry, &_Msg_serviceDesc)
}
