package app

import (
	sdk "github.com/cosmos/cosmos-sdk/types"
)

const (
	// AppName is the BaseApp name, also shown by `meritd version --long`.
	AppName = "merit"
	// BondDenom is the base denomination: 10^6 umerit = 1 MERIT.
	BondDenom = "umerit"

	AccountAddressPrefix   = "merit"
	AccountPubKeyPrefix    = AccountAddressPrefix + "pub"
	ValidatorAddressPrefix = AccountAddressPrefix + "valoper"
	ValidatorPubKeyPrefix  = AccountAddressPrefix + "valoperpub"
	ConsNodeAddressPrefix  = AccountAddressPrefix + "valcons"
	ConsNodePubKeyPrefix   = AccountAddressPrefix + "valconspub"
)

// SetAddressPrefixes points the SDK's global bech32 config at merit prefixes.
// The SDK still reads the global in places (e.g. AccAddress.String), so every
// binary and test calls this before building addresses.
func SetAddressPrefixes() {
	cfg := sdk.GetConfig()
	cfg.SetBech32PrefixForAccount(AccountAddressPrefix, AccountPubKeyPrefix)
	cfg.SetBech32PrefixForValidator(ValidatorAddressPrefix, ValidatorPubKeyPrefix)
	cfg.SetBech32PrefixForConsensusNode(ConsNodeAddressPrefix, ConsNodePubKeyPrefix)
	sdk.DefaultBondDenom = BondDenom
}

func init() { SetAddressPrefixes() }
