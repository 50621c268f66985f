package transport

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
)

// The test vector published in docs/transport.md. The signatures were
// also checked with Python's cryptography package, an implementation
// independent of this one.
const (
	vecCallerAddr = "merit10xcqpzrky6eff2g52qdye53xkk9jxkvrnqk5aq"
	vecCallerPub  = "AxuExVZ7EmRAmV0+1aq6BWXXHhg0YEgZ/5wX9enV3QeP"
	vecMinerAddr  = "merit1a0qwuze2h85zw7nqpsj3ga0z9geyrgwp9lt68d"
	vecMinerPub   = "Ak1LbNE2EDLKm9KuudkAqk1F2erYCslCM3TEUaclTQdm"
	vecNonce      = "000102030405060708090a0b0c0d0e0f"
	vecReqPayload = "merit-req-v1\nPOST\n/v1/completions\n" +
		"14479f4e87d340fe0ca0d522d87a5b3a028ebb1af24fbb8d3ef4553044fc6db6\n" +
		"1750000000000\n000102030405060708090a0b0c0d0e0f\nmerit1a0qwuze2h85zw7nqpsj3ga0z9geyrgwp9lt68d"
	vecReqSig     = "WoeKrwE1DR4bfKhvIfzDzGFx2z8U7aLchilLEhXeWZsI5mpBcLtUJYs0sHoqtxp5I3ay9Eq5L58B4CYz4nc+AQ=="
	vecResPayload = "merit-res-v1\n200\n" +
		"cbbbdcd27692344de5dbab3abcaba413fb0f45307267de7081401576df1cb176\n" +
		"1750000000123\n000102030405060708090a0b0c0d0e0f\nmerit10xcqpzrky6eff2g52qdye53xkk9jxkvrnqk5aq"
	vecResSig = "mzj5PhquZC3R3fVazmPWPreW6vIggzCKJEUH7ZohgI8aWJA72IgKUInErjrPvTiUFiiXADmlEk09XwTW57ADog=="
)

func TestTestVector(t *testing.T) {
	caller, err := NewKeySigner(&secp256k1.PrivKey{Key: bytes.Repeat([]byte{1}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	miner, err := NewKeySigner(&secp256k1.PrivKey{Key: bytes.Repeat([]byte{2}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	if caller.Address() != vecCallerAddr || b64.EncodeToString(caller.PubKey().Bytes()) != vecCallerPub ||
		miner.Address() != vecMinerAddr || b64.EncodeToString(miner.PubKey().Bytes()) != vecMinerPub {
		t.Fatal("keys or addresses differ from the published vector")
	}

	req := RequestPayload("POST", "/v1/completions", BodySHA256([]byte(`{"prompt":"hi"}`)), "1750000000000", vecNonce, vecMinerAddr)
	if string(req) != vecReqPayload {
		t.Fatalf("request payload\n%q\nwant\n%q", req, vecReqPayload)
	}
	sig, err := caller.Sign(req)
	if err != nil || b64.EncodeToString(sig) != vecReqSig {
		t.Fatalf("request signature %s, %v", b64.EncodeToString(sig), err)
	}

	res := ResponsePayload(200, BodySHA256([]byte(`{"text":"hello"}`)), "1750000000123", vecNonce, vecCallerAddr)
	if string(res) != vecResPayload {
		t.Fatalf("response payload\n%q\nwant\n%q", res, vecResPayload)
	}
	sig, err = miner.Sign(res)
	if err != nil || b64.EncodeToString(sig) != vecResSig {
		t.Fatalf("response signature %s, %v", b64.EncodeToString(sig), err)
	}

	// And the headers carrying it parse back to the same values.
	h := http.Header{}
	h.Set(HeaderSigner, vecCallerAddr)
	h.Set(HeaderPubKey, vecCallerPub)
	h.Set(HeaderTimestamp, "1750000000000")
	h.Set(HeaderNonce, vecNonce)
	h.Set(HeaderReceiver, vecMinerAddr)
	h.Set(HeaderBodySHA256, "14479f4e87d340fe0ca0d522d87a5b3a028ebb1af24fbb8d3ef4553044fc6db6")
	h.Set(HeaderSignature, vecReqSig)
	sh, rej := parseRequestHeaders(h)
	if rej != nil {
		t.Fatal(rej)
	}
	if !sh.pubKey.VerifySignature(RequestPayload("POST", "/v1/completions", sh.bodySHA, sh.tsRaw, sh.nonce, sh.receiver), sh.sig) {
		t.Fatal("vector does not verify from its headers")
	}
}

func TestStreamTrailerPayloadIsDistinct(t *testing.T) {
	a := ResponsePayload(200, "x", "1", vecNonce, vecCallerAddr)
	b := StreamTrailerPayload(200, "x", "1", vecNonce, vecCallerAddr)
	if bytes.Equal(a, b) || !bytes.HasPrefix(b, []byte("merit-end-v1\n")) {
		t.Fatalf("%q vs %q", a, b)
	}
}
