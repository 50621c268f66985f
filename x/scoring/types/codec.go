package types

import (
	"github.com/cosmos/cosmos-sdk/codec"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/msgservice"
)

// RegisterLegacyAminoCodec registers the messages for amino JSON signing (Ledger).
func RegisterLegacyAminoCodec(cdc *codec.LegacyAmino) {
	cdc.RegisterConcrete(&Params{}, "merit/x/scoring/Params", nil)
	cdc.RegisterConcrete(&MsgUpdateParams{}, "merit/x/scoring/MsgUpdateParams", nil)
	cdc.RegisterConcrete(&MsgSetWeights{}, "merit/x/scoring/MsgSetWeights", nil)
	cdc.RegisterConcrete(&MsgCommitWeights{}, "merit/x/scoring/MsgCommitWeights", nil)
	cdc.RegisterConcrete(&MsgRevealWeights{}, "merit/x/scoring/MsgRevealWeights", nil)
}

// RegisterInterfaces registers the messages so transactions and gov proposals can carry them.
func RegisterInterfaces(registry codectypes.InterfaceRegistry) {
	registry.RegisterImplementations((*sdk.Msg)(nil), &MsgUpdateParams{}, &MsgSetWeights{}, &MsgCommitWeights{}, &MsgRevealWeights{})
	msgservice.RegisterMsgServiceDesc(registry, &_Msg_serviceDesc)
}
