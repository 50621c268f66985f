package transport

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
)

// FuzzParseHeaders feeds arbitrary header values to the request and
// response parsers: they must never panic, must classify every failure as
// missing or malformed, and whatever they accept must be canonical (it
// re-encodes to exactly the input).
func FuzzParseHeaders(f *testing.F) {
	f.Add(vecCallerAddr, vecCallerPub, "1750000000000", vecNonce, vecMinerAddr,
		"14479f4e87d340fe0ca0d522d87a5b3a028ebb1af24fbb8d3ef4553044fc6db6", vecReqSig)
	f.Add(vecCallerAddr, vecCallerPub, "0", vecNonce, vecMinerAddr, "stream", vecReqSig)
	f.Add("", "", "", "", "", "", "")
	f.Add("MERIT10XCQPZRKY6EFF2G52QDYE53XKK9JXKVRNQK5AQ", "AxuExVZ7EmRAmV0+1aq6BWXXHhg0YEgZ/5wX9enV3QeQ",
		"01750000000000", strings.ToUpper(vecNonce), "merit1", strings.Repeat("g", 64), "=")
	f.Add("merit1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq", "BBBB", "-1", "zz", "cosmos1x", "", "WoeK\x00")
	f.Add(vecCallerAddr, "AxuExVZ7EmRAmV0+1aq6BWXXHhg0YEgZ/5wX9enV3Qe=", "99999999999999999999", vecNonce+"0",
		vecMinerAddr, "14479F4E87D340FE0CA0D522D87A5B3A028EBB1AF24FBB8D3EF4553044FC6DB6", vecReqSig[:86]+"A=")

	f.Fuzz(func(t *testing.T, signer, pub, ts, nonce, receiver, bodySHA, sig string) {
		h := http.Header{}
		h.Set(HeaderSigner, signer)
		h.Set(HeaderPubKey, pub)
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderNonce, nonce)
		h.Set(HeaderReceiver, receiver)
		h.Set(HeaderBodySHA256, bodySHA)
		h.Set(HeaderSignature, sig)

		for _, request := range []bool{true, false} {
			sh, rej := parseHeaders(h, request)
			if rej != nil {
				if rej.Reason != ReasonMissingSignature && rej.Reason != ReasonMalformed {
					t.Fatalf("parse failed with reason %q", rej.Reason)
				}
				continue
			}
			if sh.signer != signer || b64.EncodeToString(sh.pubKey.Key) != pub || strconv.FormatInt(sh.timestamp, 10) != ts ||
				sh.tsRaw != ts || sh.bodySHA != bodySHA || b64.EncodeToString(sh.sig) != sig {
				t.Fatalf("accepted non-canonical headers: %+v", sh)
			}
			if request && (sh.nonce != nonce || sh.receiver != receiver) {
				t.Fatalf("accepted non-canonical nonce/receiver: %+v", sh)
			}
			// Verification of garbage keys and signatures must fail, not panic.
			_ = sh.pubKey.VerifySignature([]byte("x"), sh.sig)
		}
	})
}

// FuzzStreamReader feeds arbitrary stream bodies to the client's stream
// reader: no panics, bounded output, and never a clean EOF unless the
// trailer verified.
func FuzzStreamReader(f *testing.F) {
	miner, err := NewKeySigner(&secp256k1.PrivKey{Key: bytes.Repeat([]byte{2}, 32)})
	if err != nil {
		f.Fatal(err)
	}
	good := []byte("data: a\n\n")
	sig, err := miner.Sign(StreamTrailerPayload(200, BodySHA256(good), "1", vecNonce, vecCallerAddr))
	if err != nil {
		f.Fatal(err)
	}
	valid := append(append([]byte(nil), good...), trailerPrefix+b64.EncodeToString(sig)+"\n\n"...)
	f.Add(valid)
	f.Add([]byte(""))
	f.Add([]byte(trailerPrefix))
	f.Add([]byte(trailerPrefix + "\n\n"))
	f.Add([]byte("data: x\n" + trailerPrefix + b64.EncodeToString(sig) + "\n\nmore"))
	f.Add(bytes.Repeat([]byte("x"), 70000))

	f.Fuzz(func(t *testing.T, body []byte) {
		resp := &http.Response{StatusCode: 200, Body: io.NopCloser(bytes.NewReader(body))}
		sh := signedHeaders{pubKey: miner.PubKey().(*secp256k1.PubKey), tsRaw: "1"}
		c := &Client{signer: fixedAddrSigner{miner, vecCallerAddr}}
		sr := c.newStreamReader(resp, sh, vecNonce)
		out, err := io.ReadAll(sr)
		if len(out) > len(body) {
			t.Fatalf("read %d bytes from a %d-byte body", len(out), len(body))
		}
		if err == nil && !bytes.Equal(body, valid) {
			// Only the one validly signed body may end cleanly.
			t.Fatalf("unsigned stream accepted: %q", body)
		}
		var re *ResponseError
		if err != nil && !errors.As(err, &re) {
			t.Fatalf("untyped error %v", err)
		}
	})
}

// fixedAddrSigner reports a fixed address, to pose as the vector's caller.
type fixedAddrSigner struct {
	Signer
	addr string
}

func (s fixedAddrSigner) Address() string { return s.addr }
