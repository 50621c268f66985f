package inference

// dist summarises one row of logits for log-probabilities. Everything is
// computed in float64 with the deterministic exp/log and a fixed summation
// order, so logprobs are bit-identical wherever the logits are. expFast's
// relative error (6e-9) bounds the logprob error far below any tolerance.
type dist struct {
	logits []float32
	max    float32
	logSum float64 // log(sum_i exp(logit_i - max))
}

func newDist(logits []float32) dist {
	_, mx := maxIndex(logits)
	var sum float64
	var terms [256]float64
	for i := 0; i < len(logits); i += len(terms) {
		blk := logits[i:min(i+len(terms), len(logits))]
		expDiffAll(terms[:len(blk)], blk, mx)
		for _, e := range terms[:len(blk)] {
			sum += e
		}
	}
	return dist{logits: logits, max: mx, logSum: detLog(sum)}
}

// newDists sets ds[i] = newDist(rows[i]). Four rows of one length go
// through one loop, so that four independent sequential sums are in flight
// where one row's would wait on each addition; each sum is still its row's,
// in index order.
func newDists(ds []dist, rows [][]float32) {
	b := 0
	for ; b+4 <= len(rows); b += 4 {
		n := len(rows[b])
		if len(rows[b+1]) != n || len(rows[b+2]) != n || len(rows[b+3]) != n {
			break
		}
		var mx [4]float32
		for r := range 4 {
			_, mx[r] = maxIndex(rows[b+r])
		}
		var t [4][256]float64
		var s0, s1, s2, s3 float64
		for i := 0; i < n; i += len(t[0]) {
			m := min(len(t[0]), n-i)
			for r := range 4 {
				expDiffAll(t[r][:m], rows[b+r][i:i+m], mx[r])
			}
			t0 := t[0][:m]
			t1, t2, t3 := t[1][:len(t0)], t[2][:len(t0)], t[3][:len(t0)]
			for j, e := range t0 {
				s0 += e
				s1 += t1[j]
				s2 += t2[j]
				s3 += t3[j]
			}
		}
		for r, sum := range [4]float64{s0, s1, s2, s3} {
			ds[b+r] = dist{logits: rows[b+r], max: mx[r], logSum: detLog(sum)}
		}
	}
	for ; b < len(rows); b++ {
		ds[b] = newDist(rows[b])
	}
}

// logprob is log softmax(logits)[id].
func (d dist) logprob(id int) float64 {
	return (float64(d.logits[id]) - float64(d.max)) - d.logSum
}

// topK returns the k best ids, by logit descending then id ascending.
// Once k ids are held, only a value for which v <= the k-th held logit is
// false can enter; firstNotLE jumps to the next such value, which is the
// next one the scan over every id would insert.
func topK(logits []float32, k int) []int {
	if k <= 0 {
		return nil
	}
	k = min(k, len(logits))
	best := make([]int, 0, k)
	for id := 0; id < len(logits); id++ {
		v := logits[id]
		if len(best) == k {
			id += firstNotLE(logits[id:], logits[best[k-1]])
			if id == len(logits) {
				break
			}
			v = logits[id] // ties keep the lower id already held
		}
		// Insert after every held id whose logit is >= v.
		i := len(best)
		if i == k {
			i--
		} else {
			best = append(best, 0)
		}
		for i > 0 && logits[best[i-1]] < v {
			best[i] = best[i-1]
			i--
		}
		best[i] = id
	}
	return best
}

// argmax is run.c's sample_argmax: the first index of the maximum.
func argmax(logits []float32) int {
	best, _ := maxIndex(logits)
	return best
}

// tops converts ids to TopLogprobs with their pieces (decoded after prev).
func (d dist) tops(ids []int, tok *Tokenizer, prev int) []TopLogprob {
	if len(ids) == 0 {
		return nil
	}
	out := make([]TopLogprob, len(ids))
	for i, id := range ids {
		out[i] = TopLogprob{ID: id, Text: tok.Piece(prev, id), Logprob: d.logprob(id)}
	}
	return out
}
