// Package sim runs many blocks of a whole network — subnets, stake, weights,
// users' payments — through the chain's own pure economics: the halving
// schedule, the stake and revenue EMAs, the revenue-weighted split, the
// payment split and Yuma Consensus at every subnet's epoch. It needs no node
// and no store, so subnet designers can try parameters in seconds
// (`meritd q emission simulate`).
package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"

	sdkmath "cosmossdk.io/math"

	"github.com/meritnet/merit/x/emission/types"
	paymenttypes "github.com/meritnet/merit/x/payment/types"
	"github.com/meritnet/merit/x/scoring/yuma"
)

// MaxBlocks bounds one run.
const MaxBlocks = 1_000_000

// Scenario is a network to simulate. Zero fields take the chain's defaults.
type Scenario struct {
	Blocks uint64 `json:"blocks"`
	// Emission params; omitted fields keep x/emission's defaults.
	Emission *EmissionParams `json:"emission,omitempty"`
	// Payment split of every charge, basis points (x/payment defaults).
	GatewayFeeBps *uint32  `json:"gateway_fee_bps,omitempty"`
	BurnBps       *uint32  `json:"burn_bps,omitempty"`
	Subnets       []Subnet `json:"subnets"`
}

// EmissionParams overrides x/emission params (umerit as integers).
type EmissionParams struct {
	InitialBlockReward    *uint64 `json:"initial_block_reward,omitempty"`
	ChainSecurityShareBps *uint32 `json:"chain_security_share_bps,omitempty"`
	StakeEmaAlphaBps      *uint32 `json:"stake_ema_alpha_bps,omitempty"`
	RevenueEmaAlphaBps    *uint32 `json:"revenue_ema_alpha_bps,omitempty"`
	RevenueShareMaxBps    *uint32 `json:"revenue_share_max_bps,omitempty"`
	BurnEmissionBps       *uint32 `json:"burn_emission_bps,omitempty"`
	MinBurnEma            *uint64 `json:"min_burn_ema,omitempty"`
}

// Subnet is one subnet: its validators (UIDs 0..v−1, with stake and fixed
// weights on miner UIDs), its miners (the UIDs after them) and what its users
// pay per block over block ranges.
type Subnet struct {
	Name        string      `json:"name"`
	Tempo       uint64      `json:"tempo"`
	OwnerCutBps *uint32     `json:"owner_cut_bps,omitempty"`
	Validators  []Validator `json:"validators"`
	Miners      int         `json:"miners"`
	Revenue     []Payment   `json:"revenue,omitempty"`
}

// Validator is a staked UID and its weights by UID.
type Validator struct {
	Stake   uint64            `json:"stake"`
	Weights map[string]uint64 `json:"weights"`
}

// Payment is what users pay a subnet each block in [from, until).
type Payment struct {
	From     uint64 `json:"from"`
	Until    uint64 `json:"until"`
	PerBlock uint64 `json:"per_block"`
}

// Result is what the run paid.
type Result struct {
	Blocks  uint64         `json:"blocks"`
	Issued  string         `json:"issued"`
	Burned  string         `json:"burned"`
	Subnets []SubnetResult `json:"subnets"`
}

// SubnetResult sums one subnet's side of the run, umerit.
type SubnetResult struct {
	Name        string `json:"name"`
	Netuid      uint32 `json:"netuid"`
	Epochs      uint64 `json:"epochs"`
	StakePart   string `json:"stake_part"`
	RevenuePart string `json:"revenue_part"`
	UsersPaid   string `json:"users_paid"`
	GatewayFees string `json:"gateway_fees"`
	OwnerCut    string `json:"owner_cut"`
	// Per UID, validators first: miner and validator emission.
	Miner     []uint64 `json:"miner"`
	Validator []uint64 `json:"validator"`
	// Share of the subnets' emission at the last block, basis points.
	FinalShareBps uint32 `json:"final_share_bps"`
}

type subnetState struct {
	spec                 Subnet
	netuid               uint32
	n                    int
	stake                []uint64
	weights              [][]yuma.Entry
	bonds                [][]yuma.Bond
	permits              []bool
	totalStake           sdkmath.Int
	ema                  sdkmath.Int
	revEma, burnEma      sdkmath.LegacyDec
	pending              sdkmath.Int
	stakePart, revPart   sdkmath.Int
	paid, fees, ownerCut sdkmath.Int
	epochs, lastEpoch    uint64
	miner, validator     []uint64
	ownerCutBps          uint32
}

// Decode reads a scenario and checks it.
func Decode(r io.Reader) (Scenario, error) {
	var sc Scenario
	dec := json.NewDecoder(io.LimitReader(r, 16<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sc); err != nil {
		return sc, fmt.Errorf("scenario: %w", err)
	}
	return sc, sc.validate()
}

func (sc Scenario) validate() error {
	if sc.Blocks == 0 || sc.Blocks > MaxBlocks {
		return fmt.Errorf("blocks must be in [1, %d], got %d", MaxBlocks, sc.Blocks)
	}
	if len(sc.Subnets) == 0 || len(sc.Subnets) > 1024 {
		return fmt.Errorf("give 1 to 1024 subnets, got %d", len(sc.Subnets))
	}
	for i, s := range sc.Subnets {
		n := len(s.Validators) + s.Miners
		if len(s.Validators) == 0 || s.Miners < 0 || n > yuma.MaxUIDs {
			return fmt.Errorf("subnet %d (%s): want at least one validator and at most %d UIDs", i, s.Name, yuma.MaxUIDs)
		}
		for v, val := range s.Validators {
			for k := range val.Weights {
				uid, err := strconv.Atoi(k)
				if err != nil || uid < 0 || uid >= n {
					return fmt.Errorf("subnet %d (%s), validator %d: weight key %q is not a UID below %d", i, s.Name, v, k, n)
				}
			}
		}
	}
	return nil
}

func (sc Scenario) params() (types.Params, uint32, uint32) {
	p := types.DefaultParams()
	if e := sc.Emission; e != nil {
		if e.InitialBlockReward != nil {
			p.InitialBlockReward = sdkmath.NewIntFromUint64(*e.InitialBlockReward)
		}
		for _, f := range []struct {
			src *uint32
			dst *uint32
		}{{e.ChainSecurityShareBps, &p.ChainSecurityShareBps}, {e.StakeEmaAlphaBps, &p.StakeEmaAlphaBps},
			{e.RevenueEmaAlphaBps, &p.RevenueEmaAlphaBps}, {e.RevenueShareMaxBps, &p.RevenueShareMaxBps}, {e.BurnEmissionBps, &p.BurnEmissionBps}} {
			if f.src != nil {
				*f.dst = *f.src
			}
		}
		if e.MinBurnEma != nil {
			p.MinBurnEma = *e.MinBurnEma
		}
	}
	pp := paymenttypes.DefaultParams()
	fee, burn := pp.GatewayFeeBps, pp.BurnBps
	if sc.GatewayFeeBps != nil {
		fee = *sc.GatewayFeeBps
	}
	if sc.BurnBps != nil {
		burn = *sc.BurnBps
	}
	return p, fee, burn
}

// Run simulates the scenario block by block.
func Run(sc Scenario) (Result, error) {
	if err := sc.validate(); err != nil {
		return Result{}, err
	}
	p, feeBps, burnBps := sc.params()
	if err := p.Validate(); err != nil {
		return Result{}, fmt.Errorf("emission params: %w", err)
	}
	if uint64(feeBps)+uint64(burnBps) > paymenttypes.BasisPoints {
		return Result{}, fmt.Errorf("gateway_fee_bps + burn_bps above %d", paymenttypes.BasisPoints)
	}
	subnets := make([]*subnetState, len(sc.Subnets))
	for i, spec := range sc.Subnets {
		subnets[i] = newSubnet(spec, uint32(i+1))
	}
	issued, burned, carry := sdkmath.ZeroInt(), sdkmath.ZeroInt(), sdkmath.ZeroInt()
	var lastParts []sdkmath.Int
	for height := uint64(1); height <= sc.Blocks; height++ {
		// Users' payments (DeliverTx), then EndBlock: emission, then epochs.
		stakeW := make([]sdkmath.Int, len(subnets))
		burns := make([]sdkmath.LegacyDec, len(subnets))
		for i, s := range subnets {
			charge := sdkmath.NewIntFromUint64(s.revenueAt(height))
			fee, burn, toSubnet := paymenttypes.SplitCharge(charge, feeBps, burnBps)
			s.paid, s.fees, s.pending = s.paid.Add(charge), s.fees.Add(fee), s.pending.Add(toSubnet)
			burned = burned.Add(burn)
			s.ema = types.StakeEMAStep(s.ema, s.totalStake, p.StakeEmaAlphaBps)
			s.revEma = types.DecEMAStep(s.revEma, toSubnet, p.RevenueEmaAlphaBps)
			s.burnEma = types.DecEMAStep(s.burnEma, burn, p.RevenueEmaAlphaBps)
			stakeW[i], burns[i] = s.ema, s.burnEma
		}
		if allZero(stakeW) {
			for i := range stakeW {
				stakeW[i] = sdkmath.OneInt()
			}
		}
		reward, _ := types.BlockReward(p.InitialBlockReward, issued, p.SupplyCap)
		security := reward.MulRaw(int64(p.ChainSecurityShareBps)).QuoRaw(types.BasisPoints)
		issued = issued.Add(reward)
		stake, rev, rest := types.SplitWithRevenue(reward.Sub(security).Add(carry), stakeW, burns, p.RevenueShareMaxBps, p.BurnEmissionBps, p.MinBurnEma)
		carry = rest
		lastParts = make([]sdkmath.Int, len(subnets))
		for i, s := range subnets {
			s.pending = s.pending.Add(stake[i]).Add(rev[i])
			s.stakePart, s.revPart = s.stakePart.Add(stake[i]), s.revPart.Add(rev[i])
			lastParts[i] = stake[i].Add(rev[i])
		}
		for _, s := range subnets {
			if s.spec.Tempo > 0 && (height+uint64(s.netuid))%s.spec.Tempo == 0 {
				if err := s.epoch(height); err != nil {
					return Result{}, fmt.Errorf("subnet %d epoch at block %d: %w", s.netuid, height, err)
				}
			}
		}
	}
	res := Result{Blocks: sc.Blocks, Issued: issued.String(), Burned: burned.String()}
	total := sdkmath.ZeroInt()
	for _, v := range lastParts {
		total = total.Add(v)
	}
	for i, s := range subnets {
		share := uint32(0)
		if total.IsPositive() {
			share = uint32(lastParts[i].MulRaw(types.BasisPoints).Quo(total).Int64())
		}
		res.Subnets = append(res.Subnets, SubnetResult{
			Name: s.spec.Name, Netuid: s.netuid, Epochs: s.epochs, StakePart: s.stakePart.String(), RevenuePart: s.revPart.String(),
			UsersPaid: s.paid.String(), GatewayFees: s.fees.String(), OwnerCut: s.ownerCut.String(),
			Miner: s.miner, Validator: s.validator, FinalShareBps: share,
		})
	}
	return res, nil
}

func allZero(v []sdkmath.Int) bool {
	for _, x := range v {
		if !x.IsZero() {
			return false
		}
	}
	return true
}

func newSubnet(spec Subnet, netuid uint32) *subnetState {
	if spec.Tempo == 0 {
		spec.Tempo = 100
	}
	n := len(spec.Validators) + spec.Miners
	z := sdkmath.ZeroInt()
	s := &subnetState{spec: spec, netuid: netuid, n: n, stake: make([]uint64, n), weights: make([][]yuma.Entry, n),
		totalStake: z, ema: z, revEma: sdkmath.LegacyZeroDec(), burnEma: sdkmath.LegacyZeroDec(), pending: z,
		stakePart: z, revPart: z, paid: z, fees: z, ownerCut: z, miner: make([]uint64, n), validator: make([]uint64, n),
		ownerCutBps: 1_800}
	if spec.OwnerCutBps != nil {
		s.ownerCutBps = *spec.OwnerCutBps
	}
	for i, v := range spec.Validators {
		s.stake[i] = v.Stake
		s.totalStake = s.totalStake.Add(sdkmath.NewIntFromUint64(v.Stake))
		uids := make([]int, 0, len(v.Weights))
		for k := range v.Weights {
			uid, _ := strconv.Atoi(k)
			uids = append(uids, uid)
		}
		sort.Ints(uids)
		for _, uid := range uids {
			if w := v.Weights[strconv.Itoa(uid)]; w > 0 {
				s.weights[i] = append(s.weights[i], yuma.Entry{UID: uint16(uid), Value: yuma.FromUint(w)})
			}
		}
	}
	s.permits = yuma.TopStakePermits(s.stake, 64)
	return s
}

func (s *subnetState) revenueAt(height uint64) uint64 {
	var sum uint64
	for _, p := range s.spec.Revenue {
		if height >= p.From && (p.Until == 0 || height < p.Until) {
			sum += p.PerBlock
		}
	}
	return sum
}

// epoch pays the subnet's pending: the owner cut, then Yuma's split.
func (s *subnetState) epoch(height uint64) error {
	cut := s.pending.MulRaw(int64(s.ownerCutBps)).QuoRaw(types.BasisPoints)
	dist := s.pending.Sub(cut)
	if !dist.IsUint64() {
		return fmt.Errorf("pending %s does not fit 64 bits", dist)
	}
	in := yuma.Input{
		Params: yuma.DefaultParams(), Stake: s.stake, Permit: s.permits, Active: make([]bool, s.n),
		Weights: s.weights, Bonds: s.bonds, RegisteredAt: make([]uint64, s.n), LastUpdate: make([]uint64, s.n),
		LastEpochBlock: s.lastEpoch, Emission: dist.Uint64(),
	}
	for i := range in.Active {
		in.Active[i], in.LastUpdate[i] = true, height
	}
	out, err := yuma.Run(in)
	if err != nil {
		return err
	}
	for i := 0; i < s.n; i++ {
		s.miner[i] += out.MinerEmission[i]
		s.validator[i] += out.ValidatorEmission[i]
	}
	s.ownerCut = s.ownerCut.Add(cut)
	s.pending = sdkmath.NewIntFromUint64(out.Unallocated)
	s.bonds, s.permits, s.lastEpoch = out.Bonds, out.NextPermit, height
	s.epochs++
	return nil
}
