package keeper_test

import (
	"fmt"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	dbm "github.com/cosmos/cosmos-db"
	"strings"
	"testing"

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

	"github.com/meritnet/merit/x/subnet/keeper"
	"github.com/meritnet/merit/x/subnet/types"
)

const denom = "umerit"

var testModelSha = strings.Repeat("ab", 32)

func init() {
	cfg := sdk.GetConfig()
	cfg.SetBech32PrefixForAccount("merit", "meritpub")
}

// fixture runs x/subnet with real auth and bank keepers over an in-memory
// IAVL store. Messages go through run, which gives them a cache context and
// keeps their writes only on success, as a transaction does.
type fixture struct {
	t    testing.TB
	ctx  sdk.Context
	k    keeper.Keeper
	msg  types.MsgServer
	q    types.QueryServer
	bank bankkeeper.BaseKeeper
	gov  string
	// minted is everything funded into accounts, for supply checks.
	minted sdkmath.Int
}

type noHooks struct{ replaced, dissolved []string }

func newFixture(t testing.TB) *fixture {
	t.Helper()
	keys := storetypes.NewKVStoreKeys(authtypes.StoreKey, banktypes.StoreKey, types.StoreKey)
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
	types.RegisterInterfaces(registry)
	cdc := codec.NewProtoCodec(registry)

	ac := addresscodec.NewBech32Codec("merit")
	gov := authtypes.NewModuleAddress("gov").String()
	perms := map[string][]string{types.ModuleName: {authtypes.Burner}, "faucet": {authtypes.Minter}}
	ak := authkeeper.NewAccountKeeper(cdc, runtime.NewKVStoreService(keys[authtypes.StoreKey]), authtypes.ProtoBaseAccount, perms, ac, "merit", gov)
	bk := bankkeeper.NewBaseKeeper(cdc, runtime.NewKVStoreService(keys[banktypes.StoreKey]), ak, map[string]bool{}, gov, log.NewNopLogger())
	k, err := keeper.NewKeeper(cdc, runtime.NewKVStoreService(keys[types.StoreKey]), ac, bk, denom, gov)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.InitGenesis(ctx, types.DefaultGenesis()); err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, ctx: ctx, k: k, msg: keeper.NewMsgServerImpl(k), q: keeper.NewQueryServerImpl(k), bank: bk, gov: gov, minted: sdkmath.ZeroInt()}
}

func addr(name string) sdk.AccAddress {
	b := make([]byte, 20)
	copy(b, name)
	return b
}

func (f *fixture) fund(a sdk.AccAddress, amount int64) {
	f.t.Helper()
	coins := sdk.NewCoins(sdk.NewInt64Coin(denom, amount))
	if err := f.bank.MintCoins(f.ctx, "faucet", coins); err != nil {
		f.t.Fatal(err)
	}
	if err := f.bank.SendCoinsFromModuleToAccount(f.ctx, "faucet", a, coins); err != nil {
		f.t.Fatal(err)
	}
	f.minted = f.minted.AddRaw(amount)
}

func (f *fixture) balance(a sdk.AccAddress) sdkmath.Int {
	return f.bank.GetBalance(f.ctx, a, denom).Amount
}

func (f *fixture) moduleBalance() sdkmath.Int {
	return f.balance(authtypes.NewModuleAddress(types.ModuleName))
}

// run executes fn like a transaction: all of its writes, or none.
func (f *fixture) run(fn func(ctx sdk.Context) error) error {
	cache, write := f.ctx.CacheContext()
	if err := fn(cache); err != nil {
		return err
	}
	write()
	return nil
}

// commit writes the working state as a node does at the end of every block,
// so reads and iterators run against a committed tree.
func (f *fixture) commit() {
	f.t.Helper()
	cms, ok := f.ctx.MultiStore().(storetypes.CommitMultiStore)
	if !ok {
		f.t.Fatal("fixture store is not a CommitMultiStore")
	}
	cms.Commit()
}

// advance moves n blocks forward, running EndBlock at each.
func (f *fixture) advance(n int64) {
	f.t.Helper()
	for i := int64(0); i < n; i++ {
		f.ctx = f.ctx.WithBlockHeight(f.ctx.BlockHeight() + 1)
		if err := f.k.EndBlocker(f.ctx); err != nil {
			f.t.Fatal(err)
		}
	}
}

func task() types.Task {
	return types.Task{ModelName: "merit-tiny", ModelSha256: testModelSha, EngineFormat: types.EngineLlama2c, MaxTokens: 64}
}

// createSubnet opens a subnet owned by owner (funding it) and optionally edits its hyperparameters.
func (f *fixture) createSubnet(owner sdk.AccAddress, edit func(*types.Hyperparams)) uint32 {
	f.t.Helper()
	cost, err := f.k.LockCost(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	f.fund(owner, cost.Int64())
	var res *types.MsgCreateSubnetResponse
	if err := f.run(func(ctx sdk.Context) (err error) {
		res, err = f.msg.CreateSubnet(ctx, &types.MsgCreateSubnet{Owner: owner.String(), Name: "test", Task: task(), MaxLock: sdkmath.ZeroInt()})
		return err
	}); err != nil {
		f.t.Fatalf("create subnet: %v", err)
	}
	if edit != nil {
		s, _ := f.k.GetSubnet(f.ctx, res.Netuid)
		h := s.Hyperparams
		edit(&h)
		if err := f.run(func(ctx sdk.Context) error {
			_, err := f.msg.UpdateSubnetHyperparams(ctx, &types.MsgUpdateSubnetHyperparams{Sender: owner.String(), Netuid: res.Netuid, Hyperparams: h})
			return err
		}); err != nil {
			f.t.Fatalf("update hyperparams: %v", err)
		}
	}
	return res.Netuid
}

// register funds hotkey with enough for the current price and registers it.
func (f *fixture) register(netuid uint32, hotkey, owner sdk.AccAddress) (*types.MsgRegisterNeuronResponse, error) {
	price, err := f.k.RegistrationPrice(f.ctx, netuid)
	if err != nil {
		return nil, err
	}
	f.fund(hotkey, price.Int64())
	var res *types.MsgRegisterNeuronResponse
	err = f.run(func(ctx sdk.Context) (err error) {
		res, err = f.msg.RegisterNeuron(ctx, &types.MsgRegisterNeuron{Hotkey: hotkey.String(), Owner: owner.String(), Netuid: netuid, MaxBurn: price})
		return err
	})
	return res, err
}

func (f *fixture) mustRegister(netuid uint32, hotkey, owner sdk.AccAddress) uint32 {
	f.t.Helper()
	res, err := f.register(netuid, hotkey, owner)
	if err != nil {
		f.t.Fatalf("register %s: %v", hotkey, err)
	}
	return res.Uid
}

func (f *fixture) addStake(netuid uint32, hotkey, delegator sdk.AccAddress, amount int64) error {
	return f.run(func(ctx sdk.Context) error {
		_, err := f.msg.AddStake(ctx, &types.MsgAddStake{Delegator: delegator.String(), Hotkey: hotkey.String(), Netuid: netuid, Amount: sdkmath.NewInt(amount)})
		return err
	})
}

func (f *fixture) removeStake(netuid uint32, hotkey, delegator sdk.AccAddress, amount int64) error {
	return f.run(func(ctx sdk.Context) error {
		_, err := f.msg.RemoveStake(ctx, &types.MsgRemoveStake{Delegator: delegator.String(), Hotkey: hotkey.String(), Netuid: netuid, Amount: sdkmath.NewInt(amount)})
		return err
	})
}

// checkModuleBalance asserts the x/subnet invariant.
func (f *fixture) checkModuleBalance() {
	f.t.Helper()
	want, err := f.k.AccountedBalance(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	if got := f.moduleBalance(); !got.Equal(want) {
		f.t.Fatalf("module balance %s != stakes + unbonding + locks %s", got, want)
	}
}

func expectErr(t testing.TB, err error, want error) {
	t.Helper()
	if err == nil {
		t.Fatalf("expected %v, got success", want)
	}
	if want != nil && !strings.Contains(err.Error(), want.Error()) {
		t.Fatalf("expected %v, got %v", want, err)
	}
}

var _ = fmt.Sprintf
