package types

import "fmt"

// DefaultParams are the values a fresh chain starts with.
func DefaultParams() Params {
	return Params{
		MaxEpochsPerBlock:         4,
		MaxUnrevealedCommits:      10,
		MaxExpiredCommitsPerEpoch: 1000,
	}
}

// Validate reports the first field that is out of range.
func (p Params) Validate() error {
	if p.MaxEpochsPerBlock == 0 {
		return fmt.Errorf("max_epochs_per_block must be positive, or no epoch ever runs")
	}
	if p.MaxEpochsPerBlock > 64 {
		return fmt.Errorf("max_epochs_per_block must be at most 64 to bound EndBlock work, got %d", p.MaxEpochsPerBlock)
	}
	if p.MaxUnrevealedCommits == 0 || p.MaxUnrevealedCommits > 100 {
		return fmt.Errorf("max_unrevealed_commits must be in [1, 100], got %d", p.MaxUnrevealedCommits)
	}
	if p.MaxExpiredCommitsPerEpoch == 0 || p.MaxExpiredCommitsPerEpoch > 100_000 {
		return fmt.Errorf("max_expired_commits_per_epoch must be in [1, 100000], got %d", p.MaxExpiredCommitsPerEpoch)
	}
	return nil
}
