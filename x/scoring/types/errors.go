package types

import errorsmod "cosmossdk.io/errors"

// Error codes start at 2: code 1 is reserved by the SDK. Never renumber.
var (
	ErrInvalidParams    = errorsmod.Register(ModuleName, 2, "invalid params")
	ErrInvalidSigner    = errorsmod.Register(ModuleName, 3, "expected gov account as only signer for proposal message")
	ErrNoPermit         = errorsmod.Register(ModuleName, 4, "hotkey holds no validator permit")
	ErrRateLimited      = errorsmod.Register(ModuleName, 5, "weights rate limit")
	ErrVersionKey       = errorsmod.Register(ModuleName, 6, "version key below the subnet's")
	ErrInvalidWeights   = errorsmod.Register(ModuleName, 7, "invalid weights")
	ErrCommitRevealOn   = errorsmod.Register(ModuleName, 8, "commit-reveal is enabled on this subnet; commit and reveal instead")
	ErrCommitRevealOff  = errorsmod.Register(ModuleName, 9, "commit-reveal is disabled on this subnet; set weights directly")
	ErrTooManyCommits   = errorsmod.Register(ModuleName, 10, "too many unrevealed commits")
	ErrNoMatchingCommit = errorsmod.Register(ModuleName, 11, "no commit matches this reveal")
	ErrRevealWindow     = errorsmod.Register(ModuleName, 12, "outside the reveal window")
	ErrInvalidCommit    = errorsmod.Register(ModuleName, 13, "invalid commit hash")
	ErrInvalidScenario  = errorsmod.Register(ModuleName, 14, "invalid scenario")
)
