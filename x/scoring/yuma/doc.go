// Package yuma implements Yuma Consensus, the per-subnet epoch that turns
// validators' weights into miner incentive, validator dividends, bonds and an
// integer emission split. It is a pure function of its Input: standard library
// only, no Cosmos SDK, no floating point, no map iteration, no goroutines, no
// randomness, no clock, and it never panics (malformed input is an error).
//
// # Numbers
//
// Fractions are Fixed, an unsigned Q32.32 number (uint64, 2^32 = 1.0). All
// arithmetic saturates (at Max above, at 0 below; x/0 is Max). Every product
// and quotient is rounded down, with 128-bit intermediates (math/bits), so a
// result is exact or at most one unit (2^−32) low per operation. Normalizing
// a vector v gives floor(v_i·2^32/Σv) exactly: equal inputs get equal shares
// and the shares sum to at most 1 (at least 1 − N·2^−32). Stored per-UID
// results use u16: Fixed.ToU16 is floor(f·65535), FromU16Fraction its exact
// inverse on u16 values.
//
// # Algorithm (one epoch, one subnet, N UIDs)
//
//  1. Active stake: A_i = stake_i if UID i holds a permit from the previous
//     epoch and is active (Input.Active), else 0; A is normalized.
//  2. Weights: rows of UIDs without a permit are dropped, as is a row whose
//     weights predate its own registration (RegisteredAt_i ≥ LastUpdate_i).
//     Entry (i, j) is masked when j == i (self-weight) or when miner j was
//     (re)registered at or after the block validator i's weights date from
//     (RegisteredAt_j ≥ LastUpdate_i; with commit-reveal LastUpdate is the
//     block of the revealed commit, so commits older than the registration
//     are masked too). Rows are then normalized to sum to 1.
//  3. Consensus: C_j is the stake-weighted quantile of column j at 1 − kappa
//     over validators with A_i > 0: the largest weight x such that validators
//     giving j a weight ≥ x hold at least kappa of the active stake
//     (compared exactly: Σ A ≥ ceil(kappa·ΣA)). With kappa 0.5 this is the
//     stake-weighted median; exactly half the stake suffices, anything less
//     cannot lift C_j. Validators not weighting j count as weight 0.
//  4. Clip: Wc_ij = min(W_ij, C_j); validator trust VT_i = Σ_j Wc_ij.
//  5. Incentive: R_j = Σ_i A_i·Wc_ij, I = normalize(R).
//  6. Bonds: Wb = W − penalty·(W − Wc); B_ij = a·Wb_ij + (1 − a)·B_old_ij,
//     capped at 1, with a = 1 − bonds_moving_average. Old bonds held by or
//     given to a UID registered since the previous epoch
//     (RegisteredAt ≥ LastEpochBlock) are reset to 0. With liquid alpha, a is
//     per bond: a_ij = alpha_low + sigmoid(steepness/100·(diff − 0.5))·
//     (alpha_high − alpha_low), diff = clamp(Wb_ij − C_j) if Wb_ij ≥ B_old_ij
//     else clamp(B_old_ij − Wb_ij) (see sigmoid.go for its precision).
//     Bonds of validators that stop weighting decay by (1 − a) per epoch and
//     reach exactly 0.
//  7. Dividends: D_i ∝ A_i·Σ_j (B_ij/Σ_k B_kj)·I_j, normalized.
//  8. Emission: of Input.Emission (the subnet's emission after the owner's
//     cut, which the caller takes), miner j gets I_j/(ΣI+ΣD) and validator i
//     D_i/(ΣI+ΣD), in base units by largest remainder so the parts sum
//     exactly to the emission (remainder units go to the largest fractional
//     parts, ties to miner parts before validator parts, then to the lower
//     UID). With no usable weights (ΣI = 0) miners get nothing and validators
//     are paid by active stake A, or, if no UID has active stake, by stake;
//     if there is no stake at all the emission is returned as Unallocated.
//  9. Permits for the next epoch: the top MaxValidators UIDs by stake, ties to
//     the lower UID, zero stake excluded.
//
// Every loop runs in increasing UID order (rows, then columns); the only
// sorts are on total orders (value, then UID), so results never depend on
// sort stability. The weighted quantile uses radix selection on the keys
// (weight, then UID; at most ten O(V) rounds per column for V validators,
// one or two in practice), then a deterministic introselect with a sort
// fallback on what is left.
//
// # Simulation
//
// DecodeScenario, EncodeOutput and Simulate implement the JSON scenario used
// by the chain's read-only simulate query and CLI; see docs/yuma.md.
package yuma
