package inference

// Packed prefill. The Batcher prefills the prompts of several sequences in
// one lane-layout pass: a lane per (sequence, position), so that prompts
// shorter than a chunk fill one set of tiles together instead of each
// padding its own to 16 lanes (16 five-token prompts: 80 lanes in three
// passes instead of 256 in sixteen). Every lane does what forwardLanes does
// for its position: the products, RMSNorm, SiLU and the residuals work lane
// by lane and never mix lanes, and each sequence's RoPE, cache writes and
// attention run on its own state with forwardLanes' own code
// (ropeLanes, storeKV, attentionLanes) over its lanes. A position's result
// does not depend on which chunk carries it (TestBatchedForwardBitIdentical),
// so a packed prompt gets the logits it gets alone.

// prefillSeg is one sequence's chunk of prompt in a packed pass.
type prefillSeg struct {
	st     *state
	tokens []int
	pos0   int
	logits bool // the chunk ends the prompt: its last position's logits are wanted
}

// prefillPacked runs segs, at most chunkLen positions in all, as one pass
// and leaves the logits of every segment that wants them in its state's
// logits[:VocabSize]. The states can all run forwardLanes (canUseLanes).
func prefillPacked(m *Model, bs *batchScratch, segs []prefillSeg, threads int) {
	c := m.Config
	T := 0
	for _, sg := range segs {
		T += len(sg.tokens)
	}
	L := (T + 7) &^ 7 // matmulLanes' tiles take 16 or 32 lanes, then 8
	bs.grow(c, chunkLen)
	dim, hid, kvDim, V := c.Dim, c.HiddenDim, c.KVDim(), c.VocabSize
	x, xb, xb2 := bs.x[:dim*L], bs.xb[:dim*L], bs.xb2[:dim*L]
	q, k, v := bs.q[:dim*L], bs.k[:kvDim*L], bs.v[:kvDim*L]
	hb, hb2 := bs.hb[:hid*L], bs.hb2[:hid*L]
	clear(x)
	o := 0
	for _, sg := range segs {
		for t, tok := range sg.tokens {
			for i, e := range m.tokEmb[tok*dim : (tok+1)*dim] {
				x[i*L+o+t] = e
			}
		}
		sg.st.syncValuesT(sg.pos0)
		o += len(sg.tokens)
	}
	for l := range m.layers {
		lw := &m.layers[l]
		rmsnormLanes(xb, x, lw.rmsAtt, L, bs.ss[:L])
		matmulLanes(q, xb, lw.wq, dim, dim, L, threads)
		matmulLanes(k, xb, lw.wk, dim, kvDim, L, threads)
		matmulLanes(v, xb, lw.wv, dim, kvDim, L, threads)
		o = 0
		for _, sg := range segs {
			s, n := sg.st, len(sg.tokens)
			Ls := (n + 15) &^ 15 // forwardLanes' lanes for this chunk
			sq, sk, sv := s.q[:dim*Ls], s.kT[:kvDim*Ls], s.vT[:kvDim*Ls]
			copyLanes(sq, q, Ls, L, o, n)
			copyLanes(sk, k, Ls, L, o, n)
			copyLanes(sv, v, Ls, L, o, n)
			s.ropeLanes(sq, sg.pos0, n, Ls)
			s.ropeLanes(sk, sg.pos0, n, Ls)
			s.storeKV(l, sg.pos0, n, Ls)
			s.attentionLanes(l, sg.pos0, n, Ls)
			sx := s.xb[:dim*Ls]
			for i := range dim {
				copy(xb[i*L+o:i*L+o+n], sx[i*Ls:i*Ls+n])
			}
			o += n
		}
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
	// The classifier for the last position of each prompt that ends here:
	// one row each, as forwardLanes computes a prompt's last logits.
	var rows, outs [][]float32
	var wanted []*state
	o = 0
	for _, sg := range segs {
		o += len(sg.tokens)
		if !sg.logits {
			continue
		}
		row := sg.st.xb[:dim]
		for i := range row {
			row[i] = x[i*L+o-1]
		}
		rows, wanted = append(rows, row), append(wanted, sg.st)
	}
	switch {
	case len(rows) == 0:
	case useDecodeKernels():
		dw := m.decodeWeights()
		for _, s := range wanted {
			outs = append(outs, s.colBuf(dw))
		}
		if useAVX512 {
			vecmatMulti(outs, rows, dw.cls)
		} else {
			for i, row := range rows {
				vecmat(outs[i], row, dw.cls, threads)
			}
		}
		for i, s := range wanted {
			copy(s.logits[:V], outs[i][:V])
		}
	default:
		for i, s := range wanted {
			matmul(s.logits[:V], rows[i], m.wcls, dim, V, 1, threads, &s.simd)
		}
	}
}

// copyLanes copies lanes [o, o+n) of src (rows of L lanes) to lanes [0, n)
// of dst (rows of Ls lanes, as many rows) and clears dst's other lanes.
func copyLanes(dst, src []float32, Ls, L, o, n int) {
	rows := len(dst) / Ls
	for i := range rows {
		d := dst[i*Ls : (i+1)*Ls]
		copy(d, src[i*L+o:i*L+o+n])
		clear(d[n:])
	}
}
