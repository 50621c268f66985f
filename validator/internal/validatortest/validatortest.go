// Package validatortest holds what the tests of the validator's packages
// share: hotkeys, the built-in reference model, and real miners (the
// merit-miner server in-process on loopback) to call.
package validatortest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/cosmos/cosmos-sdk/crypto/hd"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/client/identity"
	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/miner"
	"github.com/meritnet/merit/validator/miners"
	"github.com/meritnet/merit/validator/reference"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// NewIdentity makes a fresh secp256k1 hotkey in an in-memory keyring.
func NewIdentity(t testing.TB, name string) *identity.Identity {
	t.Helper()
	kr, err := identity.Open(identity.BackendMemory, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := kr.NewMnemonic(name, keyring.English, sdk.FullFundraiserPath, "", hd.Secp256k1); err != nil {
		t.Fatal(err)
	}
	id, err := identity.Load(kr, name, identity.WithCachedKey())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

var (
	tinyOnce sync.Once
	tinyEng  *inference.LocalEngine
	tinyRef  *reference.Reference
	tinyErr  error
)

// TinyReference is the built-in merit-tiny engine and a reference on it,
// loaded once per test binary.
func TinyReference(t testing.TB) (*inference.LocalEngine, *reference.Reference) {
	t.Helper()
	tinyOnce.Do(func() {
		if tinyEng, tinyErr = inference.TinyEngine(inference.Options{}); tinyErr != nil {
			return
		}
		task := subnettypes.Task{ModelName: inference.TinyName, ModelSha256: inference.TinySHA256, EngineFormat: "llama2c", MaxTokens: 24}
		tinyRef, tinyErr = reference.New(context.Background(), task, reference.Config{})
	})
	if tinyErr != nil {
		t.Fatal(tinyErr)
	}
	return tinyEng, tinyRef
}

// Disguised serves one model while claiming to be another, as a cheating
// miner would (the real miner refuses requests for a model it does not
// announce, so the cheat must lie about its id).
type Disguised struct {
	inference.Engine
	Claimed inference.ModelInfo
}

// Info is the claimed model's.
func (d Disguised) Info() inference.ModelInfo { return d.Claimed }

// StartMiner runs merit-miner's real HTTP server in-process on loopback.
func StartMiner(t testing.TB, uid uint16, e inference.Engine) miners.Miner {
	t.Helper()
	id := NewIdentity(t, "miner")
	srv, err := miner.NewServer(miner.ServerConfig{Engine: e, Signer: id, MaxTokens: func() int { return 24 }, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return miners.Miner{UID: uid, Hotkey: id.Address(), Address: strings.TrimPrefix(hs.URL, "http://"), ModelID: e.Info().ID}
}

// KeysFile writes an API keys file (gateway.LoadAPIKeys) and returns its path.
func KeysFile(t testing.TB, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Post sends body to url with key as its Bearer token ("" for none) and
// returns the response with its whole body.
func Post(t testing.TB, url, key, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// KeyHash is what an x/payment account stores of its API key: the hex
// sha256 of the key.
func KeyHash(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// HeaderUint reads a header that must hold a whole number (the gateway's
// cost headers).
func HeaderUint(t testing.TB, h http.Header, name string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(h.Get(name), 10, 64)
	if err != nil {
		t.Fatalf("header %s = %q: %v", name, h.Get(name), err)
	}
	return v
}
