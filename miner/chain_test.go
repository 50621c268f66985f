package miner

import (
	"github.com/meritnet/merit/client/chain/chaintest"
	"github.com/meritnet/merit/inference"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// newFakeChain is a chaintest chain at height 10 with one subnet whose task
// is the built-in model.
func newFakeChain(netuid uint32) *chaintest.Chain {
	return chaintest.New(subnettypes.Subnet{
		Netuid: netuid, Name: "test",
		Task:        subnettypes.Task{ModelName: inference.TinyName, ModelSha256: inference.TinySHA256, EngineFormat: subnettypes.EngineLlama2c, MaxTokens: 64},
		Hyperparams: subnettypes.DefaultHyperparams(),
	}, 10)
}

// published is hotkey's endpoint on the fake chain.
func published(f *chaintest.Chain, hotkey string) subnettypes.Endpoint {
	var ep subnettypes.Endpoint
	f.Update(func(s *chaintest.State) {
		if n := s.Neuron(hotkey); n != nil {
			ep = n.Neuron.Endpoint
		}
	})
	return ep
}
