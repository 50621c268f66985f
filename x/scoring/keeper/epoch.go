package keeper

import (
	"context"
	"errors"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/x/scoring/types"
	"github.com/meritnet/merit/x/scoring/yuma"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

func isNotFound(err error) bool { return errors.Is(err, collections.ErrNotFound) }

func yumaParams(h subnettypes.Hyperparams) yuma.Params {
	return yuma.Params{
		Kappa:                 yuma.FromRatio(uint64(h.Kappa), types.U16Max),
		BondsMovingAverage:    yuma.FromRatio(uint64(h.BondsMovingAverage), 1_000_000),
		BondsPenalty:          yuma.FromRatio(uint64(h.BondsPenalty), types.U16Max),
		MaxValidators:         h.MaxValidators,
		LiquidAlpha:           h.LiquidAlphaEnabled,
		AlphaLow:              yuma.FromRatio(uint64(h.AlphaLow), types.U16Max),
		AlphaHigh:             yuma.FromRatio(uint64(h.AlphaHigh), types.U16Max),
		AlphaSigmoidSteepness: yuma.FromUint(uint64(h.AlphaSigmoidSteepness)),
	}
}

func nonNegBlock(b int64) uint64 {
	if b < 0 {
		return 0
	}
	return uint64(b)
}

// saturatingUint64 converts an amount for the fixed-point epoch; no umerit
// amount reaches 2^64 under any sane cap, and saturating keeps it total.
func saturatingUint64(v sdkmath.Int) uint64 {
	if v.IsNil() || !v.IsPositive() {
		return 0
	}
	if !v.IsUint64() {
		return ^uint64(0)
	}
	return v.Uint64()
}

// EpochInput assembles the Yuma input of a subnet from state.
func (k Keeper) EpochInput(ctx context.Context, s subnettypes.Subnet, st types.EpochState, height int64) (yuma.Input, []subnettypes.Neuron, error) {
	neurons, stakes, err := k.subnets.NeuronsOf(ctx, s.Netuid)
	if err != nil {
		return yuma.Input{}, nil, err
	}
	n := len(neurons)
	in := yuma.Input{
		Params:         yumaParams(s.Hyperparams),
		Stake:          make([]uint64, n),
		Permit:         make([]bool, n),
		Weights:        make([][]yuma.Entry, n),
		Bonds:          make([][]yuma.Bond, n),
		RegisteredAt:   make([]uint64, n),
		LastUpdate:     make([]uint64, n),
		LastEpochBlock: nonNegBlock(st.LastEpochBlock),
	}
	activity := make([]uint64, n)
	// The subnet's stored rows are walked once, in UID order, and decoded
	// into reused buffers (epoch_rows.go), instead of a Map.Get per UID: most
	// UIDs (the miners) have no row, and Map.Get's miss path formats the key
	// into an error; a hit decoded a fresh protobuf row only to copy it.
	weights, err := k.walkWeightRows(ctx, s.Netuid)
	if err != nil {
		return in, nil, err
	}
	defer weights.Close()
	bonds, err := k.walkBondRows(ctx, s.Netuid)
	if err != nil {
		return in, nil, err
	}
	defer bonds.Close()
	for i, nr := range neurons {
		if nr.Uid != uint32(i) {
			return in, nil, types.ErrInvalidWeights.Wrapf("subnet %d: uid %d at position %d; UIDs must be dense", s.Netuid, nr.Uid, i)
		}
		in.Stake[i] = saturatingUint64(stakes[i])
		in.Permit[i] = nr.ValidatorPermit
		in.RegisteredAt[i] = nonNegBlock(nr.RegisteredAt)
		activity[i] = nonNegBlock(nr.LastUpdate)
		if row, ok, err := weights.at(uint32(i)); err != nil {
			return in, nil, err
		} else if ok {
			if len(row.vals) != len(row.uids) {
				// A corrupt row must fail the epoch (skipped and logged), never panic EndBlock.
				return in, nil, types.ErrInvalidWeights.Wrapf("subnet %d uid %d: stored weights have %d uids and %d values", s.Netuid, i, len(row.uids), len(row.vals))
			}
			in.LastUpdate[i] = nonNegBlock(row.setAt)
			in.Weights[i] = make([]yuma.Entry, 0, len(row.uids)) // no regrowth: a dense row is 4096 entries
			for j, uid := range row.uids {
				if uid < uint32(n) {
					in.Weights[i] = append(in.Weights[i], yuma.Entry{UID: uint16(uid), Value: yuma.FromUint(row.vals[j])})
				}
			}
		}
		if row, ok, err := bonds.at(uint32(i)); err != nil {
			return in, nil, err
		} else if ok {
			if len(row.vals) != len(row.uids) {
				return in, nil, types.ErrInvalidWeights.Wrapf("subnet %d uid %d: stored bonds have %d uids and %d values", s.Netuid, i, len(row.uids), len(row.vals))
			}
			in.Bonds[i] = make([]yuma.Bond, 0, len(row.uids))
			for j, uid := range row.uids {
				if uid < uint32(n) {
					in.Bonds[i] = append(in.Bonds[i], yuma.NewBond(uint16(uid), yuma.Fixed(row.vals[j])))
				}
			}
		}
	}
	in.Active = yuma.ActiveByCutoff(activity, nonNegBlock(height), s.Hyperparams.ActivityCutoff)
	return in, neurons, nil
}

// runEpoch runs Yuma Consensus for one subnet, stores per-UID results, bonds
// and next permits, and hands the emission split to x/emission.
func (k Keeper) runEpoch(ctx sdk.Context, p types.Params, s subnettypes.Subnet, st types.EpochState) error {
	height := ctx.BlockHeight()
	in, neurons, err := k.EpochInput(ctx, s, st, height)
	if err != nil {
		return err
	}
	pending := sdkmath.ZeroInt()
	if k.emission != nil {
		if pending, err = k.emission.TakeSubnetPending(ctx, s.Netuid); err != nil {
			return err
		}
	}
	ownerCut := pending.Mul(sdkmath.NewInt(int64(s.Hyperparams.OwnerCutBps))).QuoRaw(subnettypes.BasisPoints)
	distributable := pending.Sub(ownerCut)
	in.Emission = saturatingUint64(distributable)
	// Anything above 2^64 (never, in practice) stays with the owner cut so no unit is lost.
	ownerCut = ownerCut.Add(distributable.Sub(sdkmath.NewIntFromUint64(in.Emission)))

	out, err := yuma.Run(in)
	if err != nil {
		return err
	}
	epoch := st.Epoch + 1
	minersPaid, validatorsPaid := uint32(0), uint32(0)
	for i := range neurons {
		nr := &neurons[i]
		nr.Consensus = uint32(out.Consensus[i].ToU16())
		nr.Incentive = uint32(out.Incentive[i].ToU16())
		nr.Dividends = uint32(out.Dividends[i].ToU16())
		nr.ValidatorTrust = uint32(out.ValidatorTrust[i].ToU16())
		nr.ValidatorPermit = out.NextPermit[i]
		nr.LastEmission = sdkmath.NewIntFromUint64(out.MinerEmission[i]).Add(sdkmath.NewIntFromUint64(out.ValidatorEmission[i]))
		nr.LastEpoch = epoch
		if out.MinerEmission[i] > 0 {
			minersPaid++
		}
		if out.ValidatorEmission[i] > 0 {
			validatorsPaid++
		}
		if err := k.subnets.SetNeuron(ctx, s.Netuid, *nr); err != nil {
			return err
		}
		if err := k.setBonds(ctx, s.Netuid, uint32(i), out.Bonds[i]); err != nil {
			return err
		}
	}
	if k.emission != nil {
		if err := k.emission.PayEpoch(ctx, types.EpochPayout{
			Netuid: s.Netuid, Epoch: epoch, Block: height, Owner: s.Owner, OwnerCut: ownerCut, Neurons: neurons,
			Miner: out.MinerEmission, Validator: out.ValidatorEmission, Unallocated: out.Unallocated,
		}); err != nil {
			return err
		}
	}
	if err := k.EpochState.Set(ctx, s.Netuid, types.EpochState{Epoch: epoch, LastEpochBlock: height}); err != nil {
		return err
	}
	if err := k.dropExpiredCommits(ctx, p, s, epoch); err != nil {
		return err
	}
	return ctx.EventManager().EmitTypedEvent(&types.EventEpoch{
		Netuid: s.Netuid, Epoch: epoch, Block: height, Emission: distributable.String(), OwnerCut: ownerCut.String(),
		MinersPaid: minersPaid, ValidatorsPaid: validatorsPaid, StakeFallback: out.StakeFallback,
	})
}

func (k Keeper) setBonds(ctx context.Context, netuid, uid uint32, bonds []yuma.Bond) error {
	key := collections.Join(netuid, uid)
	if len(bonds) == 0 {
		return k.Bonds.Remove(ctx, key)
	}
	row := types.BondsRow{Uids: make([]uint32, len(bonds)), Values: make([]uint64, len(bonds))}
	for j, b := range bonds {
		row.Uids[j], row.Values[j] = uint32(b.UID()), uint64(b.Value())
	}
	return k.Bonds.Set(ctx, key, row)
}

// dropExpiredCommits removes commits whose reveal epoch has passed, at most
// max_expired_commits_per_epoch per epoch; the rest go at later epochs.
func (k Keeper) dropExpiredCommits(ctx sdk.Context, p types.Params, s subnettypes.Subnet, epoch uint64) error {
	var expired []collections.Triple[uint32, sdk.AccAddress, int64]
	rng := collections.NewPrefixedTripleRange[uint32, sdk.AccAddress, int64](s.Netuid)
	if err := k.Commits.Walk(ctx, rng, func(key collections.Triple[uint32, sdk.AccAddress, int64], c types.WeightCommit) (bool, error) {
		if c.CommitEpoch+s.Hyperparams.RevealPeriod < epoch {
			expired = append(expired, key)
		}
		return uint32(len(expired)) >= p.MaxExpiredCommitsPerEpoch, nil
	}); err != nil {
		return err
	}
	for _, key := range expired {
		if err := k.Commits.Remove(ctx, key); err != nil {
			return err
		}
	}
	if len(expired) == 0 {
		return nil
	}
	return ctx.EventManager().EmitTypedEvent(&types.EventCommitsExpired{Netuid: s.Netuid, Dropped: uint32(len(expired))})
}
