package inference

import "math"

// attention computes, for the T positions from pos0 of layer l (row
// layout), every head's attention output into xb, reading queries from q and
// keys and values from the cache, which already holds these positions.
func (s *state) attention(l, pos0, T int) {
	c := s.m.Config
	dim, kvDim, hs := c.Dim, c.KVDim(), c.HeadSize()
	kvMul := c.Heads / c.KVHeads
	loff := l * s.cap * kvDim
	kAll := s.kc[loff : loff+s.cap*kvDim]
	vAll := s.vc[loff : loff+s.cap*kvDim]
	tasks := T * c.Heads
	workers := 1
	if s.threads > 1 && T > 1 {
		workers = min(s.threads, tasks)
	}
	run := func(task int, att []float32) {
		t, h := task/c.Heads, task%c.Heads
		kvOff := (h / kvMul) * hs
		attend(s.xb[t*dim+h*hs:t*dim+(h+1)*hs], s.q[t*dim+h*hs:t*dim+(h+1)*hs],
			kAll[kvOff:], vAll[kvOff:], att[:pos0+t+1], kvDim)
	}
	if workers == 1 {
		for task := range tasks {
			run(task, s.att[:s.cap])
		}
		return
	}
	parallelFor(workers, workers, func(g int) {
		for task := g; task < tasks; task += workers {
			run(task, s.att[g*s.cap:(g+1)*s.cap])
		}
	})
}

// syncValuesT copies the values the row layout cached since the last lane
// chunk (positions vtLen..upto-1, every layer) into the channel-major cache
// vt that attentionLanes reads. Decoding never reads vt, so it is filled
// only when a lane chunk follows row-layout positions.
func (s *state) syncValuesT(upto int) {
	kvDim := s.m.KVDim()
	for l := range s.m.Layers {
		loff := l * s.cap * kvDim
		for p := s.vtLen; p < upto; p++ {
			for ch, v := range s.vc[loff+p*kvDim : loff+(p+1)*kvDim] {
				s.vt[loff+ch*s.cap+p] = v
			}
		}
	}
	s.vtLen = max(s.vtLen, upto)
}

// attentionLanes is attention in lane layout (see forwardLanes), one head at
// a time with the matrix tiles: the scores of 4 keys x 16 or 32 queries, and
// the weighted values of 4 channels x 16 or 32 queries, per call. Every lane
// is one query's sequential sum in attend's order, and keys a query may not
// see (later positions of the chunk) get weight exactly 0, which adds
// nothing, so each query's result is attend's bit for bit.
func (s *state) attentionLanes(l, pos0, T, L int) {
	c := s.m.Config
	workers := 1
	if work := c.Heads * (pos0 + T) * L * (2*c.HeadSize() + 16); s.threads > 1 && work >= parallelMinWork {
		workers = min(s.threads, c.Heads)
	}
	for len(s.attn) < workers {
		s.attn = append(s.attn, make([]float32, s.cap*chunkLen))
	}
	parallelFor(workers, workers, func(g int) {
		for h := g; h < c.Heads; h += workers {
			s.attendHeadLanes(s.attn[g], l, h, pos0, T, L)
		}
	})
}

// attendHeadLanes is head h of attentionLanes; sc is the worker's scratch
// for the scores (then weights), key-major.
func (s *state) attendHeadLanes(sc []float32, l, h, pos0, T, L int) {
	c := s.m.Config
	kvDim, hs := c.KVDim(), c.HeadSize()
	kvOff := (h / (c.Heads / c.KVHeads)) * hs
	loff := l * s.cap * kvDim
	P := pos0 + T      // keys the last query sees
	P4 := (P + 3) &^ 3 // rounded up to the tile's 4 rows (the cache is padded)
	scale := sqrt32(float32(hs))
	qT, oT, sc := s.q[h*hs*L:(h+1)*hs*L], s.xb[h*hs*L:(h+1)*hs*L], sc[:P4*L]
	keys := s.kc[loff+kvOff : loff+s.cap*kvDim]
	_ = keys[(P4-1)*kvDim+hs-1] // the kernel trusts these bounds
	for p := 0; p < P4; p += 4 {
		tileRow(qT, keys[p*kvDim:], sc[p*L:], hs, L, kvDim, L, L)
	}
	// Query t sees keys 0..pos0+t. A key it may not see scores -Inf, which
	// never raises the maximum and whose exponential is exactly 0, so the
	// softmax down every lane is attend's over the keys that lane sees.
	// Padding lanes (t >= T) compute harmless values that are never read.
	negInf := float32(math.Inf(-1))
	for p := pos0 + 1; p < P; p++ {
		row := sc[p*L : p*L+T]
		for t := range p - pos0 {
			row[t] = negInf
		}
	}
	if useAVX512 {
		softmaxColsZ(&sc[0], P, L, scale, L/16)
	} else {
		softmaxCols(&sc[0], P, L, scale, L/8)
	}
	vals := s.vt[loff+kvOff*s.cap : loff+(kvOff+hs)*s.cap]
	for i := 0; i < hs; i += 4 {
		tileRow(sc, vals[i*s.cap:], oT[i*L:], P, L, s.cap, L, L)
	}
}

// attend is one head of run.c's attention for one position: scores of q
// against the keys of positions 0..len(att)-1 (at stride in keys), divided by
// sqrt(head size), softmax, then the weighted sum of the values into xb.
// Scores are computed four positions at a time so that four independent
// sums are in flight; each one is still the sequential sum over the head.
func attend(xb, q, keys, vals, att []float32, stride int) {
	hs := len(q)
	scale := sqrt32(float32(hs))
	n := len(att)
	p := 0
	for ; p+4 <= n; p += 4 {
		k0 := keys[p*stride:][:hs]
		k1 := keys[(p+1)*stride:][:hs]
		k2 := keys[(p+2)*stride:][:hs]
		k3 := keys[(p+3)*stride:][:hs]
		var s0, s1, s2, s3 float32
		for i, qv := range q {
			s0 += float32(qv * k0[i])
			s1 += float32(qv * k1[i])
			s2 += float32(qv * k2[i])
			s3 += float32(qv * k3[i])
		}
		att[p], att[p+1], att[p+2], att[p+3] = s0/scale, s1/scale, s2/scale, s3/scale
	}
	for ; p < n; p++ {
		k := keys[p*stride:][:hs]
		var s float32
		for i, qv := range q {
			s += float32(qv * k[i])
		}
		att[p] = s / scale
	}
	softmax(att)
	xb = xb[:hs]
	clear(xb)
	for p, a := range att {
		v := vals[p*stride:][:hs]
		for i := range xb {
			xb[i] += float32(a * v[i])
		}
	}
}
