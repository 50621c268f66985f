package inference

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"
)

// Benchmarks (not run by go test without -bench):
//
//	go test ./inference -run '^$' -bench . -benchtime 3x
//
// docs/inference.md records the figures.

func benchEngines(b *testing.B, threads int) map[string]*LocalEngine {
	out := map[string]*LocalEngine{}
	m, t, err := Tiny()
	if err != nil {
		b.Fatal(err)
	}
	out["merit-tiny"], _ = NewLocalEngine(m, t, Options{Threads: threads})
	if s, err := loadStories(b, threads); err == nil {
		out["stories260K"] = s
	}
	return out
}

// BenchmarkGenerate measures single-core decoding speed: 256 greedy tokens
// from BOS with logprobs and 5 alternatives per token, as a miner serves them.
// Each kernel set runs twice: decode=cols is the column kernels of
// decode.go, decode=rows the one-position row kernel they replace, side by
// side so both see the same machine conditions.
func BenchmarkGenerate(b *testing.B) {
	for _, name := range []string{"merit-tiny", "stories260K"} {
		for _, k := range kernelSets() {
			for _, cols := range []bool{false, true} {
				if cols && !k.simd {
					continue
				}
				mode := map[bool]string{false: "rows", true: "cols"}[cols]
				b.Run(fmt.Sprintf("%s/%s/decode=%s", name, k.name, mode), func(b *testing.B) {
					k.use(b)
					saved := decodeCols
					b.Cleanup(func() { decodeCols = saved })
					decodeCols = cols
					benchGenerate(b, name)
				})
			}
		}
	}
}

// BenchmarkDecodeSpeedup is BenchmarkGenerate's two decoding paths
// alternating within every iteration (rows, then cols), so that both see
// the same machine conditions even when the load drifts; it reports the
// median tokens/s of each and the ratio of the medians.
func BenchmarkDecodeSpeedup(b *testing.B) {
	for _, name := range []string{"merit-tiny", "stories260K"} {
		for _, k := range kernelSets()[1:] {
			b.Run(name+"/"+k.name, func(b *testing.B) {
				k.use(b)
				e := benchEngines(b, 1)[name]
				if e == nil {
					b.Skip("stories260K not available")
				}
				saved := decodeCols
				b.Cleanup(func() { decodeCols = saved })
				req := GenerateRequest{MaxTokens: 256, TopLogprobs: 5}
				var rows, cols []time.Duration
				tokens := 0
				for b.Loop() {
					for _, c := range []bool{false, true} {
						decodeCols = c
						start := time.Now()
						res, err := e.Generate(context.Background(), req, nil)
						if err != nil {
							b.Fatal(err)
						}
						tokens = len(res.Tokens)
						if c {
							cols = append(cols, time.Since(start))
						} else {
							rows = append(rows, time.Since(start))
						}
					}
				}
				r, c := median(rows), median(cols)
				b.ReportMetric(float64(tokens)/r.Seconds(), "rows-tok/s")
				b.ReportMetric(float64(tokens)/c.Seconds(), "cols-tok/s")
				b.ReportMetric(r.Seconds()/c.Seconds(), "speedup")
			})
		}
	}
}

func benchGenerate(b *testing.B, name string) {
	e := benchEngines(b, 1)[name]
	if e == nil {
		b.Skip("stories260K not available")
	}
	tokens := 0
	for b.Loop() {
		res, err := e.Generate(context.Background(), GenerateRequest{MaxTokens: 256, TopLogprobs: 5}, nil)
		if err != nil {
			b.Fatal(err)
		}
		tokens += len(res.Tokens)
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tok/s")
}

// BenchmarkVerify128 measures the verification of a 128-token greedy
// completion (with 5 alternatives per token) against its generation on one
// core. Every iteration generates the completion and then verifies it, so
// both see the same machine conditions; the ratio is of the medians. Each
// kernel set the machine has is measured (generation and verification both
// use it): avx512 is what runs where the CPU has it, avx2 shows a machine
// without it, scalar one without either (or -tags purego).
func BenchmarkVerify128(b *testing.B) {
	for _, threads := range []int{1, 2} {
		for _, name := range []string{"merit-tiny", "stories260K"} {
			for _, k := range kernelSets() {
				b.Run(fmt.Sprintf("%s/threads=%d/%s", name, threads, k.name), func(b *testing.B) {
					k.use(b)
					benchVerify(b, name, threads)
				})
			}
		}
	}
}

func benchVerify(b *testing.B, name string, threads int) {
	e := benchEngines(b, threads)[name]
	if e == nil {
		b.Skip("stories260K not available")
	}
	gen, _ := NewLocalEngine(e.Model(), e.Tokenizer(), Options{Threads: 1})
	req := GenerateRequest{Prompt: "Once upon a time", MaxTokens: 128, TopLogprobs: 5}
	v := NewVerifier(e, VerifyOptions{})
	var gens, vers []time.Duration
	for b.Loop() {
		start := time.Now()
		res, err := gen.Generate(context.Background(), req, nil)
		if err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if len(res.Tokens) != 128 {
			b.Fatalf("generated %d tokens", len(res.Tokens))
		}
		vd, err := v.Verify(context.Background(), claimOf(res, req))
		if err != nil || !vd.OK {
			b.Fatalf("%v %+v", err, vd)
		}
		gens, vers = append(gens, mid.Sub(start)), append(vers, time.Since(mid))
	}
	g, ver := median(gens), median(vers)
	b.ReportMetric(g.Seconds()*1e3, "gen-ms")
	b.ReportMetric(ver.Seconds()*1e3, "verify-ms")
	b.ReportMetric(ver.Seconds()/g.Seconds(), "ratio")
}

func median(ds []time.Duration) time.Duration {
	ds = append([]time.Duration(nil), ds...)
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2]
}

// benchKernel measures multiply-adds per second of a d x n product over T
// positions: mul is matmul (row layout) or matmulLanes (lane layout), which
// read x the same size either way.
func benchKernel(b *testing.B, n, d, T int, mul func(out, x, w []float32, n, d, T, threads int)) {
	w := make([]float32, n*d)
	x := make([]float32, n*T)
	out := make([]float32, d*T)
	for i := range w {
		w[i] = float32(i%13) * 0.01
	}
	for i := range x {
		x[i] = float32(i%7) * 0.1
	}
	for b.Loop() {
		mul(out, x, w, n, d, T, 1)
	}
	b.ReportMetric(float64(n*d*T)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gmadd/s")
}

// colMatvec is decoding's column kernel on w transposed (outside the timing).
func colMatvec(out, x, w []float32, n, d, T, threads int) {
	a, ok := colCache[&w[0]]
	if !ok {
		a = transposed(n, w)
		colCache[&w[0]] = a
	}
	vecmat(out[:0:cap(out)][:a.ld], x, a, threads)
}

var colCache = map[*float32]matT{}

func rowMatmul(out, x, w []float32, n, d, T, threads int) { matmul(out, x, w, n, d, T, threads, nil) }

// BenchmarkKernel compares the one-position kernel (decoding) with the
// blocked one (batched passes in row layout) on merit-tiny's feed-forward
// shape.
func BenchmarkKernel(b *testing.B) {
	b.Run("matvec", func(b *testing.B) { benchKernel(b, 128, 384, 1, rowMatmul) })
	b.Run("batch32", func(b *testing.B) { benchKernel(b, 128, 384, 32, rowMatmul) })
	for _, k := range kernelSets()[1:] {
		b.Run("cols/"+k.name, func(b *testing.B) {
			k.use(b)
			benchKernel(b, 128, 384, 1, colMatvec)
		})
	}
}

// BenchmarkMatmulLanes measures the lane-layout tile on 32 positions, for
// the products of stories260K and merit-tiny and for attention shapes
// (head size 8).
func BenchmarkMatmulLanes(b *testing.B) {
	if !useSIMD {
		b.Skip("no vector kernel on this machine")
	}
	for _, sh := range []struct{ n, d int }{{64, 64}, {64, 172}, {172, 64}, {128, 384}, {8, 96}, {96, 8}} {
		b.Run(fmt.Sprintf("%dx%d", sh.n, sh.d), func(b *testing.B) { benchKernel(b, sh.n, sh.d&^3, 32, matmulLanes) })
	}
}

// BenchmarkExpAll measures the vector exp32 on moderate arguments and on
// ones whose results are tiny.
func BenchmarkExpAll(b *testing.B) {
	for _, tc := range []struct {
		name string
		lo   float32
	}{{"moderate", -10}, {"tiny", -100}} {
		b.Run(tc.name, func(b *testing.B) {
			src := make([]float32, 1024)
			for i := range src {
				src[i] = tc.lo * float32(i) / 1024
			}
			dst := make([]float32, len(src))
			for b.Loop() {
				expAll(dst, src)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(src)), "ns/exp")
		})
	}
}

// BenchmarkBatch measures continuous batching. Every iteration runs, one
// after the other so that all three see the same machine conditions: one
// request with LocalEngine.Generate (the single-stream path), one request
// through the Batcher, and 16 requests started at once through the Batcher
// (128 tokens each from a short prompt, half greedy, half sampled, with 5
// alternatives per token). It reports each one's tokens/s (median over the
// iterations), the ratios of 16 streams and of one batched stream to the
// single-stream path, and the 99th percentile of the time to first token
// of the 16 streams over all iterations. GOMAXPROCS cores are used (two on
// the project machine). The CPU time per token of the single stream and of
// the 16 streams says what a token costs independently of the load, and
// batch16-cores how much of the machine the 16 streams got.
//
// stories15M-shape is not a shipped model: stories15M's layer shapes (dim
// 288, hidden 768, 6 layers of 6 heads; 24 MiB of weights) with random
// weights and merit-tiny's vocabulary, to show what batching gives a model
// whose single stream is bound by reading its weights rather than by the
// per-sequence work.
func BenchmarkBatch(b *testing.B) {
	for _, name := range []string{"merit-tiny", "stories260K", "stories15M-shape"} {
		for _, k := range kernelSets()[1:] {
			b.Run(name+"/"+k.name, func(b *testing.B) {
				k.use(b)
				benchBatch(b, name)
			})
		}
	}
}

func benchBatch(b *testing.B, name string) {
	var e *LocalEngine
	if name == "stories15M-shape" {
		e = stories15MShape(b)
	} else if e = benchEngines(b, 0)[name]; e == nil {
		b.Skip("stories260K not available")
	}
	bt := NewBatcher(e, BatchOptions{MaxBatch: 16})
	defer bt.Close()
	var single, one, many []float64
	var ttfts []time.Duration
	var cpuSingle, cpuMany, wallMany time.Duration
	var tokSingle, tokMany float64
	for i := 0; b.Loop(); i++ {
		if i == 0 { // warm up: the first request builds the decoding layout
			benchStreams(b, e.Generate, 1)
		}
		// Each run starts without the previous one's garbage (16
		// KV caches), whose collection would land on the next.
		runtime.GC()
		c0, w0 := processCPU(), time.Now()
		tps, _ := benchStreams(b, e.Generate, 1)
		cpuSingle += processCPU() - c0
		tokSingle += tps * time.Since(w0).Seconds()
		single = append(single, tps)
		runtime.GC()
		tps, _ = benchStreams(b, bt.Generate, 1)
		one = append(one, tps)
		runtime.GC()
		c0, w0 = processCPU(), time.Now()
		tps, t := benchStreams(b, bt.Generate, 16)
		cpuMany += processCPU() - c0
		wallMany += time.Since(w0)
		tokMany += tps * time.Since(w0).Seconds()
		many = append(many, tps)
		ttfts = append(ttfts, t...)
	}
	sort.Float64s(single)
	sort.Float64s(one)
	sort.Float64s(many)
	sort.Slice(ttfts, func(i, j int) bool { return ttfts[i] < ttfts[j] })
	s1, o1, m16 := single[len(single)/2], one[len(one)/2], many[len(many)/2]
	b.ReportMetric(s1, "single-tok/s")
	b.ReportMetric(o1, "batch1-tok/s")
	b.ReportMetric(m16, "batch16-tok/s")
	b.ReportMetric(m16/s1, "x16")
	b.ReportMetric(o1/s1, "x1")
	b.ReportMetric(ttfts[(len(ttfts)*99)/100].Seconds()*1e3, "ttft16-p99-ms")
	// CPU time per token: what a token costs whatever the load.
	b.ReportMetric(cpuSingle.Seconds()*1e6/tokSingle, "single-cpu-us/tok")
	b.ReportMetric(cpuMany.Seconds()*1e6/tokMany, "batch16-cpu-us/tok")
	// What the 16 streams got of the machine (2 on two idle cores), and the
	// ratio of CPU per token: two dedicated cores would give the 16 streams
	// about 2 x x16cpu the single stream's tokens/s.
	b.ReportMetric(cpuMany.Seconds()/wallMany.Seconds(), "batch16-cores")
	b.ReportMetric((cpuSingle.Seconds()/tokSingle)/(cpuMany.Seconds()/tokMany), "x16cpu")
}

// stories15MShape is an engine of stories15M's layer shapes with random
// weights (uniform, scaled by 1/sqrt(fan-in) so activations stay near unit
// size) and merit-tiny's tokenizer.
func stories15MShape(tb testing.TB) *LocalEngine {
	tb.Helper()
	c := Config{Dim: 288, HiddenDim: 768, Layers: 6, Heads: 6, KVHeads: 6, VocabSize: TinyConfig.VocabSize, SeqLen: 512}
	rng := splitmix64(15)
	data := make([]float32, c.numFloats())
	for i := range data {
		data[i] = rng.uniform() * 0.1
	}
	m, err := ParseCheckpoint("stories15M-shape", (&Model{Config: c, data: data}).Checkpoint())
	if err != nil {
		tb.Fatal(err)
	}
	_, t, err := Tiny()
	if err != nil {
		tb.Fatal(err)
	}
	e, err := NewLocalEngine(m, t, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// benchStreams runs streams requests at once and returns the aggregate
// tokens/s and each request's time to first token.
func benchStreams(b *testing.B, gen func(context.Context, GenerateRequest, func(Token) error) (*Result, error), streams int) (float64, []time.Duration) {
	var mu sync.Mutex
	var ttfts []time.Duration
	tokens := 0
	var wg sync.WaitGroup
	begin := time.Now()
	for i := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := GenerateRequest{Prompt: "Once upon a time", MaxTokens: 128, TopLogprobs: 5}
			if i%2 == 1 {
				req.Temperature, req.Seed = 0.8, uint64(i)
			}
			start := time.Now()
			var first time.Duration
			res, err := gen(context.Background(), req, func(Token) error {
				if first == 0 {
					first = time.Since(start)
				}
				return nil
			})
			if err != nil {
				b.Error(err)
				return
			}
			mu.Lock()
			ttfts = append(ttfts, first)
			tokens += len(res.Tokens)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return float64(tokens) / time.Since(begin).Seconds(), ttfts
}
