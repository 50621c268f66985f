package types

import errorsmod "cosmossdk.io/errors"

// Error codes start at 2: code 1 is reserved by the SDK for internal errors.
// Codes are part of the API (clients match on them); never renumber.
var (
	ErrInvalidParams      = errorsmod.Register(ModuleName, 2, "invalid params")
	ErrInvalidSigner      = errorsmod.Register(ModuleName, 3, "expected gov account as only signer for proposal message")
	ErrSubnetNotFound     = errorsmod.Register(ModuleName, 4, "subnet not found")
	ErrSubnetLimit        = errorsmod.Register(ModuleName, 5, "subnet limit reached")
	ErrInvalidTask        = errorsmod.Register(ModuleName, 6, "invalid subnet task")
	ErrLockTooHigh        = errorsmod.Register(ModuleName, 7, "subnet lock cost exceeds max_lock")
	ErrInvalidHyperparams = errorsmod.Register(ModuleName, 8, "invalid hyperparameters")
	ErrNotSubnetOwner     = errorsmod.Register(ModuleName, 9, "sender is neither the subnet owner nor governance")
	ErrAlreadyRegistered  = errorsmod.Register(ModuleName, 10, "hotkey already registered on this subnet")
	ErrPriceTooHigh       = errorsmod.Register(ModuleName, 11, "registration price exceeds max_burn")
	ErrOwnerMismatch      = errorsmod.Register(ModuleName, 12, "hotkey belongs to another owner")
	ErrNeuronNotFound     = errorsmod.Register(ModuleName, 13, "neuron not found")
	ErrInvalidEndpoint    = errorsmod.Register(ModuleName, 14, "invalid endpoint")
	ErrRateLimited        = errorsmod.Register(ModuleName, 15, "rate limited")
	ErrStakeTooSmall      = errorsmod.Register(ModuleName, 16, "stake amount below the minimum")
	ErrInsufficientStake  = errorsmod.Register(ModuleName, 17, "not enough stake")
	ErrInvalidTake        = errorsmod.Register(ModuleName, 18, "take out of bounds")
	ErrInvalidAddress     = errorsmod.Register(ModuleName, 19, "invalid address")
	ErrInvalidAmount      = errorsmod.Register(ModuleName, 20, "invalid amount")
	ErrInvalidName        = errorsmod.Register(ModuleName, 21, "invalid subnet name")
	ErrHotkeyNotFound     = errorsmod.Register(ModuleName, 22, "hotkey not found")
)
