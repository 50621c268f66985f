package inference

// Decoding one position in columns. A position's matrix-vector product has
// one sequential sum per output row, which cannot be split, so the vector
// kernels give every output row its own lane instead: with the weight
// transposed (input features x output rows), row j of the transposed matrix
// holds weight j of 64 consecutive output rows, and one step broadcasts x[j]
// and adds x[j]*w[j] into 64 lanes. Each lane is still its row's sum
// s = s + float32(w[i][j]*x[j]) over j ascending, from +0, so the logits are
// the row kernel's bit for bit (TestVecmatAgrees, TestKernelSetsAgreeEndToEnd,
// TestGoldenLogits).
//
// The transposed copy is built the first time a model decodes with the
// vector kernels (a validator that only scores never builds it). It holds
// every matrix of the layers and the classifier once more, output rows
// padded to a multiple of 8: the memory of the checkpoint's matrices again.
// The products that read the same input are stored side by side: Q, K and V
// as one matrix, and the two halves of the feed-forward gate (w1, w3), so a
// layer takes four calls.

// matT is a d x n matrix transposed and cut into panels of 64 output rows:
// panel c (c a multiple of 64) holds, for j ascending, weight j of rows
// c..c+63 side by side, so a kernel reads its panel front to back (a
// stride between rows would defeat the hardware prefetcher, which follows
// streams within a page). The last panel is narrower: the rows left,
// rounded up to 8 (zero beyond d). ld is d rounded up to 8.
type matT struct {
	w        []float32
	n, d, ld int
}

// panelRows is the width of a matT panel.
const panelRows = 64

// panel returns the panel of rows from c (a multiple of panelRows) and its width.
func (a matT) panel(c int) ([]float32, int) {
	pw := min(panelRows, a.ld-c)
	return a.w[c*a.n : c*a.n+pw*a.n], pw
}

// transposed stacks the row-major matrices ws (each rows x n) into one
// transposed matrix whose output rows are theirs in order.
func transposed(n int, ws ...[]float32) matT {
	d := 0
	for _, w := range ws {
		d += len(w) / n
	}
	m := matT{n: n, d: d, ld: (d + 7) &^ 7}
	m.w = make([]float32, n*m.ld)
	i := 0
	for _, w := range ws {
		for r := range len(w) / n {
			c := i / panelRows * panelRows
			p, pw := m.panel(c)
			for j, v := range w[r*n : (r+1)*n] {
				p[j*pw+i-c] = v
			}
			i++
		}
	}
	return m
}

// decodeWeights are a model's matrices in the transposed layout.
type decodeWeights struct {
	layers []decodeLayer
	cls    matT
}

type decodeLayer struct {
	qkv, o, w13, w2 matT
}

// decodeWeights returns the transposed layout, building it on first use.
func (m *Model) decodeWeights() *decodeWeights {
	m.decodeOnce.Do(func() {
		dw := &decodeWeights{layers: make([]decodeLayer, len(m.layers))}
		dim, hid := m.Dim, m.HiddenDim
		for l, lw := range m.layers {
			dw.layers[l] = decodeLayer{
				qkv: transposed(dim, lw.wq, lw.wk, lw.wv),
				o:   transposed(dim, lw.wo),
				w13: transposed(dim, lw.w1, lw.w3),
				w2:  transposed(hid, lw.w2),
			}
		}
		dw.cls = transposed(dim, m.wcls)
		m.decode = dw
	})
	return m.decode
}

// decodeCols lets single positions decode in columns where the vector
// kernels exist (benchmarks switch it off to compare with the row kernel).
var decodeCols = true

// useDecodeKernels reports whether single positions decode in columns.
func useDecodeKernels() bool { return useSIMD && decodeCols }

// vecmat sets out[:a.ld] to a's product with x (out[i] for i < a.d is row i's
// canonical sum; the padding rows give 0). It splits the output rows
// between up to threads goroutines when the product is large enough.
func vecmat(out, x []float32, a matT, threads int) {
	_, _ = out[a.ld-1], x[a.n-1] // the assembly kernels trust these bounds
	threads = matmulThreads(a.n*a.d, a.d/64, threads)
	splitRows(a.ld, threads, 64, func(c0, c1 int) { vecmatCols(out, x, a, c0, c1) })
}

// vecmatCols computes output rows [c0, c1) (c0 a multiple of panelRows,
// c1 one too or ld).
func vecmatCols(out, x []float32, a matT, c0, c1 int) {
	for c := c0; c < c1; c += panelRows {
		p, pw := a.panel(c)
		t := 0
		switch {
		case pw == panelRows && useAVX512:
			vecmat64z(&x[0], &p[0], &out[c], a.n, pw)
			continue
		case pw == panelRows:
			vecmat64y(&x[0], &p[0], &out[c], a.n, pw)
			continue
		case useAVX512:
			for ; t+16 <= pw; t += 16 {
				vecmat16z(&x[0], &p[t], &out[c+t], a.n, pw)
			}
		}
		for ; t < pw; t += 8 {
			vecmat8y(&x[0], &p[t], &out[c+t], a.n, pw)
		}
	}
}

// forwardOne is forward for one position with the column kernels. Its
// arithmetic is forward's for T = 1, step by step.
func (s *state) forwardOne(tok, pos int, want bool) []float32 {
	m, c := s.m, s.m.Config
	dw := m.decodeWeights()
	dim, hid, kvDim, hs := c.Dim, c.HiddenDim, c.KVDim(), c.HeadSize()
	if s.canAttendCols() {
		s.syncHeads(pos)
		s.xLen = pos + 1 // written below, layer by layer
	}
	x := s.x[:dim]
	copy(x, m.tokEmb[tok*dim:(tok+1)*dim])
	xb, q, col := s.xb[:dim], s.q[:dim], s.colBuf(dw)
	ropeRow := m.rope[pos*hs : (pos+1)*hs]
	for l := range m.layers {
		lw, dl := &m.layers[l], &dw.layers[l]
		rmsnorm(xb, x, lw.rmsAtt)
		vecmat(col, xb, dl.qkv, s.threads)
		loff := l * s.cap * kvDim
		kc := s.kc[loff+pos*kvDim : loff+(pos+1)*kvDim]
		copy(q, col[:dim])
		copy(kc, col[dim:dim+kvDim])
		copy(s.vc[loff+pos*kvDim:loff+(pos+1)*kvDim], col[dim+kvDim:dim+2*kvDim])
		rope(q, ropeRow, hs)
		rope(kc, ropeRow, hs)
		if s.canAttendCols() {
			s.storeHeads(l, pos)
			s.attentionOne(l, pos)
		} else {
			s.attention(l, pos, 1)
		}
		vecmat(col, xb, dl.o, s.threads)
		for i, v := range col[:dim] {
			x[i] += v
		}
		rmsnorm(xb, x, lw.rmsFFN)
		vecmat(col, xb, dl.w13, s.threads)
		hb := s.hb[:hid]
		copy(hb, col[:hid])
		silu(hb, col[hid:2*hid])
		vecmat(col, hb, dl.w2, s.threads)
		for i, v := range col[:dim] {
			x[i] += v
		}
	}
	if !want {
		return nil
	}
	rmsnorm(x, x, m.rmsFinal)
	out := s.logits[:c.VocabSize]
	vecmat(col, x, dw.cls, s.threads)
	copy(out, col[:c.VocabSize])
	return out
}

// colBuf is forwardOne's buffer for product outputs, padding included.
func (s *state) colBuf(dw *decodeWeights) []float32 {
	if s.col == nil {
		n := dw.cls.ld
		for _, dl := range dw.layers[:1] {
			n = max(n, dl.qkv.ld, dl.o.ld, dl.w13.ld, dl.w2.ld)
		}
		s.col = make([]float32, n)
	}
	return s.col
}

// Decoding attention with a lane per head. For one query per head, attend's
// three loops over the keys (scores, softmax, weighted values) are the same
// loops for every head, so the heads go side by side in vector lanes: the
// cache keeps each position's keys and values once more, channel by
// channel with the kv heads side by side (kx, vx: kld = KVHeads floats per
// channel of a position), and
//
//   - attnScoresG gives each lane its head's score, the sequential sum over
//     the head's channels of q*k, reading its kv head through a permutation
//     (a grouped-query kv head serves several lanes, stored once);
//   - softmaxCols runs down the positions, a column per head: attend's
//     scale, maximum, exponentials, sum and division in position order;
//   - attnValuesG gives each lane of channel i its head's sum over the
//     positions, in order, of weight*value.
//
// Each lane computes exactly what attend computes for its head, so the
// output is attend's bit for bit.

// canAttendCols reports whether attentionOne can run (the values go eight
// channels at a time).
func (s *state) canAttendCols() bool { return s.headsOK }

// headLanes is the lanes of the score columns: the heads rounded up to 8.
func headLanes(c Config) int { return (c.Heads + 7) &^ 7 }

// headsTail is the floats kx and vx hold beyond their last row: the
// kernels load eight kv heads from a block's first one.
const headsTail = 8

// headsIdx is the permutation of attnScoresG and attnValuesG for the eight
// query heads from b: lane j reads kv head (b+j)/kvMul, at offset
// idx[j] from the block's first kv head b/kvMul. Padding lanes (no head)
// repeat the last head.
func headsIdx(c Config, b int) (g0 int, idx [8]int32) {
	kvMul := c.Heads / c.KVHeads
	g0 = b / kvMul
	for j := range idx {
		idx[j] = int32(min(b+j, c.Heads-1)/kvMul - g0)
	}
	return g0, idx
}

// storeHeads copies position p's keys and values of layer l from the
// position-major cache into kx and vx.
func (s *state) storeHeads(l, p int) {
	c := s.m.Config
	kvDim, hs, G := c.KVDim(), c.HeadSize(), c.KVHeads
	row := s.kc[(l*s.cap+p)*kvDim : (l*s.cap+p+1)*kvDim]
	vrow := s.vc[(l*s.cap+p)*kvDim : (l*s.cap+p+1)*kvDim]
	base := (l*s.cap + p) * kvDim
	kx, vx := s.kx[base:base+kvDim], s.vx[base:base+kvDim]
	for g := range G {
		for i := range hs {
			kx[i*G+g] = row[g*hs+i]
			vx[i*G+g] = vrow[g*hs+i]
		}
	}
}

// syncHeads fills kx and vx (allocating them on first use) for the
// positions cached since they were last written (xLen..upto-1, every
// layer): those of batched chunks.
func (s *state) syncHeads(upto int) {
	if s.kx == nil {
		c := s.m.Config
		hx := c.Layers*s.cap*c.KVDim() + headsTail
		s.kx, s.vx = make([]float32, hx), make([]float32, hx)
		s.attCols = make([]float32, s.cap*headLanes(c))
		s.attQ = make([]float32, c.HeadSize()*headLanes(c))
		s.attO = make([]float32, c.HeadSize()*headLanes(c))
	}
	for p := s.xLen; p < upto; p++ {
		for l := range s.m.Layers {
			s.storeHeads(l, p)
		}
	}
	s.xLen = max(s.xLen, upto)
}

// attentionOne is attention for the one position pos of layer l, whose key
// and value are cached (in kx and vx too): s.q in, s.xb out.
func (s *state) attentionOne(l, pos int) {
	c := s.m.Config
	hs, H, Hp := c.HeadSize(), c.Heads, headLanes(c)
	P := pos + 1
	P4 := (P + 3) &^ 3 // the cache is padded to a multiple of 8 positions
	qT, oT, sc := s.attQ[:hs*Hp], s.attO[:hs*Hp], s.attCols[:P4*Hp]
	for h := range H {
		for i, v := range s.q[h*hs : (h+1)*hs] {
			qT[i*Hp+h] = v
		}
	}
	G := c.KVHeads
	base := l * s.cap * hs * G
	kx, vx := s.kx[base:base+P4*hs*G+headsTail], s.vx[base:base+P*hs*G+headsTail]
	for b := 0; b < Hp; b += 8 {
		g0, idx := headsIdx(c, b)
		attnScoresG(&qT[b], &kx[g0], &sc[b], &idx[0], hs, P4, Hp, G)
	}
	scale := sqrt32(float32(hs))
	switch {
	case useAVX512 && Hp%16 == 0:
		softmaxColsZ(&sc[0], P, Hp, scale, Hp/16)
	case useAVX512:
		softmaxColsYZ(&sc[0], P, Hp, scale, Hp/8)
	default:
		softmaxCols(&sc[0], P, Hp, scale, Hp/8)
	}
	for b := 0; b < Hp; b += 8 {
		g0, idx := headsIdx(c, b)
		for i0 := 0; i0 < hs; i0 += 8 {
			attnValuesG(&sc[b], &vx[i0*G+g0], &oT[i0*Hp+b], &idx[0], P, hs, Hp, G)
		}
	}
	for h := range H {
		out := s.xb[h*hs : (h+1)*hs]
		for i := range out {
			out[i] = oT[i*Hp+h]
		}
	}
}
