package types

import errorsmod "cosmossdk.io/errors"

// Error codes start at 2: code 1 is reserved by the SDK. Codes are part of
// the API (gateways and clients match on them); never renumber.
var (
	ErrInvalidParams      = errorsmod.Register(ModuleName, 2, "invalid params")
	ErrInvalidSigner      = errorsmod.Register(ModuleName, 3, "expected gov account as only signer for proposal message")
	ErrInvalidAddress     = errorsmod.Register(ModuleName, 4, "invalid address")
	ErrInvalidKeyHash     = errorsmod.Register(ModuleName, 5, "invalid key hash")
	ErrKeyHashInUse       = errorsmod.Register(ModuleName, 6, "key hash already belongs to an open account")
	ErrDepositTooSmall    = errorsmod.Register(ModuleName, 7, "deposit below the minimum")
	ErrInvalidAmount      = errorsmod.Register(ModuleName, 8, "invalid amount")
	ErrAccountNotFound    = errorsmod.Register(ModuleName, 9, "account not found")
	ErrNotPayer           = errorsmod.Register(ModuleName, 10, "sender is not the account's payer")
	ErrAccountClosing     = errorsmod.Register(ModuleName, 11, "account is closing")
	ErrInvalidGateways    = errorsmod.Register(ModuleName, 12, "invalid gateway list")
	ErrNoPermit           = errorsmod.Register(ModuleName, 13, "gateway hotkey holds no validator permit on the subnet")
	ErrInvalidSettlement  = errorsmod.Register(ModuleName, 14, "invalid settlement")
	ErrTooManyItems       = errorsmod.Register(ModuleName, 15, "too many settlement items")
	ErrInvalidURL         = errorsmod.Register(ModuleName, 16, "invalid gateway url")
	ErrRateLimited        = errorsmod.Register(ModuleName, 17, "rate limited")
	ErrSettlementNotFound = errorsmod.Register(ModuleName, 18, "settlement not found")
)
