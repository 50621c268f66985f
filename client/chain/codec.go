package chain

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/cosmos/gogoproto/proto"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/codec"
	"github.com/cosmos/cosmos-sdk/codec/address"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	"github.com/cosmos/cosmos-sdk/std"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtx "github.com/cosmos/cosmos-sdk/x/auth/tx"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
	"github.com/cosmos/cosmos-sdk/x/tx/signing"

	"github.com/meritnet/merit/client/identity"
	emissiontypes "github.com/meritnet/merit/x/emission/types"
	paymenttypes "github.com/meritnet/merit/x/payment/types"
	scoringtypes "github.com/meritnet/merit/x/scoring/types"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// Address prefixes and the base denom of the Merit chain. They are fixed
// here rather than read from the SDK's process-wide config, which this
// package never sets and cannot rely on.
const (
	AccountPrefix   = identity.Bech32Prefix
	ValidatorPrefix = "meritvaloper"
	Denom           = "umerit"
)

var accAddrCodec = address.NewBech32Codec(AccountPrefix)

// encoding is the client's own codec set. The daemons must not import app,
// so the interface registry is rebuilt here with just the types a client
// sends or reads: standard tx and crypto types, auth, bank and the Merit
// modules.
type encoding struct {
	registry codectypes.InterfaceRegistry
	cdc      *codec.ProtoCodec
	txConfig client.TxConfig
}

func newEncoding() (*encoding, error) {
	registry, err := codectypes.NewInterfaceRegistryWithOptions(codectypes.InterfaceRegistryOptions{
		ProtoFiles: proto.HybridResolver,
		SigningOptions: signing.Options{
			AddressCodec:          accAddrCodec,
			ValidatorAddressCodec: address.NewBech32Codec(ValidatorPrefix),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("chain: interface registry: %w", err)
	}
	std.RegisterInterfaces(registry)
	authtypes.RegisterInterfaces(registry)
	banktypes.RegisterInterfaces(registry)
	subnettypes.RegisterInterfaces(registry)
	scoringtypes.RegisterInterfaces(registry)
	emissiontypes.RegisterInterfaces(registry)
	paymenttypes.RegisterInterfaces(registry)

	cdc := codec.NewProtoCodec(registry)
	txConfig, err := authtx.NewTxConfigWithOptions(cdc, authtx.ConfigOptions{EnabledSignModes: authtx.DefaultSignModes})
	if err != nil {
		return nil, fmt.Errorf("chain: tx config: %w", err)
	}
	return &encoding{registry: registry, cdc: cdc, txConfig: txConfig}, nil
}

// DecodeResponse reads a Msg's response out of TxResult.Data (a TxMsgData):
// it fills resp from the first response whose type is resp's, e.g.
//
//	var r subnettypes.MsgRegisterNeuronResponse
//	err := chain.DecodeResponse(res.Data, &r)
func DecodeResponse(data []byte, resp proto.Message) error {
	if resp == nil || reflect.ValueOf(resp).Kind() != reflect.Pointer || reflect.ValueOf(resp).IsNil() {
		return errors.New("chain: decode response: target must be a non-nil pointer")
	}
	var msgData sdk.TxMsgData
	if err := proto.Unmarshal(data, &msgData); err != nil {
		return fmt.Errorf("chain: decode TxMsgData: %w", err)
	}
	want := "/" + proto.MessageName(resp)
	for _, a := range msgData.MsgResponses {
		if a == nil || a.TypeUrl != want {
			continue
		}
		if err := proto.Unmarshal(a.Value, resp); err != nil {
			return fmt.Errorf("chain: decode %s: %w", want, err)
		}
		return nil
	}
	got := make([]string, 0, len(msgData.MsgResponses))
	for _, a := range msgData.MsgResponses {
		if a != nil {
			got = append(got, a.TypeUrl)
		}
	}
	return fmt.Errorf("chain: no %s in tx data (responses: %v)", want, got)
}
