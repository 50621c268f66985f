package keeper_test

import (
	"bytes"
	"testing"

	"github.com/meritnet/merit/x/subnet/types"
)

func TestGenesisRoundTripAllState(t *testing.T) {
	f := newFixture(t)
	owner := addr("owner")
	netuid := f.CreateSubnet(owner, func(h *types.Hyperparams) { h.Tempo = 7 })
	f.CreateSubnet(addr("owner2"), nil)
	for _, name := range []string{"a", "b", "c"} {
		f.MustRegister(netuid, addr(name), owner)
	}
	f.Fund(addr("d"), 100_000)
	if err := f.AddStake(netuid, addr("b"), addr("d"), 70_000); err != nil {
		t.Fatal(err)
	}
	if err := f.RemoveStake(netuid, addr("b"), addr("d"), 20_000); err != nil {
		t.Fatal(err)
	}
	setEmission(t, f, netuid, 2, 1234)

	exported, err := f.Subnet.ExportGenesis(f.Ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(exported.Subnets) != 2 || len(exported.Neurons) != 1 || len(exported.Stakes) != 1 || len(exported.Unbondings) != 1 || len(exported.Hotkeys) != 3 {
		t.Fatalf("export misses state: %d subnets, %d neuron groups, %d stakes, %d unbondings, %d hotkeys",
			len(exported.Subnets), len(exported.Neurons), len(exported.Stakes), len(exported.Unbondings), len(exported.Hotkeys))
	}

	g := newFixture(t)
	g.Ctx = g.Ctx.WithBlockHeight(f.Ctx.BlockHeight())
	if err := g.Subnet.InitGenesis(g.Ctx, exported); err != nil {
		t.Fatal(err)
	}
	again, err := g.Subnet.ExportGenesis(g.Ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := exported.Marshal()
	b, _ := again.Marshal()
	if !bytes.Equal(a, b) {
		t.Fatalf("genesis differs after import:\n%v\n%v", exported, again)
	}
	if err := g.Subnet.CheckTotals(g.Ctx); err != nil {
		t.Fatal(err)
	}
	// Indexes were rebuilt: lookups by hotkey and the metagraph work.
	n, err := g.Subnet.NeuronByHotkey(g.Ctx, netuid, addr("c"))
	if err != nil || n.Uid != 2 {
		t.Fatalf("hotkey index after import: %v %v", n, err)
	}
	mg, err := g.Subnet.Metagraph(g.Ctx, netuid)
	if err != nil || len(mg.Neurons) != 3 || mg.Neurons[1].Stake.Int64() != 50_000 {
		t.Fatalf("metagraph after import: %v %v", mg, err)
	}
}

func TestGenesisValidateRejectsBadState(t *testing.T) {
	gs := types.DefaultGenesis()
	gs.Subnets = []types.Subnet{{Netuid: 5, Task: task(), Hyperparams: types.DefaultHyperparams()}}
	if err := gs.Validate(); err == nil {
		t.Fatal("subnet beyond next_netuid accepted")
	}
	gs = types.DefaultGenesis()
	gs.Params.SubnetLimit = 0
	if err := gs.Validate(); err == nil {
		t.Fatal("zero subnet limit accepted")
	}
}
