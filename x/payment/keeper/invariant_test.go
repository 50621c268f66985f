package keeper_test

import (
	"fmt"
	"math/rand"
	"testing"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/testutil/keepertest"
	"github.com/meritnet/merit/x/payment/types"
	scoringtypes "github.com/meritnet/merit/x/scoring/types"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// TestMoneyInvariantRandomRun runs many blocks of random opens, deposits,
// key rotations, settlements (replays, stale and over-balance ones included),
// closes, refunds, price changes and epochs with issuance on, and checks after
// every block, exact to the umerit:
//
//	x/payment balance  = Σ account balances
//	x/emission balance = Σ pending + carry
//	supply             = genesis + minted by the test + issued − burned
//
// and that no account was ever charged more than it deposited.
func TestMoneyInvariantRandomRun(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { randomRun(t, seed, 300) })
	}
}

func randomRun(t *testing.T, seed int64, blocks int) {
	m := newMarket(t, 250_000, keepertest.WithEmission())
	p := types.DefaultParams()
	p.CloseGraceBlocks, p.MaxRefundsPerBlock = 5, 2
	if _, err := m.PaymentMsg.UpdateParams(m.Ctx, &types.MsgUpdateParams{Authority: m.Gov, Params: p}); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewSource(seed))
	payers := []sdk.AccAddress{addr("p0"), addr("p1"), addr("p2")}
	for _, py := range payers {
		m.Fund(py, 1_000_000_000)
	}
	var ids []uint64
	counters := map[uint64][2]uint64{}
	keys := 0
	for block := 0; block < blocks; block++ {
		for op := 0; op < 4; op++ {
			py := payers[r.Intn(len(payers))]
			switch r.Intn(8) {
			case 0:
				keys++
				id, err := m.open(py, fmt.Sprintf("key%d", keys), int64(1_000_000+r.Intn(3_000_000)), func(msg *types.MsgOpenAccount) {
					if r.Intn(2) == 0 {
						msg.SpendLimitPerEpoch = sdkmath.NewInt(int64(r.Intn(500_000)))
					}
				})
				if err == nil {
					ids = append(ids, id)
				}
			case 1:
				if len(ids) > 0 {
					id := ids[r.Intn(len(ids))]
					_ = m.Run(func(ctx sdk.Context) error {
						_, err := m.PaymentMsg.Deposit(ctx, &types.MsgDeposit{Payer: py.String(), AccountId: id, Amount: sdkmath.NewInt(int64(1 + r.Intn(1_000_000)))})
						return err
					})
				}
			case 2, 3, 4:
				var items []types.UsageItem
				for _, id := range ids {
					if r.Intn(3) != 0 {
						continue
					}
					c := counters[id]
					switch r.Intn(5) {
					case 0: // replay
					case 1: // stale
						if c[0] > 0 {
							items = append(items, item(id, c[0]-1, c[1]))
							continue
						}
					default:
						c[0] += uint64(r.Intn(8_000_000))
						c[1] += uint64(1 + r.Intn(5))
					}
					counters[id] = c
					items = append(items, item(id, c[0], c[1]))
				}
				if len(items) > 0 {
					if _, err := m.settle(m.gw, items...); err != nil {
						t.Fatalf("block %d: %v", block, err)
					}
				}
			case 5:
				if len(ids) > 0 && r.Intn(3) == 0 {
					id := ids[r.Intn(len(ids))]
					a, err := m.Payment.GetAccount(m.Ctx, id)
					if err == nil && r.Intn(2) == 0 {
						_ = m.Run(func(ctx sdk.Context) error {
							_, err := m.PaymentMsg.CloseAccount(ctx, &types.MsgCloseAccount{Payer: a.Payer, AccountId: id})
							return err
						})
					} else if err == nil {
						// Drop or restore the settling gateway: its usage
						// settles within the grace, is refused after it.
						var list []string
						for _, gw := range []sdk.AccAddress{m.gw, addr("elsewhere")} {
							if r.Intn(2) == 0 {
								list = append(list, gw.String())
							}
						}
						_ = m.Run(func(ctx sdk.Context) error {
							_, err := m.PaymentMsg.UpdateAccount(ctx, &types.MsgUpdateAccount{Payer: a.Payer, AccountId: id,
								SetAllowedGateways: true, AllowedGateways: list, SpendLimitPerEpoch: sdkmath.ZeroInt()})
							return err
						})
					}
				}
			case 6:
				if r.Intn(10) == 0 {
					m.EditHyperparams(m.netuid, m.owner, func(h *subnettypes.Hyperparams) { h.PricePerMillionTokens = uint64(r.Intn(2_000_000)) })
				}
			case 7:
				if r.Intn(4) == 0 {
					_ = m.Run(func(ctx sdk.Context) error {
						_, err := m.ScoringMsg.SetWeights(ctx, &scoringtypes.MsgSetWeights{Hotkey: m.gw.String(), Netuid: m.netuid, Uids: []uint32{1}, Weights: []uint32{65535}})
						return err
					})
				}
			}
		}
		m.Advance(1)
		m.checkBooks()
		m.CheckSubnetBalance()
		for _, id := range ids {
			if a, err := m.Payment.GetAccount(m.Ctx, id); err == nil && a.Totals.Charged.GT(a.Totals.Deposited) {
				t.Fatalf("account %d charged %s of %s deposited", id, a.Totals.Charged, a.Totals.Deposited)
			}
		}
	}
	rev, _ := m.PaymentQuery.Revenue(m.Ctx, &types.QueryRevenueRequest{Netuid: m.netuid})
	if !rev.Revenue.Charged.IsPositive() || !rev.Revenue.Shortfall.IsPositive() {
		t.Fatalf("the run never charged or never hit a cap: %+v", rev.Revenue)
	}
	t.Logf("seed %d: %d accounts, charged %s, shortfall %s, burned %s", seed, len(ids), rev.Revenue.Charged, rev.Revenue.Shortfall, rev.Revenue.Burned)
}
