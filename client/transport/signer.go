package transport

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/cosmos/cosmos-sdk/codec/address"
	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	cryptotypes "github.com/cosmos/cosmos-sdk/crypto/types"
)

// Bech32Prefix is the account prefix signer and receiver addresses must use.
// It equals identity.Bech32Prefix (a test checks); it is repeated so that
// the wire format does not depend on how keys are stored.
const Bech32Prefix = "merit"

var addressCodec = address.NewBech32Codec(Bech32Prefix)

// Signer is the hotkey a message is signed with. *identity.Identity
// implements it.
type Signer interface {
	// Address is the bech32 account address of PubKey.
	Address() string
	// PubKey must be a *secp256k1.PubKey.
	PubKey() cryptotypes.PubKey
	// Sign returns the 64-byte r||s low-S ECDSA signature of sha256(msg).
	Sign(msg []byte) ([]byte, error)
}

// keySigner signs with an in-memory key: tests, benchmarks and tools.
type keySigner struct {
	priv *secp256k1.PrivKey
	addr string
}

// NewKeySigner wraps a raw private key. Daemons should prefer an
// identity.Identity loaded from their keyring.
func NewKeySigner(priv *secp256k1.PrivKey) (Signer, error) {
	if priv == nil || len(priv.Key) != secp256k1.PrivKeySize {
		return nil, errors.New("transport: invalid secp256k1 private key")
	}
	addr, err := addressCodec.BytesToString(priv.PubKey().Address())
	if err != nil {
		return nil, err
	}
	return keySigner{priv: priv, addr: addr}, nil
}

func (s keySigner) Address() string                 { return s.addr }
func (s keySigner) PubKey() cryptotypes.PubKey      { return s.priv.PubKey() }
func (s keySigner) Sign(msg []byte) ([]byte, error) { return s.priv.Sign(msg) }

// checkSigner catches a Signer whose address and key disagree at
// construction, instead of as an unexplained bad_pubkey at the peer.
func checkSigner(s Signer) (*secp256k1.PubKey, error) {
	if s == nil {
		return nil, errors.New("transport: nil signer")
	}
	pk, ok := s.PubKey().(*secp256k1.PubKey)
	if !ok || len(pk.Key) != secp256k1.PubKeySize {
		return nil, fmt.Errorf("transport: signer key must be compressed secp256k1, got %T", s.PubKey())
	}
	raw, err := decodeAddress(s.Address())
	if err != nil {
		return nil, fmt.Errorf("transport: signer address: %w", err)
	}
	if !bytes.Equal(raw, pk.Address()) {
		return nil, errors.New("transport: signer address does not belong to its public key")
	}
	return pk, nil
}
