package transport

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// benchBody is the size of a typical completion request.
var benchBody = []byte(`{"model":"merit-default","prompt":"` + strings.Repeat("tell me a story ", 24) + `","max_tokens":64,"logprobs":1}`)

func benchHandler() http.Handler {
	resp := []byte(`{"id":"cmpl-1","choices":[{"text":"` + strings.Repeat("once upon a time ", 16) + `"}]}`)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(resp)
	})
}

// reportLatency adds p50 and p99 of the per-request durations.
func reportLatency(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(d[len(d)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkVerify is the server-side cost a request adds: header parsing,
// signature verification, replay check, body hashing, and signing the
// response, around a handler that does nothing but write 300 bytes.
// Requests are signed in advance so the client's cost is not counted.
func BenchmarkVerify(b *testing.B) {
	miner, caller := newSigner(b), newSigner(b)
	clock := newFakeClock()
	v, err := NewVerifier(VerifierConfig{Signer: miner, Now: clock.Now, MaxNonces: 1 << 22})
	if err != nil {
		b.Fatal(err)
	}
	h := v.Middleware(benchHandler())

	b.StopTimer()
	reqs := make([]*http.Request, b.N)
	for i := range reqs {
		reqs[i] = signedRequest(b, caller, http.MethodPost, "http://miner/v1/completions", miner.Address(), benchBody, clock.Now())
	}
	lat := make([]time.Duration, b.N)
	b.ReportAllocs()
	b.StartTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, reqs[i])
		lat[i] = time.Since(start)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d %s", rec.Code, rec.Header().Get(HeaderError))
		}
	}
	b.StopTimer()
	reportLatency(b, lat)
}

// BenchmarkVerifySignature isolates the secp256k1 verification that
// dominates BenchmarkVerify.
func BenchmarkVerifySignature(b *testing.B) {
	s := newSigner(b)
	msg := RequestPayload("POST", "/v1/completions", BodySHA256(benchBody), "1750000000000", vecNonce, vecMinerAddr)
	sig, err := s.Sign(msg)
	if err != nil {
		b.Fatal(err)
	}
	pk := s.PubKey()
	for b.Loop() {
		if !pk.VerifySignature(msg, sig) {
			b.Fatal("does not verify")
		}
	}
}

// BenchmarkRoundTrip is a whole exchange over loopback HTTP, as a
// validator sees it: sign, send, verify at the miner, sign the response,
// verify it. Both signers hold their key in memory (as
// identity.WithCachedKey does).
func BenchmarkRoundTrip(b *testing.B) {
	miner, caller := newSigner(b), newSigner(b)
	v, err := NewVerifier(VerifierConfig{Signer: miner, MaxNonces: 1 << 22})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(v.Middleware(benchHandler()))
	defer srv.Close()
	c, err := NewClient(caller, srv.Client())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var lat []time.Duration
	for b.Loop() {
		start := time.Now()
		resp, err := c.Do(ctx, http.MethodPost, srv.URL+"/v1/completions", miner.Address(), benchBody)
		lat = append(lat, time.Since(start))
		if err != nil || !bytes.HasPrefix(resp.Body, []byte(`{"id"`)) {
			b.Fatal(err)
		}
	}
	reportLatency(b, lat)
}
