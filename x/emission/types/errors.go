package types

import errorsmod "cosmossdk.io/errors"

// Error codes start at 2: code 1 is reserved by the SDK. Never renumber.
var (
	ErrInvalidParams = errorsmod.Register(ModuleName, 2, "invalid params")
	ErrInvalidSigner = errorsmod.Register(ModuleName, 3, "expected gov account as only signer for proposal message")
	ErrPayout        = errorsmod.Register(ModuleName, 4, "invalid epoch payout")
)
