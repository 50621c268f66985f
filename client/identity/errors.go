package identity

import "errors"

// Sentinel errors; every error returned by this package wraps one of these
// (or a keyring backend error) so callers can branch with errors.Is.
var (
	// ErrUnknownBackend: the backend name is not one this package opens.
	ErrUnknownBackend = errors.New("unknown keyring backend")
	// ErrPassphraseRequired: the backend encrypts keys at rest and no
	// passphrase was supplied.
	ErrPassphraseRequired = errors.New("keyring passphrase required")
	// ErrPassphraseTooShort: the Cosmos CLI refuses passphrases under 8
	// characters, so a shorter one would make the keyring unusable from meritd.
	ErrPassphraseTooShort = errors.New("keyring passphrase too short")
	// ErrWrongPassphrase: the passphrase does not match the keyring's keyhash.
	ErrWrongPassphrase = errors.New("wrong keyring passphrase")
	// ErrKeyNotFound: no key with that name in the keyring.
	ErrKeyNotFound = errors.New("key not found")
	// ErrWrongKeyType: the key is not secp256k1, the only account key type
	// the chain accepts.
	ErrWrongKeyType = errors.New("wrong key type")
	// ErrCannotSign: the record holds only a public key (offline or
	// multisig), so this process could never sign with it.
	ErrCannotSign = errors.New("key cannot sign")
	// ErrKeyChanged: the keyring signed with a different key than the one
	// loaded, e.g. the key was replaced under the same name while running.
	ErrKeyChanged = errors.New("keyring key changed since load")
)
