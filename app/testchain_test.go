package app_test

import (
	"encoding/json"
	"math/rand"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cmttypes "github.com/cometbft/cometbft/types"
	dbm "github.com/cosmos/cosmos-db"

	"cosmossdk.io/log/v2"
	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/baseapp"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	cryptocodec "github.com/cosmos/cosmos-sdk/crypto/codec"
	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	simtestutil "github.com/cosmos/cosmos-sdk/testutil/sims"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
	govv1 "github.com/cosmos/cosmos-sdk/x/gov/types/v1"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	"github.com/meritnet/merit/app"
)

const testChainID = "merit-test-1"

// testChain drives a MeritApp through real ABCI calls: InitChain, then
// FinalizeBlock+Commit per block with signed transactions, as CometBFT would.
type testChain struct {
	t      *testing.T
	app    *app.MeritApp
	accs   []*secp256k1.PrivKey // accs[0] operates the only chain validator
	valSet *cmttypes.ValidatorSet
	time   time.Time
	seqs   map[string]uint64
}

const (
	testBalance    = 1_000_000_000_000 // 1M MERIT per account
	testSelfStake  = 10_000_000_000    // bonded by the chain validator
	testVotingTime = 10 * time.Second
	testBlockTime  = 2 * time.Second
)

func newApp(t *testing.T) *app.MeritApp {
	t.Helper()
	a, err := app.NewMeritApp(log.NewNopLogger(), dbm.NewMemDB(), true, simtestutil.EmptyAppOptions{}, baseapp.SetChainID(testChainID))
	if err != nil {
		t.Fatalf("new app: %v", err)
	}
	return a
}

// newTestChain starts a chain whose genesis has three funded accounts and one
// bonded chain validator operated by the first; edit may change the genesis.
func newTestChain(t *testing.T, edit func(app.GenesisState)) *testChain {
	t.Helper()
	c := &testChain{t: t, app: newApp(t), time: time.Unix(1_800_000_000, 0).UTC(), seqs: map[string]uint64{}}
	for i := 0; i < 3; i++ {
		c.accs = append(c.accs, secp256k1.GenPrivKeyFromSecret([]byte{byte(i + 1)}))
	}
	consKey := ed25519.GenPrivKeyFromSecret([]byte("merit-test-validator"))
	c.valSet = cmttypes.NewValidatorSet([]*cmttypes.Validator{cmttypes.NewValidator(consKey.PubKey(), 1)})

	gen := c.genesis(consKey)
	if edit != nil {
		edit(gen)
	}
	c.initChain(gen)
	// InitChain state is only committed with the first block.
	c.nextBlock()
	return c
}

func (c *testChain) addr(i int) sdk.AccAddress { return sdk.AccAddress(c.accs[i].PubKey().Address()) }

func (c *testChain) genesis(consKey ed25519.PrivKey) app.GenesisState {
	cdc := c.app.AppCodec()
	gen := c.app.DefaultGenesis()

	var accounts []authtypes.GenesisAccount
	var balances []banktypes.Balance
	supply := sdk.NewCoins()
	for i := range c.accs {
		accounts = append(accounts, authtypes.NewBaseAccount(c.addr(i), nil, uint64(i), 0))
		coins := sdk.NewCoins(sdk.NewInt64Coin(app.BondDenom, testBalance))
		balances = append(balances, banktypes.Balance{Address: c.addr(i).String(), Coins: coins})
		supply = supply.Add(coins...)
	}
	gen[authtypes.ModuleName] = cdc.MustMarshalJSON(authtypes.NewGenesisState(authtypes.DefaultParams(), accounts))

	pk, err := cryptocodec.FromCmtPubKeyInterface(consKey.PubKey())
	if err != nil {
		c.t.Fatal(err)
	}
	pkAny, err := codectypes.NewAnyWithValue(pk)
	if err != nil {
		c.t.Fatal(err)
	}
	// Power 1 needs exactly one PowerReduction (10^6) of tokens.
	bonded := sdk.DefaultPowerReduction
	valAddr := sdk.ValAddress(c.addr(0)).String()
	validator := stakingtypes.Validator{
		OperatorAddress:   valAddr,
		ConsensusPubkey:   pkAny,
		Status:            stakingtypes.Bonded,
		Tokens:            bonded,
		DelegatorShares:   sdkmath.LegacyNewDecFromInt(bonded),
		UnbondingTime:     time.Unix(0, 0).UTC(),
		Commission:        stakingtypes.NewCommission(sdkmath.LegacyZeroDec(), sdkmath.LegacyZeroDec(), sdkmath.LegacyZeroDec()),
		MinSelfDelegation: sdkmath.OneInt(),
	}
	delegation := stakingtypes.NewDelegation(c.addr(0).String(), valAddr, sdkmath.LegacyNewDecFromInt(bonded))
	gen[stakingtypes.ModuleName] = cdc.MustMarshalJSON(stakingtypes.NewGenesisState(stakingtypes.DefaultParams(),
		[]stakingtypes.Validator{validator}, []stakingtypes.Delegation{delegation}))

	bondedCoins := sdk.NewCoins(sdk.NewCoin(app.BondDenom, bonded))
	balances = append(balances, banktypes.Balance{
		Address: authtypes.NewModuleAddress(stakingtypes.BondedPoolName).String(), Coins: bondedCoins,
	})
	supply = supply.Add(bondedCoins...)
	gen[banktypes.ModuleName] = cdc.MustMarshalJSON(banktypes.NewGenesisState(banktypes.DefaultParams(), balances, supply, nil, nil))

	var govGen govv1.GenesisState
	cdc.MustUnmarshalJSON(gen["gov"], &govGen)
	vp := testVotingTime
	govGen.Params.VotingPeriod = &vp
	gen["gov"] = cdc.MustMarshalJSON(&govGen)
	return gen
}

func (c *testChain) initChain(gen app.GenesisState) {
	c.t.Helper()
	stateBytes, err := json.Marshal(gen)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.app.InitChain(&abci.RequestInitChain{
		ChainId:         testChainID,
		Time:            c.time,
		ConsensusParams: simtestutil.DefaultConsensusParams,
		AppStateBytes:   stateBytes,
		InitialHeight:   1,
	}); err != nil {
		c.t.Fatalf("init chain: %v", err)
	}
}

// nextBlock finalizes and commits one block carrying txs and returns their results.
func (c *testChain) nextBlock(txs ...[]byte) []*abci.ExecTxResult {
	c.t.Helper()
	c.time = c.time.Add(testBlockTime)
	res, err := c.app.FinalizeBlock(&abci.RequestFinalizeBlock{
		Height:             c.app.LastBlockHeight() + 1,
		Time:               c.time,
		Txs:                txs,
		NextValidatorsHash: c.valSet.Hash(),
	})
	if err != nil {
		c.t.Fatalf("finalize block %d: %v", c.app.LastBlockHeight()+1, err)
	}
	if _, err := c.app.Commit(); err != nil {
		c.t.Fatalf("commit: %v", err)
	}
	return res.TxResults
}

// signedTx builds a transaction from account i, signed with its key and
// current sequence, as a wallet would.
func (c *testChain) signedTx(i int, msgs ...sdk.Msg) []byte {
	c.t.Helper()
	return c.signedTxGas(i, 1_000_000, msgs...)
}

// signedTxGas is signedTx with a gas limit.
func (c *testChain) signedTxGas(i int, gas uint64, msgs ...sdk.Msg) []byte {
	c.t.Helper()
	addr := c.addr(i)
	ctx := c.app.NewContext(true)
	acc := c.app.AccountKeeper.GetAccount(ctx, addr)
	if acc == nil {
		c.t.Fatalf("account %s not found", addr)
	}
	seq := acc.GetSequence()
	tx, err := simtestutil.GenSignedMockTx(rand.New(rand.NewSource(1)), c.app.TxConfig(), msgs,
		sdk.NewCoins(), gas, testChainID, []uint64{acc.GetAccountNumber()}, []uint64{seq}, c.accs[i])
	if err != nil {
		c.t.Fatal(err)
	}
	bz, err := c.app.TxConfig().TxEncoder()(tx)
	if err != nil {
		c.t.Fatal(err)
	}
	return bz
}

func (c *testChain) ctx() sdk.Context { return c.app.NewContext(true) }
