package incentives_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/testutil/keepertest"
	emissiontypes "github.com/meritnet/merit/x/emission/types"
	paymenttypes "github.com/meritnet/merit/x/payment/types"
	scoringtypes "github.com/meritnet/merit/x/scoring/types"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

var addr = keepertest.Addr

// washNet is a network of n subnets; subnet 1 belongs to the attacker, who
// owns the subnet, its only validator (also its gateway), its only miner and
// all of the validator's stake. The other subnets are honest, staked, and
// their users may pay for real.
type washNet struct {
	*keepertest.Fixture
	attacker sdk.AccAddress
	account  uint64
	tokens   uint64
	honest   []honestUser
}

const washTempo = 10

func newWashNet(t *testing.T, subnets int, honestRevenue bool) *washNet {
	f := keepertest.New(t, keepertest.WithEmission())
	w := &washNet{Fixture: f, attacker: addr("attacker")}
	for i := 0; i < subnets; i++ {
		owner, val, miner := w.attacker, addr("att-val"), addr("att-miner")
		if i > 0 {
			owner, val, miner = addr(fmt.Sprint("own", i)), addr(fmt.Sprint("val", i)), addr(fmt.Sprint("min", i))
		}
		netuid := f.CreateSubnet(owner, func(h *subnettypes.Hyperparams) {
			h.Tempo, h.CommitRevealEnabled, h.WeightsRateLimit, h.PricePerMillionTokens = washTempo, false, 1, 1_000_000
			h.ImmunityPeriod = 100_000
		})
		f.MustRegister(netuid, val, owner)
		f.MustRegister(netuid, miner, owner)
		f.Fund(owner, 10_000_000_000)
		if err := f.AddStake(netuid, val, owner, 10_000_000_000); err != nil {
			t.Fatal(err)
		}
	}
	f.Advance(2 * washTempo)
	for netuid := uint32(1); netuid <= uint32(subnets); netuid++ {
		val := addr("att-val")
		if netuid > 1 {
			val = addr(fmt.Sprint("val", netuid-1))
		}
		if err := f.Run(func(ctx sdk.Context) error {
			_, err := f.ScoringMsg.SetWeights(ctx, &scoringtypes.MsgSetWeights{Hotkey: val.String(), Netuid: netuid, Uids: []uint32{1}, Weights: []uint32{65535}})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if honestRevenue && netuid > 1 {
			// A real user pays the honest subnet 50,000 umerit per block.
			payer := addr(fmt.Sprint("user", netuid))
			f.Fund(payer, 1_000_000_000_000)
			id := openAccount(t, f, payer, netuid, 500_000_000_000)
			w.honest = append(w.honest, honestUser{netuid: netuid, val: val, id: id})
		}
	}
	f.Fund(w.attacker, 1_000_000_000_000_000)
	w.account = openAccount(t, f, w.attacker, 1, 1_000_000_000_000_000)
	return w
}

type honestUser struct {
	netuid uint32
	val    sdk.AccAddress
	id     uint64
	tokens uint64
}

func openAccount(t *testing.T, f *keepertest.Fixture, payer sdk.AccAddress, netuid uint32, deposit int64) uint64 {
	t.Helper()
	h := sha256.Sum256([]byte(fmt.Sprint(payer, netuid)))
	var id uint64
	if err := f.Run(func(ctx sdk.Context) error {
		res, err := f.PaymentMsg.OpenAccount(ctx, &paymenttypes.MsgOpenAccount{Payer: payer.String(), Netuid: netuid,
			KeyHash: hex.EncodeToString(h[:]), Deposit: sdkmath.NewInt(deposit), SpendLimitPerEpoch: sdkmath.ZeroInt()})
		if err == nil {
			id = res.AccountId
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return id
}

func settle(t *testing.T, f *keepertest.Fixture, gw sdk.AccAddress, netuid uint32, id uint64, tokens uint64) {
	t.Helper()
	if err := f.Run(func(ctx sdk.Context) error {
		_, err := f.PaymentMsg.SettleUsage(ctx, &paymenttypes.MsgSettleUsage{Gateway: gw.String(), Netuid: netuid,
			Items: []paymenttypes.UsageItem{{AccountId: id, CumulativeTokens: tokens, CumulativeRequests: tokens}}})
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// wealth is everything the attacker holds: its balance, its stake on its
// validator (dividends compound there) and its access account's balance.
func (w *washNet) wealth() sdkmath.Int {
	stake, _ := w.Subnet.GetStake(w.Ctx, 1, addr("att-val"), w.attacker)
	a, err := w.Payment.GetAccount(w.Ctx, w.account)
	if err != nil {
		panic(err)
	}
	return w.Balance(w.attacker).Add(stake).Add(a.Balance)
}

// run advances blocks; the attacker pays perBlock umerit to its own subnet
// in each of the first payBlocks, honest users pay theirs every block.
func (w *washNet) run(blocks, payBlocks int, perBlock uint64) {
	for b := 0; b < blocks; b++ {
		if b < payBlocks && perBlock > 0 {
			w.tokens += perBlock // price 1 umerit per token
			settle(w.t(), w.Fixture, addr("att-val"), 1, w.account, w.tokens)
		}
		for i := range w.honest {
			u := &w.honest[i]
			u.tokens += 50_000
			settle(w.t(), w.Fixture, u.val, u.netuid, u.id, u.tokens)
		}
		w.Advance(1)
	}
}

func (w *washNet) t() *testing.T { return w.T.(*testing.T) }

// futureGainBound is the most emission the attacker's remaining burn EMA can
// still attract after the run: burn_emission_bps of Σ_{t>T} ema_t ≤ ema_T/α.
func (w *washNet) futureGainBound() sdkmath.Int {
	p, _ := w.Emission.Params.Get(w.Ctx)
	res, _ := w.EmissionQuery.Subnets(w.Ctx, &emissiontypes.QuerySubnetsRequest{})
	for _, se := range res.Subnets {
		if se.Netuid == 1 {
			return se.BurnEma.MulInt64(int64(p.BurnEmissionBps)).QuoInt64(int64(p.RevenueEmaAlphaBps)).Ceil().TruncateInt()
		}
	}
	return sdkmath.ZeroInt()
}

// TestWashTradingNeverPays: an owner who controls a subnet's miner,
// validator, gateway and stake pays its own subnet; what comes back through
// the gateway fee, the epoch payouts of the subnet share and the extra
// emission the payments attract (measured, plus a bound on what its burn EMA
// can still attract after the run) is compared with the same network where it
// did not pay. The profit must be negative for every amount and network
// size, including a young network where nobody else pays.
func TestWashTradingNeverPays(t *testing.T) {
	const blocks, payBlocks = 400, 40
	for _, size := range []int{1, 2, 4} {
		for _, honest := range []bool{false, true} {
			if honest && size == 1 {
				continue
			}
			base := newWashNet(t, size, honest)
			base.run(blocks, 0, 0)
			baseWealth := base.wealth()
			for _, perBlock := range []uint64{7, 10_000, 100_000_000} {
				w := newWashNet(t, size, honest)
				w.run(blocks, payBlocks, perBlock)
				paid := sdkmath.NewIntFromUint64(perBlock * payBlocks)
				profit := w.wealth().Sub(baseWealth).Add(w.futureGainBound())
				t.Logf("subnets %d, honest revenue %-5v, paid %12s: profit %12s (%+.2f%% of paid)",
					size, honest, paid, profit, 100*float64(profit.Int64())/float64(paid.Int64()))
				if !profit.IsNegative() {
					t.Errorf("paying %s to itself earned the attacker %s", paid, profit)
				}
			}
		}
	}
}
