package app_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"

	sdkmath "cosmossdk.io/math"

	simtestutil "github.com/cosmos/cosmos-sdk/testutil/sims"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	govtypes "github.com/cosmos/cosmos-sdk/x/gov/types"
	govv1 "github.com/cosmos/cosmos-sdk/x/gov/types/v1"

	"github.com/meritnet/merit/app"
	emissiontypes "github.com/meritnet/merit/x/emission/types"
	scoringtypes "github.com/meritnet/merit/x/scoring/types"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

func TestChainProducesBlocksFromDefaultGenesis(t *testing.T) {
	c := newTestChain(t, nil)
	for i := 0; i < 4; i++ {
		c.nextBlock()
	}
	if h := c.app.LastBlockHeight(); h != 5 {
		t.Fatalf("height = %d, want 5", h)
	}
	if len(c.app.LastCommitID().Hash) == 0 {
		t.Fatal("no app hash after commit")
	}
	p, err := c.app.SubnetKeeper.Params.Get(c.ctx())
	if err != nil || !p.MinLockCost.Equal(subnettypes.DefaultParams().MinLockCost) {
		t.Fatalf("subnet params after boot = %v, %v", p, err)
	}
	// A plain transfer goes through the ante handler and signature checks.
	send := c.signedTx(1, banktypesSend(c.addr(1), c.addr(2), 5))
	if res := c.nextBlock(send); res[0].Code != 0 {
		t.Fatalf("bank send failed: %s", res[0].Log)
	}
}

func TestGenesisExportImportRoundTrip(t *testing.T) {
	custom := func(gen app.GenesisState) {
		cdc := newApp(t).AppCodec()
		sg := subnettypes.DefaultGenesis()
		sg.Params.SubnetLimit, sg.Params.UnbondingPeriod = 7, 1234
		gen[subnettypes.ModuleName] = cdc.MustMarshalJSON(sg)
		cp := scoringtypes.DefaultParams()
		cp.MaxEpochsPerBlock = 3
		gen[scoringtypes.ModuleName] = cdc.MustMarshalJSON(&scoringtypes.GenesisState{Params: cp})
		ep := emissiontypes.DefaultParams()
		ep.InitialBlockReward = sdkmath.NewInt(424242)
		gen[emissiontypes.ModuleName] = cdc.MustMarshalJSON(&emissiontypes.GenesisState{Params: ep})
	}
	c := newTestChain(t, custom)
	c.nextBlock()
	c.nextBlock()

	first, err := c.app.ExportAppStateAndValidators(false, nil, nil)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	if len(first.Validators) != 1 {
		t.Fatalf("exported %d validators, want 1", len(first.Validators))
	}

	// Start a second chain from the exported state and read its state back
	// right after InitChain, before any block changes it.
	b := newApp(t)
	if _, err := b.InitChain(&abci.RequestInitChain{
		ChainId: testChainID, ConsensusParams: simtestutil.DefaultConsensusParams,
		AppStateBytes: first.AppState, InitialHeight: first.Height,
	}); err != nil {
		t.Fatalf("init from export: %v", err)
	}
	ctx := b.NewContextLegacy(false, cmtproto.Header{Height: first.Height})
	s2, err := b.ModuleManager.ExportGenesisForModules(ctx, b.AppCodec(), nil)
	if err != nil {
		t.Fatalf("second export: %v", err)
	}
	var s1 map[string]json.RawMessage
	if err := json.Unmarshal(first.AppState, &s1); err != nil {
		t.Fatal(err)
	}
	compact := func(raw json.RawMessage) string {
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	for _, m := range []string{subnettypes.ModuleName, scoringtypes.ModuleName, emissiontypes.ModuleName, "bank", "staking"} {
		if compact(s1[m]) != compact(s2[m]) {
			t.Errorf("%s genesis differs after import:\n first: %s\nsecond: %s", m, s1[m], s2[m])
		}
	}
	if !strings.Contains(string(s1[subnettypes.ModuleName]), `"subnet_limit": 7`) {
		t.Errorf("custom subnet params were not exported: %s", s1[subnettypes.ModuleName])
	}
}

func TestGovernanceUpdatesSubnetParams(t *testing.T) {
	c := newTestChain(t, nil)
	gov := authtypes.NewModuleAddress(govtypes.ModuleName).String()
	want := subnettypes.DefaultParams()
	want.SubnetLimit = 99
	want.MinStakeAmount = sdkmath.NewInt(5_000)
	update := &subnettypes.MsgUpdateParams{Authority: gov, Params: want}

	// Sent directly by an ordinary account, the update is refused.
	direct := &subnettypes.MsgUpdateParams{Authority: c.addr(1).String(), Params: want}
	res := c.nextBlock(c.signedTx(1, direct))
	if res[0].Code != subnettypes.ErrInvalidSigner.ABCICode() || res[0].Codespace != subnettypes.ModuleName {
		t.Fatalf("direct update: code %d codespace %q log %q; want authority error", res[0].Code, res[0].Codespace, res[0].Log)
	}
	if p, _ := c.app.SubnetKeeper.Params.Get(c.ctx()); p.SubnetLimit != subnettypes.DefaultParams().SubnetLimit {
		t.Fatalf("rejected update changed params: %v", p)
	}

	// Through governance: proposal, the chain validator votes yes, voting period ends.
	govParams, err := c.app.GovKeeper.Params.Get(c.ctx())
	if err != nil {
		t.Fatal(err)
	}
	proposal, err := govv1.NewMsgSubmitProposal([]sdk.Msg{update}, govParams.MinDeposit, c.addr(0).String(),
		"", "Raise the subnet limit", "Allow 99 subnets", false)
	if err != nil {
		t.Fatal(err)
	}
	res = c.nextBlock(c.signedTx(0, proposal))
	if res[0].Code != 0 {
		t.Fatalf("submit proposal: %s", res[0].Log)
	}
	res = c.nextBlock(c.signedTx(0, govv1.NewMsgVote(c.addr(0), 1, govv1.OptionYes, "")))
	if res[0].Code != 0 {
		t.Fatalf("vote: %s", res[0].Log)
	}
	if p, _ := c.app.SubnetKeeper.Params.Get(c.ctx()); p.SubnetLimit == 99 {
		t.Fatal("params changed before the voting period ended")
	}
	for i := 0; i < int(testVotingTime/testBlockTime)+1; i++ {
		c.nextBlock()
	}
	prop, err := c.app.GovKeeper.Proposals.Get(c.ctx(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if prop.Status != govv1.StatusPassed {
		t.Fatalf("proposal status %s (%s), want passed", prop.Status, prop.FailedReason)
	}
	got, err := c.app.SubnetKeeper.Params.Get(c.ctx())
	if err != nil {
		t.Fatal(err)
	}
	if got.SubnetLimit != 99 || !got.MinStakeAmount.Equal(sdkmath.NewInt(5_000)) {
		t.Fatalf("params after proposal = %+v", got)
	}
}
