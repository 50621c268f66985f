package inference

import "sync"

// The canonical matrix product of the engine: every output element is
//
//	s = 0; for j := 0; j < n; j++ { s = s + float32(w[i*n+j]*x[j]) }
//
// a sequential float32 sum over j in ascending order of individually rounded
// products. The explicit float32 conversion forbids the compiler from fusing
// the multiply and the add into an FMA (it would on arm64, ppc64 and s390x),
// and Go never reassociates floating-point sums, so the result is the same bit
// pattern on every machine. All kernels below compute exactly this; they only
// differ in how many rows and positions they carry at once (register blocking
// for speed), and the parallel driver splits rows between goroutines without
// any cross-goroutine reduction. Hence a batched teacher-forced pass gives the
// same logits as token-by-token generation, bit for bit.

// matmul computes out[t*d+i] = W[i,:]·x[t,:] for t < T, i < d, where W is
// d x n row-major and x is T x n. It uses up to threads goroutines, and the
// AVX2 kernel when there are enough positions to fill its registers; sc
// holds that kernel's transposed buffers (nil allocates them).
func matmul(out, x, w []float32, n, d, T, threads int, sc *simdScratch) {
	_, _, _ = out[T*d-1], x[T*n-1], w[d*n-1] // the assembly kernel trusts these bounds
	threads = matmulThreads(n*d*T, d, threads)
	if useSIMD && T >= simdMinPositions && d >= 4 {
		matmulSIMD(out, x, w, n, d, T, threads, sc)
		return
	}
	if threads <= 1 {
		matmulRows(out, x, w, n, d, T, 0, d)
		return
	}
	splitRows(d, threads, 2, func(i0, i1 int) { matmulRows(out, x, w, n, d, T, i0, i1) })
}

// parallelMinWork is the least work (in multiply-adds) worth handing to
// another goroutine. Starting one is about a microsecond, but waking the
// idle CPU it lands on costs tens of microseconds on a virtual machine,
// and a split below this size measured slower than one thread there.
// Tests lower it to run the split on small models.
var parallelMinWork = 1 << 20

// matmulThreads is how many goroutines a product of work multiply-adds
// over d rows deserves.
func matmulThreads(work, d, threads int) int {
	if threads <= 1 || work < 2*parallelMinWork {
		return 1
	}
	return max(1, min(threads, work/parallelMinWork, d/4))
}

// splitRows runs f on contiguous row ranges, aligned to align rows, on up to
// threads goroutines. Each range is computed completely by one goroutine.
func splitRows(d, threads, align int, f func(i0, i1 int)) {
	if threads <= 1 {
		f(0, d)
		return
	}
	chunk := (d/threads + align - 1) / align * align
	var wg sync.WaitGroup
	for i0 := chunk; i0 < d; i0 += chunk {
		i1 := min(i0+chunk, d)
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i0, i1)
		}()
	}
	defer wg.Wait()     // also when f panics: the others finish first
	f(0, min(chunk, d)) // the first range on the caller's goroutine: one hand-off fewer
}

// simdMinPositions: below this many positions most vector lanes would be
// padding; the scalar kernels are as fast.
const simdMinPositions = 6

// simdScratch holds the transposed input and output of matmulSIMD.
type simdScratch struct{ xT, oT []float32 }

func (sc *simdScratch) buffers(nx, no int) ([]float32, []float32) {
	if sc == nil {
		return make([]float32, nx), make([]float32, no)
	}
	if len(sc.xT) < nx {
		sc.xT = make([]float32, nx)
	}
	if len(sc.oT) < no {
		sc.oT = make([]float32, no)
	}
	return sc.xT[:nx], sc.oT[:no]
}

// matmulSIMD transposes x so that 16 positions sit side by side, runs the
// 4-row x 16-position AVX2 tile over every block, and transposes back.
// Rows beyond a multiple of 4 go through the scalar kernel.
func matmulSIMD(out, x, w []float32, n, d, T, threads int, sc *simdScratch) {
	ldx := (T + 15) &^ 15
	d4 := d &^ 3
	xT, oT := sc.buffers(n*ldx, d4*ldx)
	for j := range n {
		row := xT[j*ldx : (j+1)*ldx]
		for t := range T {
			row[t] = x[t*n+j]
		}
		clear(row[T:])
	}
	splitRows(d4, threads, 4, func(i0, i1 int) {
		for i := i0; i < i1; i += 4 {
			for p := 0; p < ldx; p += 16 {
				tile4x16(&xT[p], &w[i*n], &oT[i*ldx+p], n, ldx, n, ldx)
			}
		}
	})
	for i := range d4 {
		row := oT[i*ldx : i*ldx+T]
		for t, v := range row {
			out[t*d+i] = v
		}
	}
	if d4 < d {
		matmulRows(out, x, w, n, d, T, d4, d)
	}
}

// matmulRows computes rows [i0, i1) of every position.
func matmulRows(out, x, w []float32, n, d, T, i0, i1 int) {
	t := 0
	for ; t+3 <= T; t += 3 {
		matmul2x3(out, x, w, n, d, t, i0, i1)
	}
	for ; t < T; t++ {
		matvec(out[t*d:(t+1)*d], x[t*n:(t+1)*n], w, n, i0, i1)
	}
}

// matvec computes out[i] = W[i,:]·x for i in [i0, i1), four rows at a time so
// that each load of x[j] feeds four independent sums.
func matvec(out, x, w []float32, n, i0, i1 int) {
	x = x[:n]
	i := i0
	for ; i+4 <= i1; i += 4 {
		w0 := w[i*n:][:len(x)]
		w1 := w[(i+1)*n:][:len(x)]
		w2 := w[(i+2)*n:][:len(x)]
		w3 := w[(i+3)*n:][:len(x)]
		var s0, s1, s2, s3 float32
		for j, xv := range x {
			s0 += float32(w0[j] * xv)
			s1 += float32(w1[j] * xv)
			s2 += float32(w2[j] * xv)
			s3 += float32(w3[j] * xv)
		}
		out[i], out[i+1], out[i+2], out[i+3] = s0, s1, s2, s3
	}
	for ; i < i1; i++ {
		wr := w[i*n:][:len(x)]
		var s float32
		for j, xv := range x {
			s += float32(wr[j] * xv)
		}
		out[i] = s
	}
}

// matmul2x3 computes rows [i0, i1) for positions t, t+1, t+2: two weight rows
// times three positions, so each weight load feeds three sums and each input
// load two.
func matmul2x3(out, x, w []float32, n, d, t, i0, i1 int) {
	x0 := x[t*n : t*n+n]
	x1 := x[(t+1)*n : (t+1)*n+n]
	x2 := x[(t+2)*n : (t+2)*n+n]
	o0 := out[t*d:][:d]
	o1 := out[(t+1)*d:][:d]
	o2 := out[(t+2)*d:][:d]
	i := i0
	for ; i+2 <= i1; i += 2 {
		w0 := w[i*n : i*n+n]
		w1 := w[(i+1)*n : (i+1)*n+n]
		w1 = w1[:len(w0)]
		x0, x1, x2 := x0[:len(w0)], x1[:len(w0)], x2[:len(w0)]
		var a0, a1, a2, b0, b1, b2 float32
		for j, u := range w0 {
			v := w1[j]
			c0, c1, c2 := x0[j], x1[j], x2[j]
			a0 += float32(u * c0)
			a1 += float32(u * c1)
			a2 += float32(u * c2)
			b0 += float32(v * c0)
			b1 += float32(v * c1)
			b2 += float32(v * c2)
		}
		o0[i], o1[i], o2[i] = a0, a1, a2
		o0[i+1], o1[i+1], o2[i+1] = b0, b1, b2
	}
	for ; i < i1; i++ {
		wr := w[i*n:][:n]
		x0, x1, x2 := x0[:len(wr)], x1[:len(wr)], x2[:len(wr)]
		var a0, a1, a2 float32
		for j, u := range wr {
			a0 += float32(u * x0[j])
			a1 += float32(u * x1[j])
			a2 += float32(u * x2[j])
		}
		o0[i], o1[i], o2[i] = a0, a1, a2
	}
}

// parallelFor runs f(k) for k in [0, n) on up to threads goroutines. Every
// f(k) must write only its own outputs, so the schedule cannot change results.
func parallelFor(n, threads int, f func(k int)) {
	if threads > n {
		threads = n
	}
	if threads <= 1 {
		for k := range n {
			f(k)
		}
		return
	}
	var wg sync.WaitGroup
	for g := 1; g < threads; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := g; k < n; k += threads {
				f(k)
			}
		}()
	}
	defer wg.Wait()                   // also when f panics: the others finish first
	for k := 0; k < n; k += threads { // share 0 on the caller's goroutine
		f(k)
	}
}
