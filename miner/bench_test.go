package miner

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdkmath "cosmossdk.io/math"

	"github.com/meritnet/merit/client/transport"
	"github.com/meritnet/merit/inference/api"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// capture signs requests without sending them: the transport client builds
// and signs, the round tripper keeps the request and fails the call.
type capture struct{ reqs []*http.Request }

var errCaptured = errors.New("captured")

func (c *capture) RoundTrip(r *http.Request) (*http.Response, error) {
	c.reqs = append(c.reqs, r)
	return nil, errCaptured
}

func signedRequests(b *testing.B, s transport.Signer, url, receiver string, n int) []*http.Request {
	cp := &capture{}
	c, err := transport.NewClient(s, &http.Client{Transport: cp})
	if err != nil {
		b.Fatal(err)
	}
	for range n {
		_, _ = c.Do(context.Background(), http.MethodGet, url, receiver, nil)
	}
	if len(cp.reqs) != n {
		b.Fatalf("captured %d of %d", len(cp.reqs), n)
	}
	return cp.reqs
}

// BenchmarkRequestOverhead is what every request costs before any model
// work: parse and check the signature headers, verify the secp256k1
// signature, the permit lookup and the caller's token bucket, the replay
// cache, the route, and signing the response (GET /v1/models, whose own
// work is negligible). Requests are pre-signed and served in-process, so
// the numbers exclude the network and the client.
func BenchmarkRequestOverhead(b *testing.B) {
	miner, val := newKeySigner(b), newKeySigner(b)
	acc, err := NewAccess(AccessConfig{Metagraph: StaticMetagraph{permitGraph(val.Address(), newKeySigner(b).Address())}, RateLimit: 1e9})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := NewServer(ServerConfig{Engine: tinyEngine(b), Signer: miner, Authorize: acc.Authorize})
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	const batch = 512 // signed just in time, well within the 30 s skew
	var reqs []*http.Request
	durs := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		if i%batch == 0 {
			b.StopTimer()
			reqs = signedRequests(b, val, "http://miner/v1/models", miner.Address(), min(batch, b.N-i))
			b.StartTimer()
		}
		r := reqs[i%batch]
		r.RequestURI = r.URL.RequestURI()
		w := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(w, r)
		durs = append(durs, time.Since(start))
		if w.Code != 200 {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	b.StopTimer()
	slices.Sort(durs)
	b.ReportMetric(float64(durs[len(durs)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(durs[len(durs)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkThroughput16: 16 clients at once, each asking merit-tiny for 32
// greedy tokens over loopback HTTP with signed requests and responses,
// against a server with the default concurrency (2) and a queue of 16.
func BenchmarkThroughput16(b *testing.B) {
	miner, val := newKeySigner(b), newKeySigner(b)
	acc, _ := NewAccess(AccessConfig{Allow: []string{val.Address()}})
	srv, err := NewServer(ServerConfig{Engine: tinyEngine(b), Signer: miner, Authorize: acc.Authorize, Concurrency: 2, QueueSize: 16})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	c, err := transport.NewClient(val, &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}})
	if err != nil {
		b.Fatal(err)
	}
	maxTok, temp := 32, 0.0
	body, _ := json.Marshal(api.CompletionRequest{Prompt: api.Prompt{Text: "Once upon a time"}, MaxTokens: &maxTok, Temperature: &temp})
	var next, tokens atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	start := time.Now()
	b.ResetTimer()
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				resp, err := c.Do(context.Background(), http.MethodPost, hs.URL+"/v1/completions", miner.Address(), body)
				if err != nil || resp.StatusCode != 200 {
					failed.Store(errors.Join(err, errors.New(string(resp.Body))))
					return
				}
				var cr api.CompletionResponse
				_ = json.Unmarshal(resp.Body, &cr)
				tokens.Add(int64(len(cr.Choices[0].TokenIDs)))
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	secs := time.Since(start).Seconds()
	b.ReportMetric(float64(b.N)/secs, "req/s")
	b.ReportMetric(float64(tokens.Load())/secs, "tok/s")
	b.ReportMetric(float64(tokens.Load())/float64(b.N), "tok/req")
}

// BenchmarkIdleMemory: the live heap of a serving miner (merit-tiny loaded,
// a 256-neuron metagraph, the HTTP server listening) after a GC, and what
// the Go runtime holds from the OS. The test binary's own data is included.
func BenchmarkIdleMemory(b *testing.B) {
	for range b.N {
		miner := newKeySigner(b)
		snap := bigSnapshot(b, 256)
		acc, _ := NewAccess(AccessConfig{Metagraph: StaticMetagraph{snap}, RateLimit: 5})
		srv, err := NewServer(ServerConfig{Engine: tinyEngine(b), Signer: miner, Authorize: acc.Authorize})
		if err != nil {
			b.Fatal(err)
		}
		hs := httptest.NewServer(srv.Handler())
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap-MiB")
		b.ReportMetric(float64(ms.Sys)/(1<<20), "sys-MiB")
		runtime.KeepAlive(srv)
		hs.Close()
	}
}

func bigSnapshot(b *testing.B, n int) *Snapshot {
	mg := &subnettypes.QueryMetagraphResponse{Block: 1}
	for i := range n {
		mg.Neurons = append(mg.Neurons, subnettypes.MetagraphNeuron{
			Neuron: subnettypes.Neuron{Uid: uint32(i), Hotkey: newKeySigner(b).Address(), ValidatorPermit: i < 64, LastEmission: sdkmath.ZeroInt()},
			Stake:  sdkmath.NewInt(int64(1000 * (i + 1))),
		})
	}
	return NewSnapshot(mg, "", time.Now())
}
