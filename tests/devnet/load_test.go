package devnet_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/gomega"

	"github.com/cosmos/gogoproto/proto"

	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/client"
	clienttx "github.com/cosmos/cosmos-sdk/client/tx"
	"github.com/cosmos/cosmos-sdk/codec"
	addresscodec "github.com/cosmos/cosmos-sdk/codec/address"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	"github.com/cosmos/cosmos-sdk/std"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/tx/signing"
	authtx "github.com/cosmos/cosmos-sdk/x/auth/tx"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	txsigning "github.com/cosmos/cosmos-sdk/x/tx/signing"

	"github.com/meritnet/merit/testutil/localchain"
	scoringtypes "github.com/meritnet/merit/x/scoring/types"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// signer pre-signs transactions offline with the devnet's test keyring, so
// load can be sent faster than blocks include it.
type signer struct {
	kr  keyring.Keyring
	cfg client.TxConfig
}

func newSigner() *signer {
	registry, err := codectypes.NewInterfaceRegistryWithOptions(codectypes.InterfaceRegistryOptions{
		ProtoFiles: proto.HybridResolver,
		SigningOptions: txsigning.Options{
			AddressCodec:          addresscodec.NewBech32Codec("merit"),
			ValidatorAddressCodec: addresscodec.NewBech32Codec("meritvaloper"),
		},
	})
	Expect(err).NotTo(HaveOccurred())
	std.RegisterInterfaces(registry)
	authtypes.RegisterInterfaces(registry)
	subnettypes.RegisterInterfaces(registry)
	scoringtypes.RegisterInterfaces(registry)
	cdc := codec.NewProtoCodec(registry)
	kr, err := keyring.New("merit", keyring.BackendTest, filepath.Join(localchain.RepoRoot(), "networks", "devnet"), nil, cdc)
	Expect(err).NotTo(HaveOccurred())
	return &signer{kr: kr, cfg: authtx.NewTxConfig(cdc, authtx.DefaultSignModes)}
}

func (s *signer) address(name string) sdk.AccAddress {
	rec, err := s.kr.Key(name)
	Expect(err).NotTo(HaveOccurred())
	a, err := rec.GetAddress()
	Expect(err).NotTo(HaveOccurred())
	return a
}

// sign builds one signed tx from key `name` with the given account number and sequence.
func (s *signer) sign(name string, accNum, seq uint64, msgs ...sdk.Msg) []byte {
	f := clienttx.Factory{}.WithKeybase(s.kr).WithTxConfig(s.cfg).WithChainID("merit-devnet-1").
		WithAccountNumber(accNum).WithSequence(seq).WithGas(300_000).WithSignMode(signing.SignMode_SIGN_MODE_DIRECT)
	b, err := f.BuildUnsignedTx(msgs...)
	Expect(err).NotTo(HaveOccurred())
	Expect(clienttx.Sign(context.Background(), f, name, b, true)).To(Succeed())
	bz, err := s.cfg.TxEncoder()(b.GetTx())
	Expect(err).NotTo(HaveOccurred())
	return bz
}

// account reads an account's number and sequence over REST.
func account(api, addr string) (uint64, uint64) {
	var res struct {
		Account struct {
			AccountNumber string `json:"account_number"`
			Sequence      string `json:"sequence"`
		} `json:"account"`
	}
	Expect(rpcGet(api+"/cosmos/auth/v1beta1/accounts/"+addr, &res)).To(Succeed())
	var n, s uint64
	fmt.Sscan(res.Account.AccountNumber, &n)
	fmt.Sscan(res.Account.Sequence, &s)
	return n, s
}

// broadcastSync posts a tx to CometBFT; it returns the CheckTx code and log.
func broadcastSync(rpc string, tx []byte) (uint32, string, error) {
	body, _ := json.Marshal(map[string]any{
		"jsonrpc": "2.0", "id": 1, "method": "broadcast_tx_sync",
		"params": map[string]any{"tx": base64.StdEncoding.EncodeToString(tx)},
	})
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Post(rpc, "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var out struct {
		Result struct {
			Code uint32 `json:"code"`
			Log  string `json:"log"`
		} `json:"result"`
		Error *struct {
			Message string `json:"message"`
			Data    string `json:"data"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return 0, "", err
	}
	if out.Error != nil {
		return 0, "", fmt.Errorf("%s: %s", out.Error.Message, out.Error.Data)
	}
	return out.Result.Code, out.Result.Log, nil
}

func commitHash(hotkey sdk.AccAddress, i uint64) []byte {
	salt := make([]byte, 8)
	binary.BigEndian.PutUint64(salt, i)
	sum := sha256.Sum256(append(hotkey.Bytes(), salt...))
	return scoringtypes.CommitHash(hotkey, 1, []uint32{uint32(sum[0]) % 64}, []uint32{1 + uint32(sum[1])}, salt, 0)
}

// countIncluded sums, over the heights in [from, to], the txs with code 0.
func countIncluded(rpc string, from, to int64) (ok, failed int) {
	for h := from; h <= to; h++ {
		var res struct {
			Result struct {
				TxsResults []struct {
					Code uint32 `json:"code"`
				} `json:"txs_results"`
			} `json:"result"`
		}
		if rpcGet(fmt.Sprintf("%s/block_results?height=%d", rpc, h), &res) != nil {
			continue
		}
		for _, r := range res.Result.TxsResults {
			if r.Code == 0 {
				ok++
			} else {
				failed++
			}
		}
	}
	return
}

// loadStep sends `rate` tx/s for `d` from `senders` keys in parallel (each key
// sends its own txs in sequence order) and reports CheckTx rejections.
type loadResult struct {
	rate, sent, rejected int
	firstRejection       string
	from, to             int64
}

func runLoad(n *network, s *signer, senders []string, next map[string]uint64, accNums map[string]uint64, rate int, d time.Duration) loadResult {
	res := loadResult{rate: rate, from: n.nodes[0].height() + 1}
	perSender := float64(rate) / float64(len(senders))
	total := int(float64(rate) * d.Seconds())
	var sent, rejected atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	for _, name := range senders {
		name := name
		count := total / len(senders)
		// Sign ahead so sending measures the node, not the signer.
		txs := make([][]byte, count)
		hk := s.address(name)
		// Senders started above update next (under mu) while this one signs.
		mu.Lock()
		first := next[name]
		mu.Unlock()
		for i := range txs {
			seq := first + uint64(i)
			txs[i] = s.sign(name, accNums[name], seq, &scoringtypes.MsgCommitWeights{
				Hotkey: hk.String(), Netuid: 1, CommitHash: commitHash(hk, seq),
			})
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			interval := time.Duration(float64(time.Second) / perSender)
			start := time.Now()
			for i, tx := range txs {
				if time.Now().After(deadline.Add(d)) {
					return
				}
				if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
					time.Sleep(wait)
				}
				code, log, err := broadcastSync(n.nodes[0].rpc, tx)
				sent.Add(1)
				if err != nil || code != 0 {
					rejected.Add(1)
					mu.Lock()
					if res.firstRejection == "" {
						res.firstRejection = fmt.Sprintf("code %d %s %v", code, log, err)
					}
					mu.Unlock()
					// The key's sequence is now off; stop this sender for the step.
					return
				}
				mu.Lock()
				next[name]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.sent, res.rejected = int(sent.Load()), int(rejected.Load())
	res.to = n.nodes[0].height()
	return res
}

// stakeOps adds stake from several user accounts, offline-signed in a burst.
func stakeOps(n *network, s *signer) int {
	sent := 0
	for u := 0; u < 8; u++ {
		name := fmt.Sprintf("user%d", u)
		addr := s.address(name)
		num, seq := account("http://127.0.0.1:27017", addr.String())
		for i := 0; i < 5; i++ {
			hk := s.address(fmt.Sprintf("hk%d", (u*5+i)%64))
			tx := s.sign(name, num, seq+uint64(i), &subnettypes.MsgAddStake{
				Delegator: addr.String(), Hotkey: hk.String(), Netuid: 1, Amount: sdkmath.NewInt(1_000_000),
			})
			code, log, err := broadcastSync(n.nodes[u%4].rpc, tx)
			Expect(err).NotTo(HaveOccurred())
			Expect(code).To(BeZero(), log)
			sent++
		}
	}
	return sent
}

func init() {
	// The SDK still formats addresses through its global config.
	sdk.GetConfig().SetBech32PrefixForAccount("merit", "meritpub")
}
