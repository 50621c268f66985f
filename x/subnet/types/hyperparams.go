package types

import (
	"fmt"
	"math"

	sdkmath "cosmossdk.io/math"
)

// DefaultHyperparams are the hyperparameters of a new subnet unless governance
// changes Params.default_hyperparams.
func DefaultHyperparams() Hyperparams {
	return Hyperparams{
		Tempo:                 100,
		MaxUids:               256,
		MaxValidators:         64,
		ImmunityPeriod:        500,
		MinAllowedWeights:     1,
		MaxWeightLimit:        U16Max,
		WeightsRateLimit:      50,
		WeightsVersionKey:     0,
		CommitRevealEnabled:   true,
		RevealPeriod:          1,
		ActivityCutoff:        5000,
		Kappa:                 32767,
		BondsMovingAverage:    900_000,
		BondsPenalty:          U16Max,
		LiquidAlphaEnabled:    false,
		AlphaLow:              45875, // 0.7
		AlphaHigh:             58982, // 0.9
		AlphaSigmoidSteepness: 1000,
		MinBurn:               sdkmath.NewInt(100_000),     // 0.1 MERIT
		MaxBurn:               sdkmath.NewInt(100_000_000), // 100 MERIT
		BurnHalfLife:          360,
		BurnIncreaseBps:       20_000, // x2 per registration
		OwnerCutBps:           1_800,
		ServingRateLimit:      10,
		// Free until the owner sets a price (update-hyperparams).
		PricePerMillionTokens: 0,
	}
}

// DefaultMinHyperparams and DefaultMaxHyperparams are the governance bounds a
// subnet owner may tune within.
func DefaultMinHyperparams() Hyperparams {
	return Hyperparams{
		Tempo:              1,
		MaxUids:            1,
		MaxValidators:      1,
		MaxWeightLimit:     1,
		RevealPeriod:       1,
		ActivityCutoff:     1,
		MinBurn:            sdkmath.ZeroInt(),
		MaxBurn:            sdkmath.ZeroInt(),
		BurnIncreaseBps:    BasisPoints,
		BondsMovingAverage: 0,
	}
}

func DefaultMaxHyperparams() Hyperparams {
	return Hyperparams{
		Tempo:                 100_000,
		MaxUids:               MaxUIDsBound,
		MaxValidators:         MaxUIDsBound,
		ImmunityPeriod:        1_000_000,
		MinAllowedWeights:     MaxUIDsBound,
		MaxWeightLimit:        U16Max,
		WeightsRateLimit:      100_000,
		WeightsVersionKey:     math.MaxUint64,
		RevealPeriod:          100,
		ActivityCutoff:        10_000_000,
		Kappa:                 U16Max,
		BondsMovingAverage:    1_000_000,
		BondsPenalty:          U16Max,
		AlphaLow:              U16Max,
		AlphaHigh:             U16Max,
		AlphaSigmoidSteepness: 10_000,
		MinBurn:               sdkmath.NewInt(1_000_000_000_000), // 1M MERIT
		MaxBurn:               sdkmath.NewInt(1_000_000_000_000),
		BurnHalfLife:          10_000_000,
		BurnIncreaseBps:       100_000, // x10
		OwnerCutBps:           BasisPoints,
		ServingRateLimit:      100_000,
		// 1M MERIT per million tokens: a ceiling against typos, not a policy.
		PricePerMillionTokens: 1_000_000_000_000,
	}
}

type uintField struct {
	name string
	get  func(Hyperparams) uint64
}

var hyperparamUintFields = []uintField{
	{"tempo", func(h Hyperparams) uint64 { return h.Tempo }},
	{"max_uids", func(h Hyperparams) uint64 { return uint64(h.MaxUids) }},
	{"max_validators", func(h Hyperparams) uint64 { return uint64(h.MaxValidators) }},
	{"immunity_period", func(h Hyperparams) uint64 { return h.ImmunityPeriod }},
	{"min_allowed_weights", func(h Hyperparams) uint64 { return uint64(h.MinAllowedWeights) }},
	{"max_weight_limit", func(h Hyperparams) uint64 { return uint64(h.MaxWeightLimit) }},
	{"weights_rate_limit", func(h Hyperparams) uint64 { return h.WeightsRateLimit }},
	{"weights_version_key", func(h Hyperparams) uint64 { return h.WeightsVersionKey }},
	{"reveal_period", func(h Hyperparams) uint64 { return h.RevealPeriod }},
	{"activity_cutoff", func(h Hyperparams) uint64 { return h.ActivityCutoff }},
	{"kappa", func(h Hyperparams) uint64 { return uint64(h.Kappa) }},
	{"bonds_moving_average", func(h Hyperparams) uint64 { return uint64(h.BondsMovingAverage) }},
	{"bonds_penalty", func(h Hyperparams) uint64 { return uint64(h.BondsPenalty) }},
	{"alpha_low", func(h Hyperparams) uint64 { return uint64(h.AlphaLow) }},
	{"alpha_high", func(h Hyperparams) uint64 { return uint64(h.AlphaHigh) }},
	{"alpha_sigmoid_steepness", func(h Hyperparams) uint64 { return uint64(h.AlphaSigmoidSteepness) }},
	{"burn_half_life", func(h Hyperparams) uint64 { return h.BurnHalfLife }},
	{"burn_increase_bps", func(h Hyperparams) uint64 { return uint64(h.BurnIncreaseBps) }},
	{"owner_cut_bps", func(h Hyperparams) uint64 { return uint64(h.OwnerCutBps) }},
	{"serving_rate_limit", func(h Hyperparams) uint64 { return h.ServingRateLimit }},
	{"price_per_million_tokens", func(h Hyperparams) uint64 { return h.PricePerMillionTokens }},
}

// ValidateBasic checks the rules that hold whatever the bounds are.
func (h Hyperparams) ValidateBasic() error {
	if h.MinBurn.IsNil() || h.MaxBurn.IsNil() || h.MinBurn.IsNegative() || h.MaxBurn.IsNegative() {
		return fmt.Errorf("min_burn and max_burn must be non-negative integers")
	}
	if h.MinBurn.GT(h.MaxBurn) {
		return fmt.Errorf("min_burn %s exceeds max_burn %s", h.MinBurn, h.MaxBurn)
	}
	if h.Tempo == 0 {
		return fmt.Errorf("tempo must be positive")
	}
	if h.MaxUids == 0 || h.MaxUids > MaxUIDsBound {
		return fmt.Errorf("max_uids must be in [1, %d], got %d", MaxUIDsBound, h.MaxUids)
	}
	if h.MaxValidators == 0 || h.MaxValidators > h.MaxUids {
		return fmt.Errorf("max_validators must be in [1, max_uids=%d], got %d", h.MaxUids, h.MaxValidators)
	}
	if h.MinAllowedWeights > h.MaxUids {
		return fmt.Errorf("min_allowed_weights %d exceeds max_uids %d", h.MinAllowedWeights, h.MaxUids)
	}
	for _, f := range []struct {
		name string
		v    uint32
	}{{"max_weight_limit", h.MaxWeightLimit}, {"kappa", h.Kappa}, {"bonds_penalty", h.BondsPenalty}, {"alpha_low", h.AlphaLow}, {"alpha_high", h.AlphaHigh}} {
		if f.v > U16Max {
			return fmt.Errorf("%s is a u16 fraction and must be at most %d, got %d", f.name, U16Max, f.v)
		}
	}
	if h.AlphaLow > h.AlphaHigh {
		return fmt.Errorf("alpha_low %d exceeds alpha_high %d", h.AlphaLow, h.AlphaHigh)
	}
	if h.BondsMovingAverage > 1_000_000 {
		return fmt.Errorf("bonds_moving_average is in parts per million and must be at most 1000000, got %d", h.BondsMovingAverage)
	}
	if h.BurnIncreaseBps < BasisPoints {
		return fmt.Errorf("burn_increase_bps must be at least %d (x1), got %d", BasisPoints, h.BurnIncreaseBps)
	}
	if h.OwnerCutBps > BasisPoints {
		return fmt.Errorf("owner_cut_bps must be at most %d, got %d", BasisPoints, h.OwnerCutBps)
	}
	if h.RevealPeriod == 0 {
		return fmt.Errorf("reveal_period must be at least 1 epoch")
	}
	return nil
}

// Within checks h against governance bounds, naming the first field outside them.
func (h Hyperparams) Within(lo, hi Hyperparams) error {
	if err := h.ValidateBasic(); err != nil {
		return err
	}
	for _, f := range hyperparamUintFields {
		v, a, b := f.get(h), f.get(lo), f.get(hi)
		if v < a || v > b {
			return fmt.Errorf("%s = %d is outside the governance bounds [%d, %d]", f.name, v, a, b)
		}
	}
	if h.MinBurn.LT(lo.MinBurn) || h.MinBurn.GT(hi.MinBurn) {
		return fmt.Errorf("min_burn = %s is outside the governance bounds [%s, %s]", h.MinBurn, lo.MinBurn, hi.MinBurn)
	}
	if h.MaxBurn.LT(lo.MaxBurn) || h.MaxBurn.GT(hi.MaxBurn) {
		return fmt.Errorf("max_burn = %s is outside the governance bounds [%s, %s]", h.MaxBurn, lo.MaxBurn, hi.MaxBurn)
	}
	return nil
}

// validateBounds checks that lo <= hi field by field.
func validateBounds(lo, hi Hyperparams) error {
	for _, f := range hyperparamUintFields {
		if f.get(lo) > f.get(hi) {
			return fmt.Errorf("min_hyperparams.%s %d exceeds max_hyperparams.%s %d", f.name, f.get(lo), f.name, f.get(hi))
		}
	}
	if lo.MinBurn.IsNil() || lo.MaxBurn.IsNil() || hi.MinBurn.IsNil() || hi.MaxBurn.IsNil() {
		return fmt.Errorf("burn bounds must be set")
	}
	if lo.MinBurn.GT(hi.MinBurn) || lo.MaxBurn.GT(hi.MaxBurn) {
		return fmt.Errorf("burn bounds are inverted")
	}
	return nil
}
