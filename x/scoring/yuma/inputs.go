package yuma

import (
	"fmt"
	"math"
)

// MaxUIDs is the largest number of UIDs a subnet can have (UIDs are uint16).
const MaxUIDs = 1 << 16

// Entry is one element of a sparse weight row: a value for column UID.
type Entry struct {
	UID   uint16
	Value Fixed
}

// Bond is one element of a sparse bond row, packed into 8 bytes: the value
// in the high 48 bits, the UID in the low 16. A valid bond is at most 1
// (2^32), so 48 bits hold every one. Bonds are the epoch's largest state
// (a dense subnet of 4096 UIDs and 256 validators holds a million, read
// and written every epoch), and half the 16 bytes of an Entry halves the
// memory each epoch moves for them.
type Bond uint64

// maxBondValue is the largest value a Bond holds.
const maxBondValue = 1<<48 - 1

// NewBond returns the bond of value v to UID uid. A value above what a Bond
// holds is saturated, which keeps it above 1: invalid, as before.
func NewBond(uid uint16, v Fixed) Bond {
	return bond(uid, min(v, maxBondValue))
}

// bond packs a value known to fit (at most 1).
func bond(uid uint16, v Fixed) Bond { return Bond(uint64(v)<<16 | uint64(uid)) }

// UID is the UID the bond is held in.
func (b Bond) UID() uint16 { return uint16(b) }

// Value is the bond's value.
func (b Bond) Value() Fixed { return Fixed(b >> 16) }

// String formats the bond as uid:value.
func (b Bond) String() string { return fmt.Sprintf("%d:%s", b.UID(), b.Value()) }

// Params are the subnet hyperparameters the epoch uses.
type Params struct {
	// Kappa is the stake-weighted quantile used for consensus, in [0, 1]:
	// the consensus of a miner is the largest weight that validators holding
	// at least Kappa of the active stake give it or more (0.5: weighted median).
	Kappa Fixed
	// BondsMovingAverage is the weight of the old bonds in the bonds EMA, in
	// [0, 1]; the bond rate is a = 1 − BondsMovingAverage.
	BondsMovingAverage Fixed
	// BondsPenalty in [0, 1]: how much of the clipped-away weight is removed
	// before bonding (1: bonds follow clipped weights, 0: raw weights).
	BondsPenalty Fixed
	// MaxValidators is the number of validator permits handed out for the
	// next epoch (top stake).
	MaxValidators uint32
	// LiquidAlpha turns on per-bond EMA rates between AlphaLow and AlphaHigh
	// (0 ≤ AlphaLow ≤ AlphaHigh ≤ 1) chosen by a sigmoid of steepness
	// AlphaSigmoidSteepness/100.
	LiquidAlpha           bool
	AlphaLow              Fixed
	AlphaHigh             Fixed
	AlphaSigmoidSteepness Fixed
}

// DefaultParams returns the default hyperparameters: kappa 0.5, bonds moving
// average 0.9 (bond rate 0.1), bonds penalty 1, 64 validators, liquid alpha
// off with alpha 0.7–0.9 and steepness 1000.
func DefaultParams() Params {
	return Params{
		Kappa:                 Half,
		BondsMovingAverage:    FromRatio(9, 10),
		BondsPenalty:          One,
		MaxValidators:         64,
		LiquidAlpha:           false,
		AlphaLow:              FromRatio(7, 10),
		AlphaHigh:             FromRatio(9, 10),
		AlphaSigmoidSteepness: FromUint(1000),
	}
}

// Validate checks the parameter ranges.
func (p Params) Validate() error {
	if p.Kappa > One {
		return fmt.Errorf("kappa %s must be in [0, 1]", describe(p.Kappa))
	}
	if p.BondsMovingAverage > One {
		return fmt.Errorf("bonds_moving_average %s must be in [0, 1]", describe(p.BondsMovingAverage))
	}
	if p.BondsPenalty > One {
		return fmt.Errorf("bonds_penalty %s must be in [0, 1]", describe(p.BondsPenalty))
	}
	if p.AlphaHigh > One {
		return fmt.Errorf("alpha_high %s must be in [0, 1]", describe(p.AlphaHigh))
	}
	if p.AlphaLow > p.AlphaHigh {
		return fmt.Errorf("alpha_low %s must not exceed alpha_high %s", describe(p.AlphaLow), describe(p.AlphaHigh))
	}
	return nil
}

// Input is everything one epoch of one subnet needs. All per-UID slices are
// indexed by UID and have length N = len(Stake).
type Input struct {
	Params Params

	// Stake of each UID in base units.
	Stake []uint64
	// Permit: the validator permits computed by the previous epoch.
	Permit []bool
	// Active: whether the UID was active within the activity cutoff (see
	// ActiveByCutoff).
	Active []bool
	// Weights[i] is validator i's sparse weight row: strictly increasing UIDs
	// below N, any non-negative values (rows are normalized by the epoch).
	// Nil, or length N.
	Weights [][]Entry
	// Bonds[i] is validator i's sparse bond row from the previous epoch:
	// strictly increasing UIDs below N, values in [0, 1]. Nil, or length N.
	Bonds [][]Bond
	// RegisteredAt is the block at which each UID was (last) registered.
	RegisteredAt []uint64
	// LastUpdate is, per UID, the block its current weights date from: the
	// block of MsgSetWeights, or with commit-reveal the block of the commit
	// that was revealed.
	LastUpdate []uint64
	// LastEpochBlock is the block of this subnet's previous epoch. UIDs with
	// RegisteredAt ≥ LastEpochBlock registered since then: their old bonds,
	// both held and received, are reset to 0.
	LastEpochBlock uint64
	// Emission is the amount (base units) split between miners and
	// validators, after the subnet owner's cut.
	Emission uint64
}

// Validate checks shapes, ranges and ordering. Run performs the same checks
// (the rows as it reads them).
func (in *Input) Validate() error {
	if err := in.validateShape(); err != nil {
		return err
	}
	n := len(in.Stake)
	for i, row := range in.Weights {
		if err := checkRow(row, n, Max); err != nil {
			return fmt.Errorf("weights[%d]: %w", i, err)
		}
	}
	for i, row := range in.Bonds {
		if err := checkBondRow(row, n); err != nil {
			return fmt.Errorf("bonds[%d]: %w", i, err)
		}
	}
	return nil
}

// validateShape is Validate without the per-row checks: parameters and
// lengths.
func (in *Input) validateShape() error {
	if err := in.Params.Validate(); err != nil {
		return err
	}
	n := len(in.Stake)
	if n > MaxUIDs {
		return fmt.Errorf("%d UIDs exceeds the maximum %d", n, MaxUIDs)
	}
	if len(in.Permit) != n {
		return fmt.Errorf("permit has %d entries, want %d (one per UID)", len(in.Permit), n)
	}
	if len(in.Active) != n {
		return fmt.Errorf("active has %d entries, want %d (one per UID)", len(in.Active), n)
	}
	if len(in.RegisteredAt) != n {
		return fmt.Errorf("registered_at has %d entries, want %d (one per UID)", len(in.RegisteredAt), n)
	}
	if len(in.LastUpdate) != n {
		return fmt.Errorf("last_update has %d entries, want %d (one per UID)", len(in.LastUpdate), n)
	}
	if in.Weights != nil && len(in.Weights) != n {
		return fmt.Errorf("weights has %d rows, want %d (one per UID)", len(in.Weights), n)
	}
	if in.Bonds != nil && len(in.Bonds) != n {
		return fmt.Errorf("bonds has %d rows, want %d (one per UID)", len(in.Bonds), n)
	}
	return nil
}

// describe formats f for error messages: rounded like String, or exactly
// when rounding would hide that f exceeds 1.
func describe(f Fixed) string {
	s := f.String()
	if f > One && s == "1" {
		return f.ExactString()
	}
	return s
}

func checkRow(row []Entry, n int, maxValue Fixed) error {
	prev := -1
	for k, e := range row {
		if int(e.UID) >= n {
			return fmt.Errorf("entry %d: uid %d out of range (%d UIDs)", k, e.UID, n)
		}
		if int(e.UID) <= prev {
			return fmt.Errorf("entry %d: uid %d not strictly increasing (duplicate or unsorted)", k, e.UID)
		}
		if e.Value > maxValue {
			return fmt.Errorf("entry %d: value %s above %s", k, describe(e.Value), maxValue)
		}
		prev = int(e.UID)
	}
	return nil
}

// checkBondRow is checkRow for a bond row (values at most 1).
func checkBondRow(row []Bond, n int) error {
	prev := -1
	for k, b := range row {
		if int(b.UID()) >= n {
			return fmt.Errorf("entry %d: uid %d out of range (%d UIDs)", k, b.UID(), n)
		}
		if int(b.UID()) <= prev {
			return fmt.Errorf("entry %d: uid %d not strictly increasing (duplicate or unsorted)", k, b.UID())
		}
		if b.Value() > One {
			return fmt.Errorf("entry %d: value %s above %s", k, describe(b.Value()), One)
		}
		prev = int(b.UID())
	}
	return nil
}

// ActiveByCutoff returns, per UID, whether lastUpdate + cutoff ≥ block
// (saturating): the UID set weights (or registered) within the activity
// cutoff.
func ActiveByCutoff(lastUpdate []uint64, block, cutoff uint64) []bool {
	out := make([]bool, len(lastUpdate))
	for i, lu := range lastUpdate {
		end := lu + cutoff
		if end < lu {
			end = math.MaxUint64
		}
		out[i] = end >= block
	}
	return out
}
