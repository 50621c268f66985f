package miner

import (
	"context"
	"errors"
	"fmt"
	"sync"

	sdkmath "cosmossdk.io/math"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/gogoproto/proto"

	"github.com/meritnet/merit/client/chain"
	"github.com/meritnet/merit/client/identity"
	"github.com/meritnet/merit/inference"
	emissiontypes "github.com/meritnet/merit/x/emission/types"
	scoringtypes "github.com/meritnet/merit/x/scoring/types"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// fakeChain is an in-memory chain.Chain for fast unit tests: one subnet,
// endpoint updates with the serving rate limit, a block stream the test
// drives. Integration tests use a real meritd instead.
type fakeChain struct {
	mu         sync.Mutex
	height     int64
	mg         subnettypes.QueryMetagraphResponse
	broadcasts []sdk.Msg
	failNext   error // returned by the next Broadcast
	down       bool  // queries fail
	blocks     chan chain.Block
}

func newFakeChain(netuid uint32) *fakeChain {
	hp := subnettypes.DefaultHyperparams()
	return &fakeChain{
		height: 10,
		blocks: make(chan chain.Block, 16),
		mg: subnettypes.QueryMetagraphResponse{
			Subnet: subnettypes.Subnet{
				Netuid: netuid, Name: "test",
				Task:        subnettypes.Task{ModelName: inference.TinyName, ModelSha256: inference.TinySHA256, EngineFormat: subnettypes.EngineLlama2c, MaxTokens: 64},
				Hyperparams: hp,
			},
			RegistrationPrice: sdkmath.NewInt(1000),
		},
	}
}

// addNeuron registers hotkey with stake and permit.
func (f *fakeChain) addNeuron(hotkey string, stake int64, permit bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	uid := uint32(len(f.mg.Neurons))
	f.mg.Neurons = append(f.mg.Neurons, subnettypes.MetagraphNeuron{
		Neuron: subnettypes.Neuron{Uid: uid, Hotkey: hotkey, Owner: hotkey, RegisteredAt: f.height, ValidatorPermit: permit, LastEmission: sdkmath.ZeroInt()},
		Stake:  sdkmath.NewInt(stake),
	})
}

func (f *fakeChain) removeNeuron(hotkey string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.mg.Neurons[:0]
	for _, n := range f.mg.Neurons {
		if n.Neuron.Hotkey != hotkey {
			out = append(out, n)
		}
	}
	f.mg.Neurons = out
}

// advance adds n blocks and announces the last one on the stream.
func (f *fakeChain) advance(n int64) {
	f.mu.Lock()
	f.height += n
	h := f.height
	f.mu.Unlock()
	select {
	case f.blocks <- chain.Block{Height: h}:
	default:
	}
}

func (f *fakeChain) neuron(hotkey string) *subnettypes.MetagraphNeuron {
	for i := range f.mg.Neurons {
		if f.mg.Neurons[i].Neuron.Hotkey == hotkey {
			return &f.mg.Neurons[i]
		}
	}
	return nil
}

func (f *fakeChain) sent() []sdk.Msg {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sdk.Msg(nil), f.broadcasts...)
}

var errDown = errors.New("fake chain: connection refused")

func (f *fakeChain) ChainID() string { return "fake-1" }
func (f *fakeChain) Height(context.Context) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.height, nil
}

func (f *fakeChain) Metagraph(_ context.Context, netuid uint32) (*subnettypes.QueryMetagraphResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, errDown
	}
	if netuid != f.mg.Subnet.Netuid {
		return nil, fmt.Errorf("%w: subnet %d", chain.ErrNotFound, netuid)
	}
	out := f.mg
	out.Block = f.height
	out.Neurons = append([]subnettypes.MetagraphNeuron(nil), f.mg.Neurons...)
	return &out, nil
}

func (f *fakeChain) Subnet(ctx context.Context, netuid uint32) (subnettypes.Subnet, error) {
	mg, err := f.Metagraph(ctx, netuid)
	if err != nil {
		return subnettypes.Subnet{}, err
	}
	return mg.Subnet, nil
}

func (f *fakeChain) NeuronByHotkey(ctx context.Context, netuid uint32, hotkey string) (subnettypes.Neuron, error) {
	mg, err := f.Metagraph(ctx, netuid)
	if err != nil {
		return subnettypes.Neuron{}, err
	}
	if n := findNeuron(mg, hotkey); n != nil {
		return n.Neuron, nil
	}
	return subnettypes.Neuron{}, fmt.Errorf("%w: hotkey %s", chain.ErrNotFound, hotkey)
}

func (f *fakeChain) RegistrationPrice(ctx context.Context, netuid uint32) (sdkmath.Int, error) {
	mg, err := f.Metagraph(ctx, netuid)
	if err != nil {
		return sdkmath.Int{}, err
	}
	return mg.RegistrationPrice, nil
}

func (f *fakeChain) EpochState(context.Context, uint32) (*scoringtypes.QueryEpochStateResponse, error) {
	return nil, errors.New("fake chain: not implemented")
}

func (f *fakeChain) Commits(context.Context, uint32, string) ([]scoringtypes.CommitInfo, error) {
	return nil, errors.New("fake chain: not implemented")
}

func (f *fakeChain) NeuronHistory(context.Context, uint32, uint32, uint32) ([]emissiontypes.NeuronEmission, error) {
	return nil, errors.New("fake chain: not implemented")
}

func (f *fakeChain) Balance(context.Context, string) (sdkmath.Int, error) {
	return sdkmath.NewInt(1_000_000_000), nil
}

func (f *fakeChain) Broadcast(_ context.Context, _ *identity.Identity, msgs ...sdk.Msg) (*chain.TxResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.broadcasts = append(f.broadcasts, msgs...)
	if err := f.failNext; err != nil {
		f.failNext = nil
		return nil, err
	}
	h := f.height + 1
	for _, m := range msgs {
		switch msg := m.(type) {
		case *subnettypes.MsgServeEndpoint:
			n := f.neuron(msg.Hotkey)
			if n == nil {
				return nil, subnettypes.ErrNeuronNotFound
			}
			lim := int64(f.mg.Subnet.Hyperparams.ServingRateLimit)
			if n.Neuron.Endpoint.UpdatedAt > 0 && h-n.Neuron.Endpoint.UpdatedAt < lim {
				return nil, subnettypes.ErrRateLimited.Wrapf("next update allowed at %d", n.Neuron.Endpoint.UpdatedAt+lim)
			}
			n.Neuron.Endpoint = subnettypes.Endpoint{Address: msg.Address, ProtocolVersion: msg.ProtocolVersion, ModelId: msg.ModelId, UpdatedAt: h}
		case *subnettypes.MsgRegisterNeuron:
			if f.neuron(msg.Hotkey) != nil {
				return nil, subnettypes.ErrAlreadyRegistered
			}
			if f.mg.RegistrationPrice.GT(msg.MaxBurn) {
				return nil, subnettypes.ErrPriceTooHigh
			}
			uid := uint32(len(f.mg.Neurons))
			f.mg.Neurons = append(f.mg.Neurons, subnettypes.MetagraphNeuron{
				Neuron: subnettypes.Neuron{Uid: uid, Hotkey: msg.Hotkey, Owner: msg.Owner, RegisteredAt: h, LastEmission: sdkmath.ZeroInt()},
				Stake:  sdkmath.ZeroInt(),
			})
			any, err := codectypes.NewAnyWithValue(&subnettypes.MsgRegisterNeuronResponse{Uid: uid, Burned: f.mg.RegistrationPrice})
			if err != nil {
				return nil, err
			}
			data, err := proto.Marshal(&sdk.TxMsgData{MsgResponses: []*codectypes.Any{any}})
			if err != nil {
				return nil, err
			}
			f.height = h
			return &chain.TxResult{Hash: fmt.Sprintf("TX%d", h), Height: h, Data: data}, nil
		default:
			return nil, fmt.Errorf("fake chain: %T not supported", m)
		}
	}
	f.height = h
	return &chain.TxResult{Hash: fmt.Sprintf("TX%d", h), Height: h}, nil
}

func (f *fakeChain) Blocks(ctx context.Context) (<-chan chain.Block, error) {
	out := make(chan chain.Block)
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case b := <-f.blocks:
				select {
				case out <- b:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

func (f *fakeChain) Close() error { return nil }

var _ chain.Chain = (*fakeChain)(nil)
