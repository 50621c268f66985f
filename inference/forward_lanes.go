package inference

// The batched pass in lane layout. forward keeps one row per position
// (position-major), which suits decoding; the vector tiles want positions
// side by side (feature-major: a row per feature, a lane per position). Converting
// at every matrix product cost as much as the products themselves in small
// models, so a batched pass runs in lane layout from the embedding to the
// logits: every product, the attention (queries and outputs are already
// per-head lane blocks) and the element-wise steps work on lanes, and only
// the cache rows and the logits are written back position-major. Each lane
// still does exactly the scalar arithmetic of its position, in the same
// order, so the results are forward's bit for bit (TestBatchedForwardBitIdentical).

// lanesMinPositions: below this many positions most lanes would be padding
// and the row layout (whose one-position kernel decodes) is as fast.
const lanesMinPositions = 2

// canUseLanes reports whether forwardLanes can run T positions: the tile
// computes four rows at a time, so every product's row count and the head
// size must be multiples of four.
func (s *state) canUseLanes(T int) bool {
	c := s.m.Config
	return useSIMD && s.vt != nil && T >= lanesMinPositions &&
		c.Dim%4 == 0 && c.HiddenDim%4 == 0 && c.KVDim()%4 == 0 && c.VocabSize%4 == 0 && c.HeadSize()%4 == 0
}

// forwardLanes is forward for canUseLanes(len(tokens)).
func (s *state) forwardLanes(tokens []int, pos0, want int) []float32 {
	m, c := s.m, s.m.Config
	T := len(tokens)
	// Lanes: positions padded to the tile width. Lanes never mix, so padding
	// lanes (zero at the embedding) are computed along and never read back.
	L := (T + 15) &^ 15
	dim, hid, kvDim := c.Dim, c.HiddenDim, c.KVDim()
	x, xb, xb2 := s.x[:dim*L], s.xb[:dim*L], s.xb2[:dim*L]
	clear(x)
	for t, tok := range tokens {
		for i, v := range m.tokEmb[tok*dim : (tok+1)*dim] {
			x[i*L+t] = v
		}
	}
	s.syncValuesT(pos0)
	q, k, v := s.q[:dim*L], s.kT[:kvDim*L], s.vT[:kvDim*L]
	hb, hb2 := s.hb[:hid*L], s.hb2[:hid*L]
	for l := range m.layers {
		lw := &m.layers[l]
		rmsnormLanes(xb, x, lw.rmsAtt, L, s.ss[:L])
		matmulLanes(q, xb, lw.wq, dim, dim, L, s.threads)
		matmulLanes(k, xb, lw.wk, dim, kvDim, L, s.threads)
		matmulLanes(v, xb, lw.wv, dim, kvDim, L, s.threads)
		s.ropeLanes(q, pos0, T, L)
		s.ropeLanes(k, pos0, T, L)
		s.storeKV(l, pos0, T, L)
		s.attentionLanes(l, pos0, T, L)
		matmulLanes(xb2, xb, lw.wo, dim, dim, L, s.threads)
		for i, u := range xb2 {
			x[i] += u
		}
		rmsnormLanes(xb, x, lw.rmsFFN, L, s.ss[:L])
		matmulLanes(hb, xb, lw.w1, dim, hid, L, s.threads)
		matmulLanes(hb2, xb, lw.w3, dim, hid, L, s.threads)
		silu(hb, hb2)
		matmulLanes(xb, hb, lw.w2, hid, dim, L, s.threads)
		for i, u := range xb {
			x[i] += u
		}
	}
	if want >= T {
		return nil
	}
	n, V := T-want, c.VocabSize
	rmsnormLanes(x, x, m.rmsFinal, L, s.ss[:L])
	out := s.logits[:n*V]
	if n < lanesMinPositions {
		// A prompt's prefill wants only its last position: one row product.
		if useDecodeKernels() {
			row := xb[:dim]
			for i := range row {
				row[i] = x[i*L+want]
			}
			dw := m.decodeWeights()
			cls, col := dw.cls, s.colBuf(dw)
			vecmat(col, row, cls, s.threads)
			copy(out, col[:V])
			return out
		}
		for t := want; t < T; t++ {
			row := xb[(t-want)*dim : (t-want+1)*dim]
			for i := range row {
				row[i] = x[i*L+t]
			}
		}
		matmul(out, xb[:n*dim], m.wcls, dim, V, n, s.threads, &s.simd)
		return out
	}
	if s.logitsT == nil {
		s.logitsT = make([]float32, V*chunkLen)
	}
	lt := s.logitsT[:V*L]
	matmulLanes(lt, x, m.wcls, dim, V, L, s.threads)
	for i := range V {
		row := lt[i*L : i*L+T]
		for t := want; t < T; t++ {
			out[(t-want)*V+i] = row[t]
		}
	}
	return out
}

// matmulLanes computes outT[i*L+p] = W[i,:]·x[:,p] for i < d, p < L: W is
// d x n row-major, xT is n x L (a lane per position). d and L are multiples
// of 4 and 8. Rows are split between up to threads goroutines.
func matmulLanes(outT, xT, w []float32, n, d, L, threads int) {
	_, _, _ = outT[d*L-1], xT[n*L-1], w[d*n-1] // the assembly kernel trusts these bounds
	threads = matmulThreads(n*d*L, d, threads)
	L16 := L &^ 15
	splitRows(d, threads, 8, func(i0, i1 int) {
		if L16 > 0 {
			for i := i0; i < i1; i += 4 {
				tileRow(xT, w[i*n:], outT[i*L:], n, L, n, L, L16)
			}
		}
		if L16 == L {
			return
		}
		// The last eight lanes (a batch of decoding sequences, 16k+8 of them).
		i := i0
		for ; i+8 <= i1; i += 8 {
			tile8x8(&xT[L16], &w[i*n], &outT[i*L+L16], n, L, n, L)
		}
		if i < i1 {
			tile4x8(&xT[L16], &w[i*n], &outT[i*L+L16], n, L, n, L)
		}
	})
}

// rmsnormLanes is rmsnorm for every lane of xT (features x L); oT may alias
// xT. ss is scratch of L.
func rmsnormLanes(oT, xT, weight []float32, L int, ss []float32) {
	clear(ss)
	dim := len(weight)
	for i := range dim {
		row := xT[i*L : (i+1)*L]
		for p, v := range row {
			ss[p] += float32(v * v)
		}
	}
	for p, v := range ss {
		v /= float32(dim)
		v += 1e-5
		ss[p] = 1 / sqrt32(v)
	}
	for i, wt := range weight {
		row, o := xT[i*L:(i+1)*L], oT[i*L:(i+1)*L]
		for p, v := range row {
			o[p] = float32(wt * float32(ss[p]*v))
		}
	}
}

// ropeLanes rotates the first T lanes of vT (a multiple of the head size of
// features x L) by their positions pos0+t, as rope does per position.
func (s *state) ropeLanes(vT []float32, pos0, T, L int) {
	hs := s.m.HeadSize()
	rows := len(vT) / L
	for i := 0; i < rows; i += 2 {
		j := i % hs
		r0, r1 := vT[i*L:i*L+T], vT[(i+1)*L:(i+1)*L+T]
		for t := range T {
			tab := s.m.rope[(pos0+t)*hs+j:]
			fcr, fci := tab[0], tab[1]
			v0, v1 := r0[t], r1[t]
			r0[t] = float32(v0*fcr) - float32(v1*fci)
			r1[t] = float32(v0*fci) + float32(v1*fcr)
		}
	}
}

// storeKV writes the keys and values of the chunk (lane layout) into the
// cache: keys and values position-major, values also channel-major.
func (s *state) storeKV(l, pos0, T, L int) {
	kvDim := s.m.KVDim()
	loff := l * s.cap * kvDim
	for ch := range kvDim {
		kr, vr := s.kT[ch*L:ch*L+T], s.vT[ch*L:ch*L+T]
		for t := range T {
			s.kc[loff+(pos0+t)*kvDim+ch] = kr[t]
			s.vc[loff+(pos0+t)*kvDim+ch] = vr[t]
		}
		copy(s.vt[loff+ch*s.cap+pos0:], vr)
	}
	s.vtLen = max(s.vtLen, pos0+T)
}

// tileRow computes 4 rows x L lanes (a multiple of 16) with the widest tile
// kernel the CPU has; ldo is the output row stride.
func tileRow(xT, w, outT []float32, n, ldx, ldw, ldo, L int) {
	p := 0
	if useAVX512 {
		for ; p+32 <= L; p += 32 {
			tile4x32(&xT[p], &w[0], &outT[p], n, ldx, ldw, ldo)
		}
		if p < L {
			tile4x16z(&xT[p], &w[0], &outT[p], n, ldx, ldw, ldo)
			p += 16
		}
	}
	for ; p < L; p += 16 {
		tile4x16(&xT[p], &w[0], &outT[p], n, ldx, ldw, ldo)
	}
}
