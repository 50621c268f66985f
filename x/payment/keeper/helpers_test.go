package keeper_test

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/testutil/keepertest"
	"github.com/meritnet/merit/x/payment/types"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

var addr = keepertest.Addr

// market is a subnet with a price, a validator (the gateway) holding a
// permit, a miner, and a funded payer.
type market struct {
	*keepertest.Fixture
	t                  testing.TB
	netuid             uint32
	owner, gw, gwOwner sdk.AccAddress
	miner, minerOwner  sdk.AccAddress
	payer              sdk.AccAddress
	price              uint64
	genesisSupply      sdkmath.Int
}

const tempo = 10

func newMarket(t testing.TB, price uint64, opts ...keepertest.Option) *market {
	t.Helper()
	f := keepertest.New(t, opts...)
	m := &market{Fixture: f, t: t, owner: addr("subnetowner"), gw: addr("gateway"), gwOwner: addr("gatewayowner"),
		miner: addr("miner"), minerOwner: addr("minerowner"), payer: addr("payer"), price: price}
	m.netuid = f.CreateSubnet(m.owner, func(h *subnettypes.Hyperparams) {
		h.Tempo, h.CommitRevealEnabled, h.WeightsRateLimit, h.ServingRateLimit = tempo, false, 1, 3
		h.PricePerMillionTokens = price
	})
	f.MustRegister(m.netuid, m.gw, m.gwOwner)
	f.MustRegister(m.netuid, m.miner, m.minerOwner)
	f.Fund(m.gwOwner, 1_000_000)
	if err := f.AddStake(m.netuid, m.gw, m.gwOwner, 1_000_000); err != nil {
		t.Fatal(err)
	}
	f.Advance(2 * tempo) // an epoch hands out permits
	if n, _ := f.Subnet.NeuronByHotkey(f.Ctx, m.netuid, m.gw); !n.ValidatorPermit {
		t.Fatal("the gateway hotkey got no validator permit")
	}
	// The supply before anything was issued or burned.
	issued, _ := f.Emission.GetTotalIssued(f.Ctx)
	burned, _ := f.Emission.GetTotalBurned(f.Ctx)
	m.genesisSupply = f.Bank.GetSupply(f.Ctx, keepertest.Denom).Amount.Sub(issued).Add(burned).Sub(f.Minted)
	m.Fund(m.payer, 100_000_000)
	return m
}

func keyHash(key string) string {
	s := sha256.Sum256([]byte(key))
	return hex.EncodeToString(s[:])
}

func (m *market) open(payer sdk.AccAddress, key string, deposit int64, edit func(*types.MsgOpenAccount)) (uint64, error) {
	msg := &types.MsgOpenAccount{Payer: payer.String(), Netuid: m.netuid, KeyHash: keyHash(key),
		Deposit: sdkmath.NewInt(deposit), SpendLimitPerEpoch: sdkmath.ZeroInt()}
	if edit != nil {
		edit(msg)
	}
	var id uint64
	err := m.Run(func(ctx sdk.Context) error {
		res, err := m.PaymentMsg.OpenAccount(ctx, msg)
		if err == nil {
			id = res.AccountId
		}
		return err
	})
	return id, err
}

func (m *market) mustOpen(key string, deposit int64) uint64 {
	m.t.Helper()
	id, err := m.open(m.payer, key, deposit, nil)
	if err != nil {
		m.t.Fatal(err)
	}
	return id
}

func (m *market) settle(gw sdk.AccAddress, items ...types.UsageItem) (*types.MsgSettleUsageResponse, error) {
	var resp *types.MsgSettleUsageResponse
	err := m.Run(func(ctx sdk.Context) (err error) {
		resp, err = m.PaymentMsg.SettleUsage(ctx, &types.MsgSettleUsage{Gateway: gw.String(), Netuid: m.netuid, Items: items})
		return err
	})
	return resp, err
}

func (m *market) mustSettle(items ...types.UsageItem) *types.MsgSettleUsageResponse {
	m.t.Helper()
	resp, err := m.settle(m.gw, items...)
	if err != nil {
		m.t.Fatal(err)
	}
	return resp
}

// allow replaces an account's allowed-gateways list, as its payer, and
// returns the event the change emitted.
func (m *market) allow(id uint64, gateways ...sdk.AccAddress) *types.EventAccountUpdated {
	m.t.Helper()
	list := make([]string, len(gateways))
	for i, g := range gateways {
		list[i] = g.String()
	}
	var ev *types.EventAccountUpdated
	if err := m.Run(func(ctx sdk.Context) error {
		ctx = ctx.WithEventManager(sdk.NewEventManager())
		if _, err := m.PaymentMsg.UpdateAccount(ctx, &types.MsgUpdateAccount{Payer: m.payer.String(), AccountId: id,
			SetAllowedGateways: true, AllowedGateways: list, SpendLimitPerEpoch: sdkmath.ZeroInt()}); err != nil {
			return err
		}
		for _, e := range ctx.EventManager().ABCIEvents() {
			if typed, err := sdk.ParseTypedEvent(e); err == nil {
				if u, ok := typed.(*types.EventAccountUpdated); ok {
					ev = u
				}
			}
		}
		return nil
	}); err != nil {
		m.t.Fatal(err)
	}
	if ev == nil {
		m.t.Fatal("no EventAccountUpdated")
	}
	return ev
}

func item(id, tokens, requests uint64) types.UsageItem {
	return types.UsageItem{AccountId: id, CumulativeTokens: tokens, CumulativeRequests: requests}
}

func (m *market) account(id uint64) types.Account {
	m.t.Helper()
	a, err := m.Payment.GetAccount(m.Ctx, id)
	if err != nil {
		m.t.Fatal(err)
	}
	return a
}

// checkBooks asserts the money invariants: x/payment holds exactly the
// accounts' balances, x/emission exactly pending + carry, and the supply is
// genesis + minted + issued − burned.
func (m *market) checkBooks() {
	m.t.Helper()
	want, err := m.Payment.AccountedBalance(m.Ctx)
	if err != nil {
		m.t.Fatal(err)
	}
	if got := m.ModuleBalance(types.ModuleName); !got.Equal(want) {
		m.t.Fatalf("x/payment holds %s, accounts' balances sum to %s", got, want)
	}
	m.checkSubnetIndex()
	want, err = m.Emission.AccountedBalance(m.Ctx)
	if err != nil {
		m.t.Fatal(err)
	}
	if got := m.ModuleBalance("emission"); !got.Equal(want) {
		m.t.Fatalf("x/emission holds %s, pending + carry = %s", got, want)
	}
	issued, _ := m.Emission.GetTotalIssued(m.Ctx)
	burned, err := m.Emission.GetTotalBurned(m.Ctx)
	if err != nil {
		m.t.Fatal(err)
	}
	supply := m.Bank.GetSupply(m.Ctx, keepertest.Denom).Amount
	if want := m.genesisSupply.Add(m.Minted).Add(issued).Sub(burned); !supply.Equal(want) {
		m.t.Fatalf("supply %s != genesis %s + minted %s + issued %s − burned %s", supply, m.genesisSupply, m.Minted, issued, burned)
	}
}

func collectionsJoin(h int64, id uint64) collections.Pair[int64, uint64] {
	return collections.Join(h, id)
}

// checkSubnetIndex: the subnet index lists exactly the stored accounts, each
// under its own subnet.
func (m *market) checkSubnetIndex() {
	m.t.Helper()
	accounts, indexed := 0, 0
	if err := m.Payment.Accounts.Walk(m.Ctx, nil, func(id uint64, a types.Account) (bool, error) {
		accounts++
		if ok, err := m.Payment.SubnetIndex.Has(m.Ctx, collections.Join(a.Netuid, id)); err != nil || !ok {
			m.t.Fatalf("account %d of subnet %d is not in the subnet index", id, a.Netuid)
		}
		return false, nil
	}); err != nil {
		m.t.Fatal(err)
	}
	if err := m.Payment.SubnetIndex.Walk(m.Ctx, nil, func(collections.Pair[uint32, uint64]) (bool, error) {
		indexed++
		return false, nil
	}); err != nil {
		m.t.Fatal(err)
	}
	if indexed != accounts {
		m.t.Fatalf("subnet index has %d entries for %d accounts", indexed, accounts)
	}
}
