package transport

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
)

// Header names. See docs/transport.md for the format of each value.
const (
	HeaderSigner     = "X-Merit-Signer"      // bech32 address of the signer, lowercase
	HeaderPubKey     = "X-Merit-Pubkey"      // base64 (std, padded) 33-byte compressed secp256k1 key
	HeaderTimestamp  = "X-Merit-Timestamp"   // unix milliseconds, decimal
	HeaderNonce      = "X-Merit-Nonce"       // 32 lowercase hex digits (16 random bytes); requests only
	HeaderReceiver   = "X-Merit-Receiver"    // bech32 address the request is meant for; requests only
	HeaderBodySHA256 = "X-Merit-Body-Sha256" // 64 lowercase hex digits, or "stream" on a streamed response
	HeaderSignature  = "X-Merit-Signature"   // base64 (std, padded) 64-byte r||s
	HeaderError      = "X-Merit-Error"       // Reason of an (unsigned) rejection
)

// streamCommitment replaces the body digest in a response whose body is an
// SSE stream, signed by a trailer at its end instead (see stream.go).
const streamCommitment = "stream"

const (
	addrBytes      = 20 // secp256k1 accounts: ripemd160(sha256(pubkey))
	maxAddrLen     = 128
	maxTimestampLn = 15 // unix millis stay under 15 digits until year 33658
	nonceHexLen    = 32
	sha256HexLen   = 64
	pubKeyB64Len   = 44 // base64 of 33 bytes
	sigB64Len      = 88 // base64 of 64 bytes
)

// b64 is strict so every key and signature has exactly one encoding.
var b64 = base64.StdEncoding.Strict()

// signedHeaders are the parsed signing headers of a request or a response.
type signedHeaders struct {
	signer    string
	signerRaw []byte // the 20 address bytes signer encodes
	pubKey    *secp256k1.PubKey
	timestamp int64 // unix milliseconds
	tsRaw     string
	nonce     string // requests only
	receiver  string // requests only
	bodySHA   string // lowercase hex, or streamCommitment on responses
	sig       []byte
}

// errMissing marks a parse failure caused by an absent header, which is
// reported differently (401) from a present but malformed one (400).
var errMissing = errors.New("missing header")

// single returns the only value of header name. Repeated headers are
// rejected: which copy a proxy or library keeps is not something a
// signature check should depend on.
func single(h http.Header, name string) (string, error) {
	vs := h.Values(name)
	switch {
	case len(vs) == 0 || (len(vs) == 1 && vs[0] == ""):
		return "", fmt.Errorf("%w %s", errMissing, name)
	case len(vs) > 1:
		return "", fmt.Errorf("header %s repeated", name)
	}
	return vs[0], nil
}

func parseRequestHeaders(h http.Header) (signedHeaders, *RejectError) {
	return parseHeaders(h, true)
}

func parseResponseHeaders(h http.Header) (signedHeaders, *RejectError) {
	return parseHeaders(h, false)
}

// signingHeaders are the headers parseHeaders reads, in the order it reads
// them; responses have only the first five.
var signingHeaders = [...]string{HeaderSigner, HeaderPubKey, HeaderTimestamp, HeaderBodySHA256, HeaderSignature, HeaderNonce, HeaderReceiver}

const responseHeaderCount = 5

// parseHeaders checks presence first so that a request with no signature at
// all is reported as missing even if some other header is also garbage.
func parseHeaders(h http.Header, request bool) (signedHeaders, *RejectError) {
	names := signingHeaders[:responseHeaderCount]
	if request {
		names = signingHeaders[:]
	}
	var vals [len(signingHeaders)]string
	var firstErr *RejectError
	for i, n := range names {
		v, err := single(h, n)
		switch {
		case errors.Is(err, errMissing):
			return signedHeaders{}, &RejectError{Reason: ReasonMissingSignature, Err: err}
		case err != nil && firstErr == nil:
			firstErr = &RejectError{Reason: ReasonMalformed, Err: err}
		}
		vals[i] = v
	}
	if firstErr != nil {
		return signedHeaders{}, firstErr
	}

	var s signedHeaders
	var err error
	s.signer = vals[0]
	if s.signerRaw, err = decodeAddress(s.signer); err != nil {
		return s, reject(ReasonMalformed, "%s: %v", HeaderSigner, err)
	}
	if s.pubKey, err = parsePubKey(vals[1]); err != nil {
		return s, reject(ReasonMalformed, "%s: %v", HeaderPubKey, err)
	}
	s.tsRaw = vals[2]
	if s.timestamp, err = parseTimestamp(s.tsRaw); err != nil {
		return s, reject(ReasonMalformed, "%s: %v", HeaderTimestamp, err)
	}
	s.bodySHA = vals[3]
	if !(isLowerHex(s.bodySHA, sha256HexLen) || (!request && s.bodySHA == streamCommitment)) {
		return s, reject(ReasonMalformed, "%s: want %d lowercase hex digits", HeaderBodySHA256, sha256HexLen)
	}
	if s.sig, err = parseSignature(vals[4]); err != nil {
		return s, reject(ReasonMalformed, "%s: %v", HeaderSignature, err)
	}
	if request {
		s.nonce = vals[5]
		if !isLowerHex(s.nonce, nonceHexLen) {
			return s, reject(ReasonMalformed, "%s: want %d lowercase hex digits", HeaderNonce, nonceHexLen)
		}
		s.receiver = vals[6]
		if _, err = decodeAddress(s.receiver); err != nil {
			return s, reject(ReasonMalformed, "%s: %v", HeaderReceiver, err)
		}
	}
	return s, nil
}

// decodeAddress accepts only the canonical (lowercase) spelling of a
// 20-byte merit address, because the string itself is signed and compared.
func decodeAddress(s string) ([]byte, error) {
	if len(s) > maxAddrLen {
		return nil, errors.New("address too long")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return nil, errors.New("address must be lowercase")
		}
	}
	bz, err := addressCodec.StringToBytes(s)
	if err != nil {
		return nil, err
	}
	if len(bz) != addrBytes {
		return nil, fmt.Errorf("address has %d bytes, want %d", len(bz), addrBytes)
	}
	return bz, nil
}

func parsePubKey(s string) (*secp256k1.PubKey, error) {
	if len(s) != pubKeyB64Len {
		return nil, fmt.Errorf("want %d base64 characters", pubKeyB64Len)
	}
	bz, err := b64.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if len(bz) != secp256k1.PubKeySize || (bz[0] != 2 && bz[0] != 3) {
		return nil, errors.New("not a compressed secp256k1 key")
	}
	return &secp256k1.PubKey{Key: bz}, nil
}

func parseSignature(s string) ([]byte, error) {
	if len(s) != sigB64Len {
		return nil, fmt.Errorf("want %d base64 characters", sigB64Len)
	}
	bz, err := b64.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if len(bz) != 64 {
		return nil, errors.New("want 64 bytes")
	}
	return bz, nil
}

// parseTimestamp accepts only canonical decimals (no sign, no leading
// zeros) so each instant has one spelling.
func parseTimestamp(s string) (int64, error) {
	if s == "" || len(s) > maxTimestampLn {
		return 0, errors.New("want 1 to 15 decimal digits")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("want decimal digits only")
		}
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, errors.New("leading zero")
	}
	return strconv.ParseInt(s, 10, 64)
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// setSigningHeaders writes the headers shared by requests and responses.
func setSigningHeaders(h http.Header, signer, pubB64, ts, bodySHA string, sig []byte) {
	h.Set(HeaderSigner, signer)
	h.Set(HeaderPubKey, pubB64)
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderBodySHA256, bodySHA)
	h.Set(HeaderSignature, b64.EncodeToString(sig))
}
