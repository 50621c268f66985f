package identity

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	dkeyring "github.com/99designs/keyring"
	"golang.org/x/crypto/bcrypt"

	"github.com/cosmos/cosmos-sdk/codec"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	cryptocodec "github.com/cosmos/cosmos-sdk/crypto/codec"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"
)

// Backend names accepted by Open. They match the --keyring-backend values of
// meritd, so a daemon and the CLI can share one key directory.
const (
	BackendTest   = keyring.BackendTest
	BackendFile   = keyring.BackendFile
	BackendOS     = keyring.BackendOS
	BackendMemory = keyring.BackendMemory
)

// DefaultAppName is the keyring service name meritd uses (the SDK takes it
// from version.Name, which the Makefile sets to "merit"); the os backend
// stores keys under it, so it must match for daemons to see CLI-created keys.
const DefaultAppName = "merit"

// Directory names the SDK appends to the keyring dir; mirrored so that
// `meritd keys add --keyring-backend file --keyring-dir D` and Open("file", D)
// see the same keys.
const (
	fileDirName = "keyring-file"
	keyhashName = "keyhash"
)

// minPassphraseLen mirrors client/input.MinPassLength of the SDK.
const minPassphraseLen = 8

// maxPassphraseBytes bounds what WithPassphraseReader reads, so pointing it
// at the wrong file cannot exhaust memory.
const maxPassphraseBytes = 4096

// Option configures Open.
type Option func(*options)

type options struct {
	passphrase string
	hasPass    bool
	passReader io.Reader
}

// WithPassphrase supplies the passphrase of the file backend (and of the os
// backend when it falls back to files), e.g. from an environment variable.
func WithPassphrase(p string) Option {
	return func(o *options) { o.passphrase, o.hasPass, o.passReader = p, true, nil }
}

// WithPassphraseReader reads the passphrase from r (its first line, without
// the line ending), e.g. an opened secrets file. r is read once, inside Open.
func WithPassphraseReader(r io.Reader) Option {
	return func(o *options) { o.passReader, o.hasPass = r, false }
}

// Codec returns a codec that can (un)pack the key types stored in a keyring
// (secp256k1, ed25519, secp256r1, multisig). Building it here keeps daemons
// from depending on the chain's app wiring just to read a key.
func Codec() codec.Codec {
	reg := codectypes.NewInterfaceRegistry()
	cryptocodec.RegisterInterfaces(reg)
	return codec.NewProtoCodec(reg)
}

// Open opens the keyring of the given backend rooted at dir.
//
// Unlike the SDK's keyring.New, Open never prompts: the SDK's file backend
// reads the passphrase from the terminal whenever stdin is a TTY, ignoring
// the reader it was given, which would hang a daemon started from a shell.
// Here the passphrase comes only from WithPassphrase or WithPassphraseReader.
// The on-disk layout (dir/keyring-file, its keyhash) is the SDK's, so keys
// created by meritd are readable here and vice versa.
func Open(backend, dir string, opts ...Option) (keyring.Keyring, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.passReader != nil {
		p, err := readPassphrase(o.passReader)
		if err != nil {
			return nil, err
		}
		o.passphrase, o.hasPass = p, true
	}
	cdc := Codec()

	switch backend {
	case BackendMemory:
		return keyring.NewInMemory(cdc), nil
	case BackendTest:
		if dir == "" {
			return nil, errors.New("identity: keyring dir is empty")
		}
		// The test backend stores keys under a fixed passphrase and never
		// prompts, so the SDK constructor is safe to use as is.
		kr, err := keyring.New(DefaultAppName, backend, dir, nil, cdc)
		if err != nil {
			return nil, fmt.Errorf("identity: open %s keyring in %s: %w", backend, dir, err)
		}
		return kr, nil
	case BackendFile:
		if dir == "" {
			return nil, errors.New("identity: keyring dir is empty")
		}
		fileDir := filepath.Join(dir, fileDirName)
		if err := checkPassphrase(fileDir, o); err != nil {
			return nil, err
		}
		cfg := dkeyring.Config{
			AllowedBackends:  []dkeyring.BackendType{dkeyring.FileBackend},
			ServiceName:      DefaultAppName,
			FileDir:          fileDir,
			FilePasswordFunc: passphraseFunc(fileDir, o),
		}
		return openDB(backend, cfg, cdc)
	case BackendOS:
		// Same config as the SDK's os backend: no backend whitelist, so the
		// OS secret store is tried first and plain files (in dir) last.
		cfg := dkeyring.Config{
			ServiceName:              DefaultAppName,
			FileDir:                  dir,
			KeychainTrustApplication: true,
			FilePasswordFunc:         passphraseFunc(dir, o),
		}
		return openDB(backend, cfg, cdc)
	default:
		return nil, fmt.Errorf("identity: %w %q (want %s, %s, %s or %s)",
			ErrUnknownBackend, backend, BackendTest, BackendFile, BackendOS, BackendMemory)
	}
}

func openDB(backend string, cfg dkeyring.Config, cdc codec.Codec) (keyring.Keyring, error) {
	db, err := dkeyring.Open(cfg)
	if err != nil {
		return nil, fmt.Errorf("identity: open %s keyring: %w", backend, err)
	}
	return backendKeyring{Keyring: keyring.NewInMemoryWithKeyring(db, cdc), backend: backend, db: db}, nil
}

// backendKeyring exists because the SDK offers no public constructor that
// takes an already opened store and a backend name: NewInMemoryWithKeyring
// reports "memory", which would mislead anyone logging or branching on it.
type backendKeyring struct {
	keyring.Keyring
	backend string
	db      dkeyring.Keyring
}

func (k backendKeyring) Backend() string      { return k.backend }
func (k backendKeyring) DB() dkeyring.Keyring { return k.db }

var _ keyring.KeyringWithDB = backendKeyring{}

func readPassphrase(r io.Reader) (string, error) {
	buf, err := io.ReadAll(io.LimitReader(r, maxPassphraseBytes+1))
	if err != nil {
		return "", fmt.Errorf("identity: read passphrase: %w", err)
	}
	if len(buf) > maxPassphraseBytes {
		return "", fmt.Errorf("identity: read passphrase: longer than %d bytes", maxPassphraseBytes)
	}
	if i := bytes.IndexByte(buf, '\n'); i >= 0 {
		buf = buf[:i]
	}
	return strings.TrimSuffix(string(buf), "\r"), nil
}

// checkPassphrase fails fast, at Open rather than at the first key read,
// when the passphrase is missing or does not match an existing keyhash.
func checkPassphrase(dir string, o options) error {
	if !o.hasPass {
		return fmt.Errorf("identity: %s keyring in %s: %w", BackendFile, dir, ErrPassphraseRequired)
	}
	if len(o.passphrase) < minPassphraseLen {
		return fmt.Errorf("identity: %w: need at least %d characters", ErrPassphraseTooShort, minPassphraseLen)
	}
	hash, err := os.ReadFile(filepath.Join(dir, keyhashName))
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("identity: read keyhash: %w", err)
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(o.passphrase)) != nil {
		return fmt.Errorf("identity: %s keyring in %s: %w", BackendFile, dir, ErrWrongPassphrase)
	}
	return nil
}

// passphraseFunc plays the role of the SDK's interactive prompt without the
// interaction: it checks against, or on first use records, the keyhash file
// exactly as the SDK does, so meritd keeps accepting the same passphrase.
func passphraseFunc(dir string, o options) dkeyring.PromptFunc {
	return func(string) (string, error) {
		if !o.hasPass {
			return "", ErrPassphraseRequired
		}
		if len(o.passphrase) < minPassphraseLen {
			return "", ErrPassphraseTooShort
		}
		path := filepath.Join(dir, keyhashName)
		hash, err := os.ReadFile(path)
		switch {
		case err == nil:
			if bcrypt.CompareHashAndPassword(hash, []byte(o.passphrase)) != nil {
				return "", ErrWrongPassphrase
			}
			return o.passphrase, nil
		case !errors.Is(err, os.ErrNotExist):
			return "", fmt.Errorf("read keyhash: %w", err)
		}
		hash, err = bcrypt.GenerateFromPassword([]byte(o.passphrase), bcrypt.DefaultCost)
		if err != nil {
			return "", err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", err
		}
		if err := os.WriteFile(path, hash, 0o600); err != nil {
			return "", err
		}
		return o.passphrase, nil
	}
}
