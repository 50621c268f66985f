package chain

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/client"
	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"
	txtypes "github.com/cosmos/cosmos-sdk/types/tx"
	"github.com/cosmos/cosmos-sdk/types/tx/signing"
	authsigning "github.com/cosmos/cosmos-sdk/x/auth/signing"

	"github.com/meritnet/merit/client/identity"
	"github.com/meritnet/merit/internal/backoff"
)

// Polling for inclusion starts fast (blocks can be sub-second on local
// chains) and backs off to a second.
const (
	pollMin = 100 * time.Millisecond
	pollMax = time.Second
)

// Broadcast signs msgs with signer's key (SIGN_MODE_DIRECT), simulates gas,
// broadcasts (sync) and waits for the tx to be in a block.
//
// Errors: a *TxError at StageSimulate or StageCheckTx when the node refused
// the tx (nothing is in a block); the TxResult and a *TxError at
// StageDeliver when the tx is in a block but failed; ErrInclusionTimeout
// when it passed CheckTx but no block had it in time.
func (c *Client) Broadcast(ctx context.Context, signer *identity.Identity, msgs ...sdk.Msg) (*TxResult, error) {
	if c.isClosed() {
		return nil, fmt.Errorf("chain: broadcast: %w", ErrClosed)
	}
	if len(msgs) == 0 {
		return nil, errors.New("chain: broadcast: no messages")
	}
	for i, m := range msgs {
		if m == nil || (reflect.ValueOf(m).Kind() == reflect.Pointer && reflect.ValueOf(m).IsNil()) {
			return nil, fmt.Errorf("chain: broadcast: message %d is nil", i)
		}
	}
	if signer == nil {
		return nil, errors.New("chain: broadcast: nil signer")
	}
	hash, err := c.submit(ctx, signer, msgs)
	if err != nil {
		return nil, err
	}
	return c.waitIncluded(ctx, hash)
}

// Sequence-mismatch recovery: how many times one tx is rebuilt, and the
// pause before each rebuild. The node's check state is reset to committed
// state at every commit and only then replays its mempool, so right after
// a block it can report a sequence below the one pending txs need; a short
// pause lets that replay finish.
const (
	seqAttempts = 8
	seqPauseMin = 50 * time.Millisecond
	seqPauseMax = time.Second
)

// submit gets one tx of signer into the mempool and returns its hash. It
// holds the signer's account lock throughout, and rebuilds the tx after a
// sequence mismatch (another client, the CLI, or a tx that left the
// mempool moved the sequence under us), a bounded number of times.
func (c *Client) submit(ctx context.Context, signer *identity.Identity, msgs []sdk.Msg) (string, error) {
	addr := signer.Address()
	acc := c.seqs.get(addr)
	acc.mu.Lock()
	defer acc.mu.Unlock()

	if !acc.loaded {
		if err := c.loadAccount(ctx, addr, acc); err != nil {
			return "", err
		}
	}
	pause := backoff.New(seqPauseMin, seqPauseMax)
	var lower lowerSighting
	for attempt := 1; ; attempt++ {
		hash, err := c.trySubmit(ctx, signer, acc, msgs)
		if err == nil {
			acc.sequence++
			return hash, nil
		}
		var te *TxError
		if !errors.As(err, &te) {
			if errors.Is(err, errSentUnknown) {
				// The node may or may not have taken the tx: trust nothing
				// we tracked and read the account again next time.
				acc.loaded = false
			}
			return "", err
		}
		if !isSequenceMismatch(te) {
			// Refused before the ante handler incremented anything: the
			// tracked sequence is still the next one.
			return "", err
		}
		if attempt == seqAttempts {
			acc.loaded = false
			return "", fmt.Errorf("%w (still a sequence mismatch after %d attempts)", err, seqAttempts)
		}
		changed, rerr := c.resync(ctx, addr, acc, te, &lower)
		if rerr != nil {
			acc.loaded = false
			return "", fmt.Errorf("%w; refetching the account: %w", err, rerr)
		}
		// Another sender moved the sequence on: rebuild at once. Otherwise
		// the node's view is catching up: give it a moment.
		if changed && attempt == 1 {
			continue
		}
		if werr := pause.Wait(ctx); werr != nil {
			return "", fmt.Errorf("%w; %w", err, werr)
		}
	}
}

// errSentUnknown marks broadcast failures after which the tx may or may
// not be in the node's mempool.
var errSentUnknown = errors.New("broadcast outcome unknown")

func (c *Client) trySubmit(ctx context.Context, signer *identity.Identity, acc *account, msgs []sdk.Msg) (string, error) {
	b := c.enc.txConfig.NewTxBuilder()
	if err := b.SetMsgs(msgs...); err != nil {
		return "", fmt.Errorf("chain: broadcast: %w", err)
	}
	if err := checkSigners(b, signer); err != nil {
		return "", err
	}

	// Simulate with the real signer info and an empty signature (the ante
	// handler skips verification but charges for it), and with a token fee
	// when fees are due so that the fee deduction is priced too.
	if c.gasPrice.IsPositive() {
		b.SetFeeAmount(sdk.NewCoins(sdk.NewInt64Coin(Denom, 1)))
	}
	if err := setSignature(b, signer, acc.sequence, nil); err != nil {
		return "", fmt.Errorf("chain: broadcast: %w", err)
	}
	simBytes, err := c.enc.txConfig.TxEncoder()(b.GetTx())
	if err != nil {
		return "", fmt.Errorf("chain: broadcast: encode tx: %w", err)
	}
	used, err := c.simulate(ctx, simBytes)
	if err != nil {
		return "", err
	}

	gas := uint64(math.Ceil(float64(used) * c.cfg.GasAdjustment))
	b.SetGasLimit(gas)
	b.SetFeeAmount(c.fee(gas))

	// The signer info set for simulation stays: the sign bytes cover it,
	// and setting gas and fee leaves it alone.
	signerData := authsigning.SignerData{
		ChainID:       c.chainID,
		AccountNumber: acc.number,
		Sequence:      acc.sequence,
		PubKey:        signer.PubKey(),
		Address:       signer.Address(),
	}
	signBytes, err := authsigning.GetSignBytesAdapter(ctx, c.enc.txConfig.SignModeHandler(), signing.SignMode_SIGN_MODE_DIRECT, signerData, b.GetTx())
	if err != nil {
		return "", fmt.Errorf("chain: broadcast: sign bytes: %w", err)
	}
	// Identity.Sign is ECDSA over sha256(signBytes), exactly what the chain
	// verifies for secp256k1, and it uses the identity's cached key when it
	// has one instead of decrypting the keyring file every time.
	sig, err := signer.Sign(signBytes)
	if err != nil {
		return "", fmt.Errorf("chain: broadcast: %w", err)
	}
	if err := setSignature(b, signer, acc.sequence, sig); err != nil {
		return "", fmt.Errorf("chain: broadcast: %w", err)
	}
	txBytes, err := c.enc.txConfig.TxEncoder()(b.GetTx())
	if err != nil {
		return "", fmt.Errorf("chain: broadcast: encode tx: %w", err)
	}
	hash := strings.ToUpper(hex.EncodeToString(cmttypes.Tx(txBytes).Hash()))

	bctx, cancel := c.reqCtx(ctx)
	defer cancel()
	res, err := c.txSvc.BroadcastTx(bctx, &txtypes.BroadcastTxRequest{TxBytes: txBytes, Mode: txtypes.BroadcastMode_BROADCAST_MODE_SYNC})
	if err != nil {
		return "", c.errClosedIf(fmt.Errorf("chain: broadcast tx %s (gRPC %s): %w: %w", hash, c.cfg.GRPCAddr, errSentUnknown, err))
	}
	if r := res.GetTxResponse(); r == nil {
		return "", fmt.Errorf("chain: broadcast tx %s: %w: empty response", hash, errSentUnknown)
	} else if r.Code != 0 {
		te := &TxError{Stage: StageCheckTx, Hash: hash, Codespace: r.Codespace, Code: r.Code, Log: r.RawLog}
		// The very same bytes are already in the mempool (another process
		// holding this key signed the same messages at the same sequence):
		// that tx is this one, and it will be included.
		if !te.Is(sdkerrors.ErrTxInMempoolCache) {
			return "", te
		}
	}
	return hash, nil
}

// checkSigners refuses messages that need another key than signer's: the
// node would reject the tx anyway, less legibly.
func checkSigners(b client.TxBuilder, signer *identity.Identity) error {
	signers, err := b.GetTx().GetSigners()
	if err != nil {
		return fmt.Errorf("chain: broadcast: signers of the messages: %w", err)
	}
	for _, s := range signers {
		if !bytes.Equal(s, signer.AccAddress()) {
			other, _ := accAddrCodec.BytesToString(s)
			return fmt.Errorf("chain: broadcast: a message must be signed by %s, not by %s (%s)", other, signer.Address(), signer.Name())
		}
	}
	return nil
}

func setSignature(b client.TxBuilder, signer *identity.Identity, seq uint64, sig []byte) error {
	return b.SetSignatures(signing.SignatureV2{
		PubKey:   signer.PubKey(),
		Data:     &signing.SingleSignatureData{SignMode: signing.SignMode_SIGN_MODE_DIRECT, Signature: sig},
		Sequence: seq,
	})
}

// fee is ceil(gas × gas price) umerit; none when the price is zero.
func (c *Client) fee(gas uint64) sdk.Coins {
	if !c.gasPrice.IsPositive() {
		return sdk.NewCoins()
	}
	amount := c.gasPrice.Mul(sdkmath.LegacyNewDecFromInt(sdkmath.NewIntFromUint64(gas))).Ceil().TruncateInt()
	return sdk.NewCoins(sdk.NewCoin(Denom, amount))
}

// simulate runs the tx through the node's ABCI simulate query and returns
// the gas it used. The ABCI query is used instead of the gRPC tx service
// because it reports a refusal with its codespace and code (the gRPC
// service flattens it into a string), and callers match on those.
func (c *Client) simulate(ctx context.Context, txBytes []byte) (uint64, error) {
	ctx, cancel := c.reqCtx(ctx)
	defer cancel()
	res, err := c.rpc.ABCIQuery(ctx, "/app/simulate", txBytes)
	if err != nil {
		return 0, c.errClosedIf(fmt.Errorf("chain: simulate (RPC %s): %w", c.cfg.RPCAddr, err))
	}
	r := res.Response
	if r.Code != 0 {
		return 0, &TxError{Stage: StageSimulate, Codespace: r.Codespace, Code: r.Code, Log: r.Log}
	}
	// The value is the SDK's SimulationResponse as proto-JSON: uint64 is a
	// quoted decimal.
	var sim struct {
		GasInfo struct {
			GasUsed json.RawMessage `json:"gas_used"`
		} `json:"gas_info"`
	}
	if err := json.Unmarshal(r.Value, &sim); err != nil {
		return 0, fmt.Errorf("chain: simulate: decode result: %w", err)
	}
	used, err := strconv.ParseUint(strings.Trim(string(sim.GasInfo.GasUsed), `"`), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("chain: simulate: bad gas_used %s", sim.GasInfo.GasUsed)
	}
	return used, nil
}

// waitIncluded polls the node's tx index until the tx is in a block.
func (c *Client) waitIncluded(ctx context.Context, hash string) (*TxResult, error) {
	hashBytes, err := hex.DecodeString(hash)
	if err != nil {
		return nil, fmt.Errorf("chain: bad tx hash %q", hash)
	}
	// Each poll is bounded by the inclusion deadline too, so that a node
	// that stops answering cannot stretch the wait.
	wctx, cancel := context.WithTimeout(ctx, c.cfg.InclusionTimeout)
	defer cancel()
	interval := pollMin
	var lastErr error
	for {
		res, err := c.rpc.Tx(wctx, hashBytes, false)
		if err == nil {
			out := &TxResult{
				Hash:      hash,
				Height:    res.Height,
				Code:      res.TxResult.Code,
				Codespace: res.TxResult.Codespace,
				Log:       res.TxResult.Log,
				GasUsed:   res.TxResult.GasUsed,
				Data:      res.TxResult.Data,
			}
			if out.Code != 0 {
				return out, &TxError{Stage: StageDeliver, Hash: hash, Height: out.Height, Codespace: out.Codespace, Code: out.Code, Log: out.Log}
			}
			return out, nil
		}
		switch {
		case strings.Contains(err.Error(), "indexing is disabled"):
			return nil, fmt.Errorf("chain: tx %s was accepted, but the node at %s cannot look it up: %w", hash, c.cfg.RPCAddr, err)
		case wctx.Err() == nil && !strings.Contains(err.Error(), "not found"):
			lastErr = err // the node may be restarting; keep trying until the timeout
		}
		select {
		case <-c.ctx.Done():
			return nil, fmt.Errorf("chain: waiting for tx %s: %w", hash, ErrClosed)
		case <-wctx.Done():
			if ctx.Err() != nil {
				return nil, fmt.Errorf("chain: waiting for tx %s: %w", hash, ctx.Err())
			}
			if lastErr != nil {
				return nil, fmt.Errorf("chain: tx %s: %w after %s (last error: %v)", hash, ErrInclusionTimeout, c.cfg.InclusionTimeout, lastErr)
			}
			return nil, fmt.Errorf("chain: tx %s: %w after %s", hash, ErrInclusionTimeout, c.cfg.InclusionTimeout)
		case <-time.After(interval):
		}
		interval = min(interval*3/2, pollMax)
	}
}
