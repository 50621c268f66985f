package identity

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/cosmos/cosmos-sdk/crypto/hd"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	"github.com/cosmos/cosmos-sdk/crypto/keys/ed25519"
	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/bech32"
)

// The BIP-39 test vector mnemonic; its first Cosmos account (coin type 118)
// is the widely published cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4.
const (
	testMnemonic  = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
	cosmosAddress = "cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4"
)

func newTestKeyring(t *testing.T) (keyring.Keyring, string) {
	t.Helper()
	dir := t.TempDir()
	kr, err := Open(BackendTest, dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return kr, dir
}

func addFixedKey(t *testing.T, kr keyring.Keyring, name string) {
	t.Helper()
	if _, err := kr.NewAccount(name, testMnemonic, "", sdk.FullFundraiserPath, hd.Secp256k1); err != nil {
		t.Fatalf("NewAccount: %v", err)
	}
}

func TestLoadFixedMnemonic(t *testing.T) {
	kr, dir := newTestKeyring(t)
	addFixedKey(t, kr, "hot")

	// Reopen to prove the key was persisted where the test backend keeps it.
	kr, err := Open(BackendTest, dir)
	if err != nil {
		t.Fatal(err)
	}
	id, err := Load(kr, "hot")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	_, want, err := bech32.DecodeAndConvert(cosmosAddress)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(id.AccAddress(), want) {
		t.Fatalf("address bytes %X, want %X", id.AccAddress().Bytes(), want)
	}
	if !strings.HasPrefix(id.Address(), "merit1") {
		t.Fatalf("address %q lacks merit1 prefix", id.Address())
	}
	if hrp, bz, err := bech32.DecodeAndConvert(id.Address()); err != nil || hrp != "merit" || !bytes.Equal(bz, want) {
		t.Fatalf("address %q does not decode to the key's bytes: hrp=%q err=%v", id.Address(), hrp, err)
	}
	if id.Name() != "hot" || id.Keyring() == nil || id.Keyring().Backend() != BackendTest {
		t.Fatal("name or keyring not kept")
	}
	if !bytes.Equal(id.PubKey().Address(), want) || id.Secp256k1PubKey() == nil {
		t.Fatal("public key does not hash to the address")
	}

	msg := []byte("merit")
	sig, err := id.Sign(msg)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if len(sig) != 64 || !id.PubKey().VerifySignature(msg, sig) {
		t.Fatalf("signature (%d bytes) does not verify", len(sig))
	}
}

func TestLoadNewMnemonic(t *testing.T) {
	kr, _ := newTestKeyring(t)
	if _, _, err := kr.NewMnemonic("fresh", keyring.English, sdk.FullFundraiserPath, "", hd.Secp256k1); err != nil {
		t.Fatal(err)
	}
	id, err := Load(kr, "fresh")
	if err != nil {
		t.Fatal(err)
	}
	sig, err := id.Sign([]byte("x"))
	if err != nil || !id.PubKey().VerifySignature([]byte("x"), sig) {
		t.Fatalf("sign/verify failed: %v", err)
	}
}

func TestCachedKeySignsLikeKeyring(t *testing.T) {
	kr, _ := newTestKeyring(t)
	addFixedKey(t, kr, "hot")
	viaKeyring, err := Load(kr, "hot")
	if err != nil {
		t.Fatal(err)
	}
	cached, err := Load(kr, "hot", WithCachedKey())
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("same bytes")
	a, err := viaKeyring.Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := cached.Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	// RFC 6979 nonces make secp256k1 signatures deterministic.
	if !bytes.Equal(a, b) {
		t.Fatal("cached key signs differently from the keyring")
	}
}

func TestOpenUnknownBackend(t *testing.T) {
	for _, b := range []string{"", "kwallet", "TEST", "ledger"} {
		if _, err := Open(b, t.TempDir()); !errors.Is(err, ErrUnknownBackend) {
			t.Errorf("Open(%q): err = %v, want ErrUnknownBackend", b, err)
		}
	}
}

func TestLoadMissingKey(t *testing.T) {
	kr, _ := newTestKeyring(t)
	for _, name := range []string{"nope", ""} {
		if _, err := Load(kr, name); !errors.Is(err, ErrKeyNotFound) {
			t.Errorf("Load(%q): err = %v, want ErrKeyNotFound", name, err)
		}
	}
	if _, err := Load(nil, "x"); err == nil {
		t.Error("Load(nil keyring) succeeded")
	}
}

func TestLoadWrongKeyType(t *testing.T) {
	kr, _ := newTestKeyring(t)
	if _, err := kr.SaveOfflineKey("ed", ed25519.GenPrivKey().PubKey()); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(kr, "ed"); !errors.Is(err, ErrWrongKeyType) {
		t.Fatalf("err = %v, want ErrWrongKeyType", err)
	}
}

func TestLoadPublicKeyOnly(t *testing.T) {
	kr, _ := newTestKeyring(t)
	if _, err := kr.SaveOfflineKey("watch", secp256k1.GenPrivKey().PubKey()); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(kr, "watch"); !errors.Is(err, ErrCannotSign) {
		t.Fatalf("err = %v, want ErrCannotSign", err)
	}
}

func TestSignDetectsReplacedKey(t *testing.T) {
	kr, _ := newTestKeyring(t)
	addFixedKey(t, kr, "hot")
	id, err := Load(kr, "hot")
	if err != nil {
		t.Fatal(err)
	}
	if err := kr.Delete("hot"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := kr.NewMnemonic("hot", keyring.English, sdk.FullFundraiserPath, "", hd.Secp256k1); err != nil {
		t.Fatal(err)
	}
	if _, err := id.Sign([]byte("x")); !errors.Is(err, ErrKeyChanged) {
		t.Fatalf("err = %v, want ErrKeyChanged", err)
	}
}

func TestFileBackendPassphrase(t *testing.T) {
	dir := t.TempDir()
	const pass = "correct horse battery"
	kr, err := Open(BackendFile, dir, WithPassphrase(pass))
	if err != nil {
		t.Fatal(err)
	}
	if kr.Backend() != BackendFile {
		t.Fatalf("Backend() = %q", kr.Backend())
	}
	addFixedKey(t, kr, "hot")

	// The passphrase arrives the way a daemon reads a secrets file.
	kr, err = Open(BackendFile, dir, WithPassphraseReader(strings.NewReader(pass+"\r\nignored\n")))
	if err != nil {
		t.Fatal(err)
	}
	id, err := Load(kr, "hot")
	if err != nil {
		t.Fatal(err)
	}
	if sig, err := id.Sign([]byte("x")); err != nil || !id.PubKey().VerifySignature([]byte("x"), sig) {
		t.Fatalf("sign: %v", err)
	}

	cases := []struct {
		name string
		opts []Option
		want error
	}{
		{"none", nil, ErrPassphraseRequired},
		{"wrong", []Option{WithPassphrase("wrong horse battery")}, ErrWrongPassphrase},
		{"short", []Option{WithPassphrase("short")}, ErrPassphraseTooShort},
		{"empty reader", []Option{WithPassphraseReader(strings.NewReader(""))}, ErrPassphraseTooShort},
	}
	for _, c := range cases {
		if _, err := Open(BackendFile, dir, c.opts...); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := Open(BackendFile, dir, WithPassphraseReader(strings.NewReader(strings.Repeat("a", maxPassphraseBytes+1)))); err == nil {
		t.Error("oversized passphrase accepted")
	}
}

// Daemons sign from many goroutines.
func TestConcurrentSign(t *testing.T) {
	dir := t.TempDir()
	const pass = "correct horse battery"
	kr, err := Open(BackendFile, dir, WithPassphrase(pass))
	if err != nil {
		t.Fatal(err)
	}
	addFixedKey(t, kr, "hot")
	if kr, err = Open(BackendFile, dir, WithPassphrase(pass)); err != nil {
		t.Fatal(err)
	}
	id, err := Load(kr, "hot")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := []byte{byte(i)}
			if sig, err := id.Sign(msg); err != nil || !id.PubKey().VerifySignature(msg, sig) {
				t.Errorf("sign: %v", err)
			}
		}()
	}
	wg.Wait()
}

func TestMemoryBackend(t *testing.T) {
	kr, err := Open(BackendMemory, "")
	if err != nil {
		t.Fatal(err)
	}
	addFixedKey(t, kr, "hot")
	if _, err := Load(kr, "hot"); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkSign shows why daemons that sign every message want WithCachedKey.
func BenchmarkSign(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts []LoadOption
	}{{"keyring-test-backend", nil}, {"cached", []LoadOption{WithCachedKey()}}} {
		b.Run(bc.name, func(b *testing.B) {
			kr, err := Open(BackendTest, b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			if _, err := kr.NewAccount("hot", testMnemonic, "", sdk.FullFundraiserPath, hd.Secp256k1); err != nil {
				b.Fatal(err)
			}
			id, err := Load(kr, "hot", bc.opts...)
			if err != nil {
				b.Fatal(err)
			}
			msg := []byte("merit-req-v1\nPOST\n/v1/completions")
			for b.Loop() {
				if _, err := id.Sign(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
