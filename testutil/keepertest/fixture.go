// Package keepertest wires Merit's keepers with the SDK's real auth and bank
// keepers over an in-memory IAVL multistore, for keeper tests of every module.
// Messages run through Run, which keeps their writes only on success, as a
// transaction does; Advance moves blocks and runs EndBlock in the app's order.
package keepertest

import (
	"strings"
	"testing"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	dbm "github.com/cosmos/cosmos-db"

	"cosmossdk.io/log/v2"
	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/codec"
	addresscodec "github.com/cosmos/cosmos-sdk/codec/address"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	cryptocodec "github.com/cosmos/cosmos-sdk/crypto/codec"
	"github.com/cosmos/cosmos-sdk/runtime"
	"github.com/cosmos/cosmos-sdk/store/v2"
	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authkeeper "github.com/cosmos/cosmos-sdk/x/auth/keeper"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	bankkeeper "github.com/cosmos/cosmos-sdk/x/bank/keeper"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	emissionkeeper "github.com/meritnet/merit/x/emission/keeper"
	emissiontypes "github.com/meritnet/merit/x/emission/types"
	paymentkeeper "github.com/meritnet/merit/x/payment/keeper"
	paymenttypes "github.com/meritnet/merit/x/payment/types"
	scoringkeeper "github.com/meritnet/merit/x/scoring/keeper"
	scoringtypes "github.com/meritnet/merit/x/scoring/types"
	subnetkeeper "github.com/meritnet/merit/x/subnet/keeper"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// Denom is the staking denom of the fixture.
const Denom = "umerit"

// faucet is a test-only module account that mints the funds tests hand out.
const faucet = "faucet"

// ModelSha is a valid task model hash for tests.
var ModelSha = strings.Repeat("ab", 32)

func init() {
	sdk.GetConfig().SetBech32PrefixForAccount("merit", "meritpub")
}

// Fixture holds the keepers and the current block context.
type Fixture struct {
	T   testing.TB
	Ctx sdk.Context
	CMS storetypes.CommitMultiStore

	Bank bankkeeper.BaseKeeper

	Subnet      subnetkeeper.Keeper
	SubnetMsg   subnettypes.MsgServer
	SubnetQuery subnettypes.QueryServer

	Scoring      scoringkeeper.Keeper
	ScoringMsg   scoringtypes.MsgServer
	ScoringQuery scoringtypes.QueryServer

	// Emission is wired only with WithEmission: without it blocks issue nothing.
	Emission      emissionkeeper.Keeper
	EmissionMsg   emissiontypes.MsgServer
	EmissionQuery emissiontypes.QueryServer
	emissionOn    bool

	Payment      paymentkeeper.Keeper
	PaymentMsg   paymenttypes.MsgServer
	PaymentQuery paymenttypes.QueryServer

	Gov string
	// Minted is every umerit Fund has created, so supply checks can tell the
	// test's own money from issuance.
	Minted sdkmath.Int
}

// Option changes how New wires the fixture.
type Option func(*options)

type options struct{ emission bool }

// WithEmission wires x/emission: blocks issue rewards and epochs pay them.
func WithEmission() Option { return func(o *options) { o.emission = true } }

// New builds a fixture at block 1 with default genesis for every module.
func New(t testing.TB, opts ...Option) *Fixture {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	keys := storetypes.NewKVStoreKeys(authtypes.StoreKey, banktypes.StoreKey, subnettypes.StoreKey, scoringtypes.StoreKey, emissiontypes.StoreKey, paymenttypes.StoreKey)
	// Each store gets its own prefix of one in-memory DB so the multistore can commit.
	cms := store.NewCommitMultiStore(dbm.NewMemDB(), log.NewNopLogger())
	for _, key := range keys {
		cms.MountStoreWithDB(key, storetypes.StoreTypeIAVL, nil)
	}
	if err := cms.LoadLatestVersion(); err != nil {
		t.Fatal(err)
	}
	ctx := sdk.NewContext(cms, cmtproto.Header{}, false, log.NewNopLogger()).WithBlockHeight(1)

	registry := codectypes.NewInterfaceRegistry()
	authtypes.RegisterInterfaces(registry)
	banktypes.RegisterInterfaces(registry)
	cryptocodec.RegisterInterfaces(registry)
	subnettypes.RegisterInterfaces(registry)
	scoringtypes.RegisterInterfaces(registry)
	emissiontypes.RegisterInterfaces(registry)
	paymenttypes.RegisterInterfaces(registry)
	cdc := codec.NewProtoCodec(registry)

	ac := addresscodec.NewBech32Codec("merit")
	gov := authtypes.NewModuleAddress("gov").String()
	perms := map[string][]string{
		subnettypes.ModuleName:     {authtypes.Burner},
		faucet:                     {authtypes.Minter},
		"emission":                 {authtypes.Minter, authtypes.Burner},
		paymenttypes.ModuleName:    nil,
		authtypes.FeeCollectorName: nil,
	}
	ak := authkeeper.NewAccountKeeper(cdc, runtime.NewKVStoreService(keys[authtypes.StoreKey]), authtypes.ProtoBaseAccount, perms, ac, "merit", gov)
	bk := bankkeeper.NewBaseKeeper(cdc, runtime.NewKVStoreService(keys[banktypes.StoreKey]), ak, map[string]bool{}, gov, log.NewNopLogger())
	sk, err := subnetkeeper.NewKeeper(cdc, runtime.NewKVStoreService(keys[subnettypes.StoreKey]), ac, bk, Denom, gov)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scoringkeeper.NewKeeper(cdc, runtime.NewKVStoreService(keys[scoringtypes.StoreKey]), ac, sk, gov)
	if err != nil {
		t.Fatal(err)
	}
	sk.SetHooks(sc.Hooks())
	ek, err := emissionkeeper.NewKeeper(cdc, runtime.NewKVStoreService(keys[emissiontypes.StoreKey]), ac, bk, sk,
		Denom, authtypes.FeeCollectorName, subnettypes.ModuleName, gov)
	if err != nil {
		t.Fatal(err)
	}
	if o.emission {
		sc.SetEmissionKeeper(ek)
	}
	pk, err := paymentkeeper.NewKeeper(cdc, runtime.NewKVStoreService(keys[paymenttypes.StoreKey]), ac, bk, sk, sc, ek,
		Denom, emissiontypes.ModuleName, gov)
	if err != nil {
		t.Fatal(err)
	}
	if err := pk.InitGenesis(ctx, paymenttypes.DefaultGenesis()); err != nil {
		t.Fatal(err)
	}
	if err := ek.InitGenesis(ctx, emissiontypes.DefaultGenesis()); err != nil {
		t.Fatal(err)
	}
	if err := sk.InitGenesis(ctx, subnettypes.DefaultGenesis()); err != nil {
		t.Fatal(err)
	}
	if err := sc.InitGenesis(ctx, scoringtypes.DefaultGenesis()); err != nil {
		t.Fatal(err)
	}
	return &Fixture{
		T: t, Ctx: ctx, CMS: cms, Bank: bk,
		Subnet: sk, SubnetMsg: subnetkeeper.NewMsgServerImpl(sk), SubnetQuery: subnetkeeper.NewQueryServerImpl(sk),
		Scoring: sc, ScoringMsg: scoringkeeper.NewMsgServerImpl(sc), ScoringQuery: scoringkeeper.NewQueryServerImpl(sc),
		Emission: ek, EmissionMsg: emissionkeeper.NewMsgServerImpl(ek), EmissionQuery: emissionkeeper.NewQueryServerImpl(ek),
		emissionOn: o.emission,
		Payment:    pk, PaymentMsg: paymentkeeper.NewMsgServerImpl(pk), PaymentQuery: paymentkeeper.NewQueryServerImpl(pk),
		Gov: gov, Minted: sdkmath.ZeroInt(),
	}
}

// Addr is a deterministic test address derived from a name.
func Addr(name string) sdk.AccAddress {
	b := make([]byte, 20)
	copy(b, name)
	return b
}

// Fund mints amount umerit into a.
func (f *Fixture) Fund(a sdk.AccAddress, amount int64) {
	f.T.Helper()
	coins := sdk.NewCoins(sdk.NewInt64Coin(Denom, amount))
	if err := f.Bank.MintCoins(f.Ctx, faucet, coins); err != nil {
		f.T.Fatal(err)
	}
	if err := f.Bank.SendCoinsFromModuleToAccount(f.Ctx, faucet, a, coins); err != nil {
		f.T.Fatal(err)
	}
	f.Minted = f.Minted.AddRaw(amount)
}

// Balance is a's umerit balance.
func (f *Fixture) Balance(a sdk.AccAddress) sdkmath.Int {
	return f.Bank.GetBalance(f.Ctx, a, Denom).Amount
}

// ModuleBalance is a module account's umerit balance.
func (f *Fixture) ModuleBalance(name string) sdkmath.Int {
	return f.Balance(authtypes.NewModuleAddress(name))
}

// Run executes fn like a transaction: all of its writes, or none.
func (f *Fixture) Run(fn func(ctx sdk.Context) error) error {
	cache, write := f.Ctx.CacheContext()
	if err := fn(cache); err != nil {
		return err
	}
	write()
	return nil
}

// Commit writes the working state as a node does at the end of every block,
// so reads and iterators run against a committed tree.
func (f *Fixture) Commit() { f.CMS.Commit() }

// Advance moves n blocks forward, running EndBlock at each: x/subnet,
// x/emission (if wired), x/scoring, then x/payment, as the app orders them.
func (f *Fixture) Advance(n int64) {
	f.T.Helper()
	for i := int64(0); i < n; i++ {
		f.Ctx = f.Ctx.WithBlockHeight(f.Ctx.BlockHeight() + 1)
		if err := f.Subnet.EndBlocker(f.Ctx); err != nil {
			f.T.Fatal(err)
		}
		if f.emissionOn {
			if err := f.Emission.EndBlocker(f.Ctx); err != nil {
				f.T.Fatal(err)
			}
		}
		if err := f.Scoring.EndBlocker(f.Ctx); err != nil {
			f.T.Fatal(err)
		}
		if err := f.Payment.EndBlocker(f.Ctx); err != nil {
			f.T.Fatal(err)
		}
	}
}

// AdvanceTo moves to the given height (no-op if already there or past it).
func (f *Fixture) AdvanceTo(height int64) {
	if d := height - f.Ctx.BlockHeight(); d > 0 {
		f.Advance(d)
	}
}

// Task is a valid subnet task for tests.
func Task() subnettypes.Task {
	return subnettypes.Task{ModelName: "merit-tiny", ModelSha256: ModelSha, EngineFormat: subnettypes.EngineLlama2c, MaxTokens: 64}
}

// CreateSubnet opens a subnet owned by owner (funding the lock) and applies edit to its hyperparameters.
func (f *Fixture) CreateSubnet(owner sdk.AccAddress, edit func(*subnettypes.Hyperparams)) uint32 {
	f.T.Helper()
	cost, err := f.Subnet.LockCost(f.Ctx)
	if err != nil {
		f.T.Fatal(err)
	}
	f.Fund(owner, cost.Int64())
	var res *subnettypes.MsgCreateSubnetResponse
	if err := f.Run(func(ctx sdk.Context) (err error) {
		res, err = f.SubnetMsg.CreateSubnet(ctx, &subnettypes.MsgCreateSubnet{Owner: owner.String(), Name: "test", Task: Task(), MaxLock: sdkmath.ZeroInt()})
		return err
	}); err != nil {
		f.T.Fatalf("create subnet: %v", err)
	}
	if edit != nil {
		f.EditHyperparams(res.Netuid, owner, edit)
	}
	return res.Netuid
}

// EditHyperparams applies edit to a subnet's hyperparameters as its owner.
func (f *Fixture) EditHyperparams(netuid uint32, owner sdk.AccAddress, edit func(*subnettypes.Hyperparams)) {
	f.T.Helper()
	s, err := f.Subnet.GetSubnet(f.Ctx, netuid)
	if err != nil {
		f.T.Fatal(err)
	}
	h := s.Hyperparams
	edit(&h)
	if err := f.Run(func(ctx sdk.Context) error {
		_, err := f.SubnetMsg.UpdateSubnetHyperparams(ctx, &subnettypes.MsgUpdateSubnetHyperparams{Sender: owner.String(), Netuid: netuid, Hyperparams: h})
		return err
	}); err != nil {
		f.T.Fatalf("update hyperparams: %v", err)
	}
}

// Register funds hotkey with the current price and registers it.
func (f *Fixture) Register(netuid uint32, hotkey, owner sdk.AccAddress) (*subnettypes.MsgRegisterNeuronResponse, error) {
	price, err := f.Subnet.RegistrationPrice(f.Ctx, netuid)
	if err != nil {
		return nil, err
	}
	f.Fund(hotkey, price.Int64())
	var res *subnettypes.MsgRegisterNeuronResponse
	err = f.Run(func(ctx sdk.Context) (err error) {
		res, err = f.SubnetMsg.RegisterNeuron(ctx, &subnettypes.MsgRegisterNeuron{Hotkey: hotkey.String(), Owner: owner.String(), Netuid: netuid, MaxBurn: price})
		return err
	})
	return res, err
}

// MustRegister is Register that fails the test on error and returns the UID.
func (f *Fixture) MustRegister(netuid uint32, hotkey, owner sdk.AccAddress) uint32 {
	f.T.Helper()
	res, err := f.Register(netuid, hotkey, owner)
	if err != nil {
		f.T.Fatalf("register %s: %v", hotkey, err)
	}
	return res.Uid
}

// AddStake stakes amount from delegator to hotkey (the delegator must hold it).
func (f *Fixture) AddStake(netuid uint32, hotkey, delegator sdk.AccAddress, amount int64) error {
	return f.Run(func(ctx sdk.Context) error {
		_, err := f.SubnetMsg.AddStake(ctx, &subnettypes.MsgAddStake{Delegator: delegator.String(), Hotkey: hotkey.String(), Netuid: netuid, Amount: sdkmath.NewInt(amount)})
		return err
	})
}

// RemoveStake unstakes amount into the unbonding queue.
func (f *Fixture) RemoveStake(netuid uint32, hotkey, delegator sdk.AccAddress, amount int64) error {
	return f.Run(func(ctx sdk.Context) error {
		_, err := f.SubnetMsg.RemoveStake(ctx, &subnettypes.MsgRemoveStake{Delegator: delegator.String(), Hotkey: hotkey.String(), Netuid: netuid, Amount: sdkmath.NewInt(amount)})
		return err
	})
}

// CheckSubnetBalance asserts the x/subnet invariant: the module account holds
// exactly stakes + unbonding + locks, and derived totals match the records.
func (f *Fixture) CheckSubnetBalance() {
	f.T.Helper()
	want, err := f.Subnet.AccountedBalance(f.Ctx)
	if err != nil {
		f.T.Fatal(err)
	}
	if got := f.ModuleBalance(subnettypes.ModuleName); !got.Equal(want) {
		f.T.Fatalf("x/subnet holds %s != stakes + unbonding + locks %s", got, want)
	}
	if err := f.Subnet.CheckTotals(f.Ctx); err != nil {
		f.T.Fatal(err)
	}
}

// ExpectErr fails unless err is non-nil and, when want is set, contains want's message.
func ExpectErr(t testing.TB, err error, want error) {
	t.Helper()
	if err == nil {
		t.Fatalf("expected %v, got success", want)
	}
	if want != nil && !strings.Contains(err.Error(), want.Error()) {
		t.Fatalf("expected %v, got %v", want, err)
	}
}
