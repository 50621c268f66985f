package keeper_test

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/testutil/keepertest"
	"github.com/meritnet/merit/x/scoring/types"
	"github.com/meritnet/merit/x/scoring/yuma"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// TestEpochInputMatchesLookups: EpochInput, which walks the stored rows and
// decodes them itself, builds the same yuma.Input as reading every UID's
// neuron, stake, weights and bonds with the collections' own Get, on a
// subnet with stake on some hotkeys, rows on some UIDs (entries past n
// among them, empty ones too), rows stored under UIDs past n and on a
// neighbouring subnet.
func TestEpochInputMatchesLookups(t *testing.T) {
	f := keepertest.New(t)
	rng := rand.New(rand.NewPCG(18, 1))
	owner := keepertest.Addr("owner")
	edit := func(h *subnettypes.Hyperparams) {
		h.MaxUids, h.MaxValidators = 64, 16
		h.MinBurn, h.BurnIncreaseBps = sdkmath.ZeroInt(), subnettypes.BasisPoints
	}
	netuid := f.CreateSubnet(owner, edit)
	other := f.CreateSubnet(owner, edit)
	const n = 40
	for i := 0; i < n; i++ {
		hk := keepertest.Addr("hk" + string(rune('A'+i)))
		f.MustRegister(netuid, hk, owner)
		if i%3 == 0 {
			f.Fund(owner, 1_000_000_000)
			if err := f.AddStake(netuid, hk, owner, int64(1_000_000+rng.IntN(1_000_000))); err != nil {
				t.Fatal(err)
			}
		}
	}
	f.MustRegister(other, keepertest.Addr("other"), owner)
	row := func(width int) ([]uint32, []uint32, []uint64) {
		uids, w, b := make([]uint32, width), make([]uint32, width), make([]uint64, width)
		for j := range uids {
			uids[j], w[j], b[j] = uint32(rng.IntN(n+8)), rng.Uint32(), rng.Uint64()>>rng.IntN(20)
		}
		return uids, w, b
	}
	for _, nu := range []uint32{netuid, other} {
		for uid := uint32(0); uid < n+4; uid++ {
			uids, w, b := row(rng.IntN(n + 8))
			if rng.IntN(3) > 0 {
				if err := f.Scoring.Weights.Set(f.Ctx, collections.Join(nu, uid), types.WeightsRow{Uids: uids, Values: w, SetAt: rng.Int64N(100)}); err != nil {
					t.Fatal(err)
				}
			}
			if rng.IntN(3) > 0 {
				if err := f.Scoring.Bonds.Set(f.Ctx, collections.Join(nu, uid), types.BondsRow{Uids: uids, Values: b}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	// Empty rows are stored as empty values.
	if err := f.Scoring.Weights.Set(f.Ctx, collections.Join(netuid, uint32(1)), types.WeightsRow{}); err != nil {
		t.Fatal(err)
	}
	if err := f.Scoring.Bonds.Set(f.Ctx, collections.Join(netuid, uint32(2)), types.BondsRow{}); err != nil {
		t.Fatal(err)
	}
	f.Commit()
	s, err := f.Subnet.GetSubnet(f.Ctx, netuid)
	if err != nil {
		t.Fatal(err)
	}
	got, neurons, err := f.Scoring.EpochInput(f.Ctx, s, types.EpochState{LastEpochBlock: 3}, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(neurons) != n {
		t.Fatalf("%d neurons, want %d", len(neurons), n)
	}

	// The reference: one lookup per UID, as EpochInput read its input before.
	want := yuma.Input{
		Params: got.Params, Stake: make([]uint64, n), Permit: make([]bool, n), Weights: make([][]yuma.Entry, n),
		Bonds: make([][]yuma.Bond, n), RegisteredAt: make([]uint64, n), LastUpdate: make([]uint64, n), LastEpochBlock: 3,
	}
	activity := make([]uint64, n)
	staked := 0
	for i := uint32(0); i < n; i++ {
		nr, err := f.Subnet.GetNeuron(f.Ctx, netuid, i)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(nr, neurons[i]) {
			t.Fatalf("neuron %d: %+v, want %+v", i, neurons[i], nr)
		}
		hk, err := sdk.AccAddressFromBech32(nr.Hotkey)
		if err != nil {
			t.Fatal(err)
		}
		if st, err := f.Subnet.HotkeyStake.Get(f.Ctx, collections.Join(netuid, hk)); err == nil {
			want.Stake[i] = st.Uint64()
			staked++
		} else if !errors.Is(err, collections.ErrNotFound) {
			t.Fatal(err)
		}
		want.Permit[i] = nr.ValidatorPermit
		want.RegisteredAt[i] = uint64(max(nr.RegisteredAt, 0))
		activity[i] = uint64(max(nr.LastUpdate, 0))
		if r, err := f.Scoring.Weights.Get(f.Ctx, collections.Join(netuid, i)); err == nil {
			want.LastUpdate[i] = uint64(max(r.SetAt, 0))
			want.Weights[i] = []yuma.Entry{}
			for j, u := range r.Uids {
				if u < n {
					want.Weights[i] = append(want.Weights[i], yuma.Entry{UID: uint16(u), Value: yuma.FromUint(uint64(r.Values[j]))})
				}
			}
		}
		if r, err := f.Scoring.Bonds.Get(f.Ctx, collections.Join(netuid, i)); err == nil {
			want.Bonds[i] = []yuma.Bond{}
			for j, u := range r.Uids {
				if u < n {
					want.Bonds[i] = append(want.Bonds[i], yuma.NewBond(uint16(u), yuma.Fixed(r.Values[j])))
				}
			}
		}
	}
	want.Active = yuma.ActiveByCutoff(activity, 50, s.Hyperparams.ActivityCutoff)
	if staked == 0 {
		t.Fatal("no stake in the fixture")
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("EpochInput differs from the per-UID lookups:\n got %+v\nwant %+v", got, want)
	}
}
