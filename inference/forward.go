package inference

import "context"

// chunkLen is how many positions one batched step carries through the
// layers. Larger chunks amortise more weight loads; 32 keeps the scratch
// buffers small for big models.
const chunkLen = 32

// state is one request's mutable data: the KV cache and scratch buffers. The
// Model it points to is shared and read-only.
type state struct {
	m       *Model
	threads int
	cap     int         // positions the KV cache can hold
	kc, vc  []float32   // Layers x cap x KVDim
	vt      []float32   // Layers x KVDim x cap: vc transposed, for attentionLanes
	vtLen   int         // positions of vc mirrored in vt
	attn    [][]float32 // per attentionLanes worker: cap x chunkLen scores
	kT, vT  []float32   // KVDim x chunkLen: a lane-layout chunk's keys and values
	ss      []float32   // chunkLen: rmsnormLanes' sums
	logitsT []float32   // VocabSize x chunkLen, allocated by the first pass that wants many logits
	x, xb   []float32   // chunkLen x Dim
	xb2, q  []float32
	hb, hb2 []float32 // chunkLen x HiddenDim
	att     []float32 // one row of cap scores per attention task
	logits  []float32 // chunkLen x VocabSize
	col     []float32 // forwardOne's product outputs, allocated on first use
	// attentionOne's caches channel by channel with the kv heads side by
	// side (Layers x cap x HeadSize x KVHeads, plus headsTail), the
	// positions they hold, and its buffers; allocated by the first
	// single-position pass, so a teacher-forced Score never pays for them.
	// headsOK says whether attentionOne can run at all.
	kx, vx              []float32
	xLen                int
	attCols, attQ, attO []float32
	headsOK             bool
	simd                simdScratch
}

func newState(m *Model, positions, threads int) *state {
	c := m.Config
	positions = min(positions, c.SeqLen)
	if threads < 1 {
		threads = 1
	}
	positions = (positions + 7) &^ 7 // attentionLanes reads keys four at a time, attentionOne eight
	kv := c.Layers * positions * c.KVDim()
	st := &state{
		m: m, threads: threads, cap: positions,
		kc: make([]float32, kv), vc: make([]float32, kv),
		x: make([]float32, chunkLen*c.Dim), xb: make([]float32, chunkLen*c.Dim),
		xb2: make([]float32, chunkLen*c.Dim), q: make([]float32, chunkLen*c.Dim),
		hb: make([]float32, chunkLen*c.HiddenDim), hb2: make([]float32, chunkLen*c.HiddenDim),
		att:    make([]float32, threads*positions),
		logits: make([]float32, chunkLen*c.VocabSize),
	}
	if useSIMD && c.HeadSize()%4 == 0 {
		st.vt = make([]float32, kv)
		st.kT, st.vT = make([]float32, c.KVDim()*chunkLen), make([]float32, c.KVDim()*chunkLen)
		st.ss = make([]float32, chunkLen)
	}
	st.headsOK = useDecodeKernels() && c.HeadSize()%8 == 0
	return st
}

// forward runs tokens (at most chunkLen) at positions pos0, pos0+1, ... and
// returns the logits of the positions from index want on (rows of VocabSize),
// which alias the state's buffer until the next call. Each position's
// arithmetic is identical to run.c's forward() for that position alone; only
// the grouping into matrix products differs, and the matmul kernels make
// grouping invisible in the results.
func (s *state) forward(tokens []int, pos0, want int) []float32 {
	if len(tokens) == 1 && useDecodeKernels() {
		return s.forwardOne(tokens[0], pos0, want == 0)
	}
	if s.canUseLanes(len(tokens)) {
		return s.forwardLanes(tokens, pos0, want)
	}
	m, c := s.m, s.m.Config
	T := len(tokens)
	dim, hid, kvDim, hs := c.Dim, c.HiddenDim, c.KVDim(), c.HeadSize()
	x := s.x[:T*dim]
	for t, tok := range tokens {
		copy(x[t*dim:(t+1)*dim], m.tokEmb[tok*dim:(tok+1)*dim])
	}
	for l := range m.layers {
		lw := &m.layers[l]
		for t := range T {
			rmsnorm(s.xb[t*dim:(t+1)*dim], x[t*dim:(t+1)*dim], lw.rmsAtt)
		}
		// Keys and values go straight into the cache rows of these positions.
		loff := l * s.cap * kvDim
		kc := s.kc[loff+pos0*kvDim : loff+(pos0+T)*kvDim]
		vc := s.vc[loff+pos0*kvDim : loff+(pos0+T)*kvDim]
		matmul(s.q, s.xb, lw.wq, dim, dim, T, s.threads, &s.simd)
		matmul(kc, s.xb, lw.wk, dim, kvDim, T, s.threads, &s.simd)
		matmul(vc, s.xb, lw.wv, dim, kvDim, T, s.threads, &s.simd)
		for t := range T {
			rope(s.q[t*dim:(t+1)*dim], m.rope[(pos0+t)*hs:(pos0+t+1)*hs], hs)
			rope(kc[t*kvDim:(t+1)*kvDim], m.rope[(pos0+t)*hs:(pos0+t+1)*hs], hs)
		}
		s.attention(l, pos0, T)
		matmul(s.xb2, s.xb, lw.wo, dim, dim, T, s.threads, &s.simd)
		for i, v := range s.xb2[:T*dim] {
			x[i] += v
		}
		for t := range T {
			rmsnorm(s.xb[t*dim:(t+1)*dim], x[t*dim:(t+1)*dim], lw.rmsFFN)
		}
		matmul(s.hb, s.xb, lw.w1, dim, hid, T, s.threads, &s.simd)
		matmul(s.hb2, s.xb, lw.w3, dim, hid, T, s.threads, &s.simd)
		silu(s.hb[:T*hid], s.hb2[:T*hid])
		matmul(s.xb, s.hb, lw.w2, hid, dim, T, s.threads, &s.simd)
		for i, v := range s.xb[:T*dim] {
			x[i] += v
		}
	}
	if want >= T {
		return nil
	}
	n := T - want
	for t := want; t < T; t++ {
		rmsnorm(x[t*dim:(t+1)*dim], x[t*dim:(t+1)*dim], m.rmsFinal)
	}
	out := s.logits[:n*c.VocabSize]
	matmul(out, x[want*dim:T*dim], m.wcls, dim, c.VocabSize, n, s.threads, &s.simd)
	return out
}

// run feeds tokens from position pos0 chunk by chunk and calls visit with the
// logits of every position from absolute index want on (a position's logits
// predict the next token). It checks ctx between chunks. A partial chunk
// goes first: its padding lanes then attend over the fewest keys.
func (s *state) run(ctx context.Context, tokens []int, pos0, want int, visit func(pos int, logits []float32) error) error {
	V := s.m.VocabSize
	return s.runChunks(ctx, tokens, pos0, want, func(pos int, logits []float32) error {
		for i := 0; i < len(logits); i += V {
			if err := visit(pos+i/V, logits[i:i+V]); err != nil {
				return err
			}
		}
		return nil
	})
}

// runChunks is run with one call of visit per chunk that has wanted
// positions: the first one's index and their logits, rows of VocabSize, which
// alias the state's buffer until the next chunk.
func (s *state) runChunks(ctx context.Context, tokens []int, pos0, want int, visit func(pos int, logits []float32) error) error {
	V := s.m.VocabSize
	end := len(tokens) % chunkLen
	if end == 0 {
		end = chunkLen
	}
	for start := 0; start < len(tokens); start, end = end, min(end+chunkLen, len(tokens)) {
		if err := ctx.Err(); err != nil {
			return err
		}
		w := max(want-(pos0+start), 0)
		logits := s.forward(tokens[start:end], pos0+start, w)
		if w < end-start {
			if err := visit(pos0+start+w, logits[:(end-start-w)*V]); err != nil {
				return err
			}
		}
	}
	return nil
}

// rmsnorm is run.c's rmsnorm: o = weight * (x / sqrt(mean(x^2) + 1e-5)).
// o may alias x.
func rmsnorm(o, x, weight []float32) {
	x = x[:len(weight)]
	o = o[:len(weight)]
	var ss float32
	for _, v := range x {
		ss += float32(v * v)
	}
	ss /= float32(len(x))
	ss += 1e-5
	ss = 1 / sqrt32(ss)
	for j, v := range x {
		o[j] = float32(weight[j] * float32(ss*v))
	}
}

// softmax normalises x in place, as run.c's softmax.
func softmax(x []float32) {
	_, mx := maxIndex(x)
	for i, v := range x {
		x[i] = v - mx
	}
	expAll(x, x)
	var sum float32
	for _, e := range x {
		sum += e
	}
	divAll(x, x, sum)
}

// rope rotates consecutive pairs of vec by the angles of one position; the
// table row holds (cos, sin) per frequency and repeats for every head.
func rope(vec, row []float32, hs int) {
	for h := 0; h < len(vec); h += hs {
		v := vec[h : h+hs]
		for i := 0; i < hs; i += 2 {
			fcr, fci := row[i], row[i+1]
			v0, v1 := v[i], v[i+1]
			v[i] = float32(v0*fcr) - float32(v1*fci)
			v[i+1] = float32(v0*fci) + float32(v1*fcr)
		}
	}
}

// silu sets hb[i] = SiLU(hb[i]) * hb2[i], run.c's SwiGLU gate: SiLU(v) is
// v * (1 / (1 + exp(-v))).
func silu(hb, hb2 []float32) {
	n := len(hb)
	hb2 = hb2[:n]
	i := 0
	switch {
	case useAVX512 && n >= 16:
		i = n &^ 15
		siluMul16(&hb[0], &hb2[0], i)
	case useSIMD && n >= 8:
		i = n &^ 7
		siluMul8(&hb[0], &hb2[0], i)
	}
	for ; i < n; i++ {
		v := hb[i]
		v = float32(v * (1 / (1 + exp32(-v))))
		hb[i] = float32(v * hb2[i])
	}
}
