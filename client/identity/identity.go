// Package identity loads a daemon's hotkey from a Cosmos keyring and signs
// with it. Miners and validators use an Identity both to authenticate
// transport messages (client/transport) and, through its keyring, to sign
// chain transactions.
package identity

import (
	"errors"
	"fmt"
	"sync"

	"github.com/cosmos/cosmos-sdk/codec/address"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	cryptotypes "github.com/cosmos/cosmos-sdk/crypto/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"
	"github.com/cosmos/cosmos-sdk/types/tx/signing"
)

// Bech32Prefix is the account address prefix of the Merit chain.
const Bech32Prefix = "merit"

// addressCodec is explicit so that nothing here depends on the process-wide
// sdk.Config prefix, which other code may or may not have set.
var addressCodec = address.NewBech32Codec(Bech32Prefix)

// Identity is a named secp256k1 key in a keyring. It is safe for concurrent
// use.
type Identity struct {
	name   string
	pub    *secp256k1.PubKey
	addr   sdk.AccAddress
	bech32 string
	kr     keyring.Keyring
	priv   cryptotypes.PrivKey // only with WithCachedKey

	// signMu serialises keyring signing: the file-based backends unlock
	// lazily without a lock of their own, and OS stores gain nothing from
	// parallel calls.
	signMu sync.Mutex
}

// LoadOption configures Load.
type LoadOption func(*loadOptions)

type loadOptions struct{ cacheKey bool }

// WithCachedKey keeps the decrypted private key of a local key in memory and
// signs with it directly. Without it every Sign goes to the keyring backend,
// and the file and test backends decrypt the key file (8192 PBKDF2 rounds)
// on every call, i.e. milliseconds per signature; a miner signing every
// response wants this. It has no effect on keys held by a Ledger.
func WithCachedKey() LoadOption {
	return func(o *loadOptions) { o.cacheKey = true }
}

// Load reads key name from kr. Only secp256k1 keys are accepted, because chain
// accounts are secp256k1, and only keys this process can sign with (local or
// Ledger), because an identity exists to sign.
func Load(kr keyring.Keyring, name string, opts ...LoadOption) (*Identity, error) {
	if kr == nil {
		return nil, errors.New("identity: nil keyring")
	}
	if name == "" {
		return nil, fmt.Errorf("identity: %w: empty key name", ErrKeyNotFound)
	}
	var o loadOptions
	for _, opt := range opts {
		opt(&o)
	}

	rec, err := kr.Key(name)
	if err != nil {
		if errors.Is(err, sdkerrors.ErrKeyNotFound) {
			return nil, fmt.Errorf("identity: %w: %q in %s keyring", ErrKeyNotFound, name, kr.Backend())
		}
		return nil, fmt.Errorf("identity: read key %q: %w", name, err)
	}
	pk, err := rec.GetPubKey()
	if err != nil {
		return nil, fmt.Errorf("identity: key %q: %w", name, err)
	}
	pub, ok := pk.(*secp256k1.PubKey)
	if !ok {
		return nil, fmt.Errorf("identity: %w: key %q is %s, want %s", ErrWrongKeyType, name, pk.Type(), (&secp256k1.PubKey{}).Type())
	}
	if rec.GetLocal() == nil && rec.GetLedger() == nil {
		return nil, fmt.Errorf("identity: %w: key %q is a %s record (public key only)", ErrCannotSign, name, rec.GetType())
	}

	addr := sdk.AccAddress(pub.Address())
	bech, err := addressCodec.BytesToString(addr)
	if err != nil {
		return nil, fmt.Errorf("identity: key %q: encode address: %w", name, err)
	}
	id := &Identity{name: name, pub: pub, addr: addr, bech32: bech, kr: kr}

	if o.cacheKey && rec.GetLocal() != nil {
		priv, ok := rec.GetLocal().PrivKey.GetCachedValue().(*secp256k1.PrivKey)
		if !ok || !priv.PubKey().Equals(pub) {
			return nil, fmt.Errorf("identity: key %q: private key unavailable or inconsistent with its public key", name)
		}
		id.priv = priv
	}
	return id, nil
}

// Name is the key's name in the keyring.
func (id *Identity) Name() string { return id.name }

// Address is the bech32 account address (merit1…).
func (id *Identity) Address() string { return id.bech32 }

// AccAddress is the raw 20-byte account address.
func (id *Identity) AccAddress() sdk.AccAddress { return id.addr }

// PubKey is the key's public key; its concrete type is always
// *secp256k1.PubKey (see Secp256k1PubKey).
func (id *Identity) PubKey() cryptotypes.PubKey { return id.pub }

// Secp256k1PubKey is PubKey with its concrete type.
func (id *Identity) Secp256k1PubKey() *secp256k1.PubKey { return id.pub }

// Keyring is the keyring the key lives in, for signing transactions.
func (id *Identity) Keyring() keyring.Keyring { return id.kr }

// Sign returns the 64-byte r||s (low-S) ECDSA signature of sha256(msg).
//
// Ledger keys are loaded but cannot sign arbitrary bytes: the device only
// signs transactions it can display, so Sign reports the keyring's error.
func (id *Identity) Sign(msg []byte) ([]byte, error) {
	if id.priv != nil {
		return id.priv.Sign(msg)
	}
	// The sign mode matters only to Ledger, which rejects DIRECT up front
	// rather than showing the user an unreadable blob to approve.
	id.signMu.Lock()
	sig, pub, err := id.kr.Sign(id.name, msg, signing.SignMode_SIGN_MODE_DIRECT)
	id.signMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("identity: sign with %q: %w", id.name, err)
	}
	if pub == nil || !pub.Equals(id.pub) {
		return nil, fmt.Errorf("identity: sign with %q: %w", id.name, ErrKeyChanged)
	}
	return sig, nil
}
