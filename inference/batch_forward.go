package inference

// forwardBatch feeds one token to each of several sequences (a decoding
// step of the Batcher) and leaves each sequence's logits in its state's
// logits[:VocabSize]. The weight products run once for all of them in lane
// layout, a lane per sequence; RoPE, the KV cache and attention are each
// sequence's own. Every lane does exactly what forwardOne does for its
// sequence alone: the lane kernels compute each row's canonical sequential
// sum, RMSNorm and SiLU work lane by lane with the same operations, and the
// attention is attentionOne on the sequence's own cache. So each
// sequence's logits are bit-identical to decoding it alone
// (TestBatcherMatchesGenerate).
type batchScratch struct {
	x, xb, xb2, q, k, v []float32
	hb, hb2, logitsT    []float32
	ss                  []float32

	// A group's per-sequence lists, kept from step to step.
	sts                []*state
	toks, pos          []int
	rows, xs, xbs, hbs [][]float32
	cols               [][]float32
	ds                 []dist
}

// seqs returns the group's lists for n sequences (states, tokens,
// positions), growing every per-sequence list to n.
func (bs *batchScratch) seqs(n int) ([]*state, []int, []int) {
	if len(bs.sts) < n {
		bs.sts, bs.toks, bs.pos = make([]*state, n), make([]int, n), make([]int, n)
		bs.rows, bs.xs, bs.xbs = make([][]float32, n), make([][]float32, n), make([][]float32, n)
		bs.hbs, bs.cols, bs.ds = make([][]float32, n), make([][]float32, n), make([]dist, n)
	}
	return bs.sts[:n], bs.toks[:n], bs.pos[:n]
}

// canBatchLanes reports whether the lane kernels can run a decoding step of
// several sequences (the tile computes four rows at a time).
func canBatchLanes(c Config) bool {
	return useSIMD && c.Dim%4 == 0 && c.HiddenDim%4 == 0 && c.KVDim()%4 == 0 && c.VocabSize%4 == 0
}

func (bs *batchScratch) grow(c Config, L int) {
	if len(bs.ss) >= L {
		return
	}
	dim, hid, kv := c.Dim, c.HiddenDim, c.KVDim()
	bs.x, bs.xb, bs.xb2 = make([]float32, dim*L), make([]float32, dim*L), make([]float32, dim*L)
	bs.q, bs.k, bs.v = make([]float32, dim*L), make([]float32, kv*L), make([]float32, kv*L)
	bs.hb, bs.hb2, bs.logitsT = make([]float32, hid*L), make([]float32, hid*L), make([]float32, c.VocabSize*L)
	bs.ss = make([]float32, L)
}

// forwardBatch runs toks[b] at position pos[b] of sts[b], all states of
// model m, with up to threads goroutines.
func forwardBatch(m *Model, bs *batchScratch, sts []*state, toks, pos []int, threads int) {
	B := len(sts)
	if B == 1 || !canBatchLanes(m.Config) {
		parallelFor(B, min(threads, B/2), func(b int) {
			l := sts[b].forward(toks[b:b+1], pos[b], 0)
			copy(sts[b].logits[:m.VocabSize], l)
		})
		return
	}
	if useAVX512 && useDecodeKernels() {
		forwardRows(m, bs, sts, toks, pos, threads)
		return
	}
	c := m.Config
	L := (B + 7) &^ 7
	bs.grow(c, L)
	dim, hid, kvDim, hs, V := c.Dim, c.HiddenDim, c.KVDim(), c.HeadSize(), c.VocabSize
	x, xb, xb2 := bs.x[:dim*L], bs.xb[:dim*L], bs.xb2[:dim*L]
	q, k, v := bs.q[:dim*L], bs.k[:kvDim*L], bs.v[:kvDim*L]
	hb, hb2 := bs.hb[:hid*L], bs.hb2[:hid*L]
	clear(x)
	for b, tok := range toks {
		for i, e := range m.tokEmb[tok*dim : (tok+1)*dim] {
			x[i*L+b] = e
		}
		if s := sts[b]; s.canAttendCols() {
			s.syncHeads(pos[b])
			s.xLen = pos[b] + 1 // written below, layer by layer
		}
	}
	// Attention is per sequence; it is worth other goroutines only when
	// there are enough sequences to share.
	workers := 1
	if B >= 2*minGroup {
		workers = min(threads, B)
	}
	for l := range m.layers {
		lw := &m.layers[l]
		rmsnormLanes(xb, x, lw.rmsAtt, L, bs.ss[:L])
		matmulLanes(q, xb, lw.wq, dim, dim, L, threads)
		matmulLanes(k, xb, lw.wk, dim, kvDim, L, threads)
		matmulLanes(v, xb, lw.wv, dim, kvDim, L, threads)
		parallelFor(B, workers, func(b int) {
			s, p := sts[b], pos[b]
			ropeRow := m.rope[p*hs : (p+1)*hs]
			sq := s.q[:dim]
			for i := range sq {
				sq[i] = q[i*L+b]
			}
			loff := l * s.cap * kvDim
			kc := s.kc[loff+p*kvDim : loff+(p+1)*kvDim]
			vc := s.vc[loff+p*kvDim : loff+(p+1)*kvDim]
			for ch := range kc {
				kc[ch], vc[ch] = k[ch*L+b], v[ch*L+b]
			}
			rope(sq, ropeRow, hs)
			rope(kc, ropeRow, hs)
			if s.canAttendCols() {
				s.storeHeads(l, p)
				s.attentionOne(l, p)
			} else {
				s.attention(l, p, 1)
			}
			for i, u := range s.xb[:dim] {
				xb[i*L+b] = u
			}
		})
		matmulLanes(xb2, xb, lw.wo, dim, dim, L, threads)
		for i, u := range xb2 {
			x[i] += u
		}
		rmsnormLanes(xb, x, lw.rmsFFN, L, bs.ss[:L])
		matmulLanes(hb, xb, lw.w1, dim, hid, L, threads)
		matmulLanes(hb2, xb, lw.w3, dim, hid, L, threads)
		silu(hb, hb2)
		matmulLanes(xb, hb, lw.w2, hid, dim, L, threads)
		for i, u := range xb {
			x[i] += u
		}
	}
	rmsnormLanes(x, x, m.rmsFinal, L, bs.ss[:L])
	lt := bs.logitsT[:V*L]
	matmulLanes(lt, x, m.wcls, dim, V, L, threads)
	for b, s := range sts {
		out := s.logits[:V]
		for i := range out {
			out[i] = lt[i*L+b]
		}
	}
}

// forwardRows is forwardBatch with AVX-512: every sequence keeps forwardOne's
// row layout and its steps, and the products read each panel of the
// transposed weights once for four sequences (vecmat4x64z), at the full
// rate of the one-position kernel. Each sequence's arithmetic is
// forwardOne's, so its logits are bit-identical to decoding it alone.
func forwardRows(m *Model, bs *batchScratch, sts []*state, toks, pos []int, threads int) {
	dw := m.decodeWeights()
	c := m.Config
	dim, hid, kvDim, hs, V := c.Dim, c.HiddenDim, c.KVDim(), c.HeadSize(), c.VocabSize
	B := len(sts)
	bs.seqs(B)
	xs, xbs, hbs, cols := bs.xs[:B], bs.xbs[:B], bs.hbs[:B], bs.cols[:B]
	defer func() { clear(xs); clear(xbs); clear(hbs); clear(cols) }()
	for b, s := range sts {
		if s.canAttendCols() {
			s.syncHeads(pos[b])
			s.xLen = pos[b] + 1 // written below, layer by layer
		}
		copy(s.x[:dim], m.tokEmb[toks[b]*dim:(toks[b]+1)*dim])
		xs[b], xbs[b], hbs[b], cols[b] = s.x[:dim], s.xb[:dim], s.hb[:hid], s.colBuf(dw)
	}
	workers := 1
	if B >= 2*minGroup {
		workers = min(threads, B)
	}
	residual := func() {
		for b, x := range xs {
			for i, u := range cols[b][:dim] {
				x[i] += u
			}
		}
	}
	for l := range m.layers {
		lw, dl := &m.layers[l], &dw.layers[l]
		rmsnormRows(xbs, xs, lw.rmsAtt)
		vecmatMulti(cols, xbs, dl.qkv)
		parallelFor(B, workers, func(b int) {
			s, p, col := sts[b], pos[b], cols[b]
			loff := l * s.cap * kvDim
			q, kc := s.q[:dim], s.kc[loff+p*kvDim:loff+(p+1)*kvDim]
			copy(q, col[:dim])
			copy(kc, col[dim:dim+kvDim])
			copy(s.vc[loff+p*kvDim:loff+(p+1)*kvDim], col[dim+kvDim:dim+2*kvDim])
			ropeRow := m.rope[p*hs : (p+1)*hs]
			rope(q, ropeRow, hs)
			rope(kc, ropeRow, hs)
			if s.canAttendCols() {
				s.storeHeads(l, p)
				s.attentionOne(l, p)
			} else {
				s.attention(l, p, 1)
			}
		})
		vecmatMulti(cols, xbs, dl.o)
		residual()
		rmsnormRows(xbs, xs, lw.rmsFFN)
		vecmatMulti(cols, xbs, dl.w13)
		for b, hb := range hbs {
			copy(hb, cols[b][:hid])
			silu(hb, cols[b][hid:2*hid])
		}
		vecmatMulti(cols, hbs, dl.w2)
		residual()
	}
	rmsnormRows(xs, xs, m.rmsFinal)
	vecmatMulti(cols, xs, dw.cls)
	for b, s := range sts {
		copy(s.logits[:V], cols[b][:V])
	}
}

// vecmatMulti is vecmat for several positions: outs[b] = a's product with
// xs[b], four positions per pass over a full panel.
func vecmatMulti(outs, xs [][]float32, a matT) {
	N := len(xs)
	for b := range N {
		_, _ = outs[b][a.ld-1], xs[b][a.n-1] // the assembly kernels trust these bounds
	}
	for c := 0; c < a.ld; c += panelRows {
		p, pw := a.panel(c)
		if pw < panelRows {
			for b := range N {
				vecmatCols(outs[b], xs[b], a, c, a.ld)
			}
			continue
		}
		b := 0
		for ; b+4 <= N; b += 4 {
			vecmat4x64z(&xs[b][0], &xs[b+1][0], &xs[b+2][0], &xs[b+3][0], &p[0],
				&outs[b][c], &outs[b+1][c], &outs[b+2][c], &outs[b+3][c], a.n, pw)
		}
		for ; b < N; b++ {
			vecmat64z(&xs[b][0], &p[0], &outs[b][c], a.n, pw)
		}
	}
}

// rmsnormRows is rmsnorm for several rows (os[b] may alias xs[b]): four
// rows' sums of squares run in one loop, so that four independent sequential
// sums are in flight where one row's would wait on each addition. Each sum
// is still its row's, in index order.
func rmsnormRows(os, xs [][]float32, weight []float32) {
	n := len(weight)
	b := 0
	for ; b+4 <= len(xs); b += 4 {
		x0, x1, x2, x3 := xs[b][:n], xs[b+1][:n], xs[b+2][:n], xs[b+3][:n]
		var s0, s1, s2, s3 float32
		for j := range n {
			s0 += float32(x0[j] * x0[j])
			s1 += float32(x1[j] * x1[j])
			s2 += float32(x2[j] * x2[j])
			s3 += float32(x3[j] * x3[j])
		}
		for i, ss := range [4]float32{s0, s1, s2, s3} {
			ss /= float32(n)
			ss += 1e-5
			ss = 1 / sqrt32(ss)
			o, x := os[b+i][:n], xs[b+i][:n]
			for j, v := range x {
				o[j] = float32(weight[j] * float32(ss*v))
			}
		}
	}
	for ; b < len(xs); b++ {
		rmsnorm(os[b], xs[b], weight)
	}
}
