package inference

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Continuous batching. A Batcher serves a LocalEngine's generations as one
// batch of steps, and every step
//
//  1. admits waiting requests while the batch has room (MaxBatch sequences,
//     and KVBytes of caches when set), allocating each its own KV cache;
//  2. prefills prompts, chunk by chunk, up to PrefillTokens prompt tokens
//     per step, so a long prompt delays the running streams by at most one
//     chunk per step instead of stalling them;
//  3. feeds every decoding sequence its last token in one pass
//     (forwardBatch: the weight products once for all of them, attention per
//     sequence over its own cache);
//  4. samples each sequence's next token (the same generation code as
//     LocalEngine.Generate) and retires the finished, cancelled and failed.
//
// Sequences join and leave between steps. There is no goroutine of the
// Batcher's own: the goroutines of the requests take turns running steps
// for everybody (one at a time), and between turns each hands its own tokens
// to its emit. A lone request therefore runs every step itself, exactly as
// LocalEngine.Generate would, with no hand-off between goroutines per token;
// a slow emit never holds up the batch, since the others keep taking turns.
//
// A request's answer is
// bit-identical to LocalEngine.Generate's: its prompt goes through the
// same chunks, every kernel computes each value's canonical sequential sum
// whatever else shares the pass, and sampling is per request.

// BatchOptions configure a Batcher.
type BatchOptions struct {
	// MaxBatch is the most sequences in the batch at once (default 16).
	MaxBatch int
	// MaxQueue is the most requests waiting for a place (default
	// 4*MaxBatch); beyond it Generate fails at once with ErrBusy.
	MaxQueue int
	// KVBytes bounds the memory of the admitted sequences' KV caches and
	// buffers (0: MaxBatch alone bounds it). A request that could never fit
	// fails with ErrContextLength.
	KVBytes int64
	// PrefillTokens is how many prompt tokens a step prefills at most
	// (default 32, one chunk); a step runs at least one chunk.
	PrefillTokens int
	// Threads is the goroutines of one step (default: the engine's).
	Threads int
}

// ErrBusy: the batch and its queue are full.
var ErrBusy = errors.New("engine busy: batch and queue are full")

// ErrClosed: the Batcher was closed.
var ErrClosed = errors.New("batcher closed")

// BatchStats are a Batcher's gauges and counters.
type BatchStats struct {
	Running  int   // sequences in the batch
	Waiting  int   // requests queued for a place
	KVBytes  int64 // memory held by the running sequences
	Steps    uint64
	Tokens   uint64 // tokens generated (chosen) since start
	Prefills uint64 // prompt tokens prefilled since start
	// TokensPerSecond is the aggregate decoding speed over the last second
	// or so of work (0 when idle).
	TokensPerSecond float64
}

// Batcher is an Engine that serves generation by continuous batching over
// a LocalEngine; Score, Tokenize and Detokenize go to the engine directly.
type Batcher struct {
	e    *LocalEngine
	opts BatchOptions

	mu      sync.Mutex
	waiting []*batchSeq
	closed  bool

	// turn is held (a value in it) by the goroutine running a step; the
	// fields after it belong to that goroutine.
	turn      chan struct{}
	active    []*batchSeq
	scratch   []batchScratch
	held      int64     // bytes of the active sequences
	winStart  time.Time // the speed gauge: tokens over windows of a second of work
	winTokens uint64
	ready     []*batchSeq // step's lists, kept to spare allocations
	dec       []*batchSeq
	segs      []prefillSeg
	ended     []*batchSeq
	pre       batchScratch   // packed prefill's buffers
	crew      crew           // the helpers that run a step's other groups
	passDone  []atomic.Bool  // per group of the step: its pass has ended
	claims    []atomic.Int32 // per group of the step: sampling blocks claimed

	running  atomic.Int64
	kvBytes  atomic.Int64
	rate     atomic.Uint64 // float64 bits of TokensPerSecond
	steps    atomic.Uint64
	tokens   atomic.Uint64
	prefills atomic.Uint64
}

type batchSeq struct {
	g        *generation
	st       *state
	bytes    int64
	fed      int       // prompt tokens prefilled
	next     int       // token to feed in the next decoding step
	logits   []float32 // fresh logits to sample from, or nil
	out      chan Token
	cancel   atomic.Bool
	finished chan struct{}
	res      *Result
	err      error
}

// NewBatcher makes a Batcher; it runs on its requests' goroutines.
func NewBatcher(e *LocalEngine, opts BatchOptions) *Batcher {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 16
	}
	if opts.MaxQueue <= 0 {
		opts.MaxQueue = 4 * opts.MaxBatch
	}
	if opts.PrefillTokens <= 0 {
		opts.PrefillTokens = chunkLen
	}
	if opts.Threads <= 0 {
		opts.Threads = e.threads
	}
	return &Batcher{e: e, opts: opts, turn: make(chan struct{}, 1)}
}

// Engine returns the engine the Batcher serves.
func (b *Batcher) Engine() *LocalEngine { return b.e }

// Options returns the options in effect (defaults filled in).
func (b *Batcher) Options() BatchOptions { return b.opts }

// Info implements Engine.
func (b *Batcher) Info() ModelInfo { return b.e.Info() }

// Tokenize implements Engine.
func (b *Batcher) Tokenize(ctx context.Context, text string, bos bool) ([]int, error) {
	return b.e.Tokenize(ctx, text, bos)
}

// Detokenize implements Engine.
func (b *Batcher) Detokenize(ctx context.Context, tokens []int, prev int) (string, error) {
	return b.e.Detokenize(ctx, tokens, prev)
}

// PromptTokens resolves a request's prompt to token ids (LocalEngine's).
func (b *Batcher) PromptTokens(req GenerateRequest) ([]int, error) { return b.e.PromptTokens(req) }

// Score implements Engine (not batched: one teacher-forced pass is already
// a batch of positions).
func (b *Batcher) Score(ctx context.Context, req ScoreRequest) ([]PositionScore, error) {
	return b.e.Score(ctx, req)
}

// Stats reports the Batcher's state now.
func (b *Batcher) Stats() BatchStats {
	b.mu.Lock()
	w := len(b.waiting)
	b.mu.Unlock()
	rate := math.Float64frombits(b.rate.Load())
	if w == 0 && b.running.Load() == 0 {
		rate = 0 // nobody takes turns when idle, so the gauge would stay put
	}
	return BatchStats{
		Running: int(b.running.Load()), Waiting: w, KVBytes: b.kvBytes.Load(),
		Steps: b.steps.Load(), Tokens: b.tokens.Load(), Prefills: b.prefills.Load(),
		TokensPerSecond: rate,
	}
}

// SequenceBytes is the memory one sequence of up to positions positions
// holds while it runs: its KV cache (keys and values position-major, plus
// the copies the vector kernels read: values channel-major, keys and values
// with a lane per head) and its buffers.
func (e *LocalEngine) SequenceBytes(positions int) int64 {
	c := e.model.Config
	p := int64((min(positions, c.SeqLen) + 7) &^ 7)
	kv := int64(c.Layers) * p * int64(c.KVDim())
	floats := 2 * kv
	if useSIMD {
		floats += kv
	}
	if useDecodeKernels() && c.HeadSize()%8 == 0 {
		floats += 2 * (kv + headsTail)
	}
	floats += int64(chunkLen)*(4*int64(c.Dim)+2*int64(c.HiddenDim)+int64(c.VocabSize)) +
		int64(e.threads)*p + p*int64(headLanes(c))
	return floatBytes * floats
}

// Generate implements Engine: the request joins the batch and its tokens
// reach emit from the caller's goroutine as they are chosen. ErrBusy when
// the queue is full.
func (b *Batcher) Generate(ctx context.Context, req GenerateRequest, emit func(Token) error) (*Result, error) {
	seq := &batchSeq{finished: make(chan struct{})}
	g, err := b.e.newGeneration(req, func(t Token) error {
		seq.out <- t // never blocks: room for every token the request may get
		return nil
	})
	if err != nil {
		return nil, err
	}
	seq.g, seq.out = g, make(chan Token, g.maxTok)
	seq.bytes = b.e.SequenceBytes(g.positions())
	if b.opts.KVBytes > 0 && seq.bytes > b.opts.KVBytes {
		return nil, fmt.Errorf("%w: %d positions need %d bytes of KV cache, the engine allows %d", ErrContextLength, g.positions(), seq.bytes, b.opts.KVBytes)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	switch {
	case b.closed:
		b.mu.Unlock()
		return nil, ErrClosed
	case len(b.waiting) >= b.opts.MaxQueue:
		b.mu.Unlock()
		return nil, ErrBusy
	}
	b.waiting = append(b.waiting, seq)
	b.mu.Unlock()
	deliver := func(t Token) error {
		if emit == nil {
			return nil
		}
		err := emit(t)
		if err == nil {
			err = ctx.Err() // as Generate checks between tokens
		}
		if err != nil {
			seq.cancel.Store(true)
		}
		return err
	}
	for {
		select {
		case t := <-seq.out:
			if err := deliver(t); err != nil {
				return nil, err
			}
		case <-seq.finished:
			for {
				select {
				case t := <-seq.out:
					if err := deliver(t); err != nil {
						return nil, err
					}
					continue
				default:
				}
				break
			}
			if seq.err != nil {
				return nil, seq.err
			}
			return seq.res, nil
		case <-ctx.Done():
			seq.cancel.Store(true)
			return nil, ctx.Err()
		case b.turn <- struct{}{}:
			b.takeTurn()
		}
	}
}

// Close fails the running and waiting requests with ErrClosed, and every
// later one.
func (b *Batcher) Close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.turn <- struct{}{}
	b.takeTurn()
}

// takeTurn runs a turn and gives the turn back; the caller has taken it.
// A step that panics (a bug) fails the batch's requests rather than
// leaving them, and every later request, waiting for a turn that never
// comes back; the panic goes on up the caller's goroutine.
func (b *Batcher) takeTurn() {
	defer func() {
		r := recover()
		if r != nil {
			err := fmt.Errorf("inference: a batch step failed: %v", r)
			for _, s := range b.active {
				select {
				case <-s.finished:
				default:
					s.err = err
					close(s.finished)
				}
			}
			b.active, b.held = nil, 0
			b.gauges()
		}
		<-b.turn
		if r != nil {
			panic(r)
		}
	}()
	b.runTurn()
}

// runTurn admits, runs one step and retires; the caller holds the turn.
func (b *Batcher) runTurn() {
	b.mu.Lock()
	if b.closed {
		waiting := b.waiting
		b.waiting = nil
		b.mu.Unlock()
		for _, s := range append(b.active, waiting...) {
			s.err = ErrClosed
			close(s.finished)
		}
		b.active, b.held = nil, 0
		b.gauges()
		return
	}
	// Admission in arrival order; a request that does not fit yet waits
	// for memory to be freed rather than being overtaken.
	for len(b.waiting) > 0 && len(b.active) < b.opts.MaxBatch {
		s := b.waiting[0]
		if s.cancel.Load() {
			b.waiting = b.waiting[1:]
			s.err = context.Canceled
			close(s.finished)
			continue
		}
		if b.opts.KVBytes > 0 && b.held+s.bytes > b.opts.KVBytes {
			break
		}
		b.waiting = b.waiting[1:]
		s.st = newState(b.e.model, s.g.positions(), b.opts.Threads)
		b.held += s.bytes
		b.active = append(b.active, s)
	}
	b.mu.Unlock()
	b.gauges()
	if len(b.active) == 0 {
		b.rate.Store(0)
		b.winStart = time.Time{}
		return
	}
	if b.winStart.IsZero() {
		b.winStart, b.winTokens = time.Now(), b.tokens.Load()
	}
	b.scratch = b.step(b.active, b.scratch)
	b.steps.Add(1)
	if d := time.Since(b.winStart); d >= time.Second {
		n := b.tokens.Load()
		b.rate.Store(math.Float64bits(float64(n-b.winTokens) / d.Seconds()))
		b.winStart, b.winTokens = time.Now(), n
	}
	// Retire the finished and the cancelled.
	kept := b.active[:0]
	for _, s := range b.active {
		select {
		case <-s.finished:
		default:
			if !s.cancel.Load() {
				kept = append(kept, s)
				continue
			}
			s.err = context.Canceled
			close(s.finished)
		}
		b.held -= s.bytes
		s.st = nil
	}
	clear(b.active[len(kept):])
	b.active = kept
	b.gauges()
}

func (b *Batcher) gauges() {
	b.running.Store(int64(len(b.active)))
	b.kvBytes.Store(b.held)
}

// step runs one step over the active sequences (see the top of the file).
func (b *Batcher) step(active []*batchSeq, bs []batchScratch) []batchScratch {
	m := b.e.model
	threads := b.opts.Threads
	// Prefill: chunks as LocalEngine.Generate's run cuts them (a partial
	// chunk first): one per step at least, more while they fit in
	// PrefillTokens.
	budget, prefilled := b.opts.PrefillTokens, false
	segs, ended := b.segs[:0], b.ended[:0]
prefill:
	for _, s := range active {
		n := len(s.g.prompt)
		for s.fed < n && !s.cancel.Load() {
			end := s.fed + chunkLen
			if s.fed == 0 && n%chunkLen != 0 {
				end = n % chunkLen
			}
			end = min(end, n)
			if prefilled && end-s.fed > budget {
				break prefill
			}
			prefilled = true
			segs = append(segs, prefillSeg{st: s.st, tokens: s.g.prompt[s.fed:end], pos0: s.fed, logits: end == n})
			budget -= end - s.fed
			b.prefills.Add(uint64(end - s.fed))
			s.fed = end
			if end == n {
				ended = append(ended, s)
			}
		}
	}
	b.runPrefill(segs)
	for _, s := range ended {
		s.logits = s.st.logits[:m.VocabSize] // the state's buffer, until its next pass
	}
	clear(segs)
	clear(ended)
	b.segs, b.ended = segs[:0], ended[:0]
	// Sequences whose prompt just ended sample their first token now.
	ready, dec := b.ready[:0], b.dec[:0]
	defer func() { b.ready, b.dec = ready[:0], dec[:0] }()
	for _, s := range active {
		switch {
		case s.cancel.Load():
		case s.logits != nil:
			ready = append(ready, s)
		case s.fed == len(s.g.prompt):
			dec = append(dec, s)
		}
	}
	for _, s := range ready {
		b.sample(s, nil)
	}
	// Decode: the sequences past their prompt, in up to threads groups that
	// run side by side on the crew, each its own pass (products, norms,
	// attention), then the sampling, so that no step hands work to another
	// goroutine more than once.
	// (More groups than the Go scheduler runs at once would only poll.)
	groups := stepGroups(m.Config, len(dec), min(threads, runtime.GOMAXPROCS(0)))
	switch {
	case len(dec) == 1: // a lone stream: Generate's own loop
		s := dec[0]
		s.logits = s.st.forward([]int{s.next}, s.g.pos(), 0)
		b.sample(s, nil)
	case len(dec) > 1:
		if len(bs) < groups {
			bs = append(bs, make([]batchScratch, groups-len(bs))...)
		}
		if len(b.passDone) < groups {
			b.passDone, b.claims = make([]atomic.Bool, groups), make([]atomic.Int32, groups)
		}
		for g := range groups {
			b.passDone[g].Store(false)
			b.claims[g].Store(0)
		}
		b.crew.run(groups, func(gi int) {
			lo, hi := gi*len(dec)/groups, (gi+1)*len(dec)/groups
			grp, sc := dec[lo:hi], &bs[gi]
			sc.seqs(max(len(grp), sampleBlock)) // room for a block of another group's
			sts, toks, pos := sc.seqs(len(grp))
			for i, s := range grp {
				sts[i], toks[i], pos[i] = s.st, s.next, s.g.pos()
			}
			th := 1
			if groups == 1 {
				th = threads
			}
			forwardBatch(m, sc, sts, toks, pos, th)
			clear(sts) // not to hold on to retired sequences' caches
			for _, s := range grp {
				s.logits = s.st.logits[:m.VocabSize]
			}
			if groups == 1 {
				rows, ds := sc.rows[:len(grp)], sc.ds[:len(grp)]
				for i, s := range grp {
					rows[i] = s.logits
				}
				sw := 1
				if len(grp) >= minGroup {
					sw = th
				}
				newDists(ds, rows)
				parallelFor(len(grp), sw, func(i int) { b.sample(grp[i], &ds[i]) })
				clear(rows)
				clear(ds)
				return
			}
			// Sampling in blocks of four sequences (newDists' unit), claimed
			// from each group's list: a group that ends first goes on to
			// sample for the others once their passes have ended, instead
			// of polling for them at the end of the step. Which goroutine
			// samples a sequence changes nothing in it.
			b.passDone[gi].Store(true)
			b.sampleBlocks(dec, groups, gi, sc)
			for o := range groups {
				if o != gi && b.crew.poll(b.passDone[o].Load) {
					b.sampleBlocks(dec, groups, o, sc)
				}
			}
		})
	}
	b.tokens.Add(uint64(len(ready) + len(dec)))
	return bs
}

// sampleBlock is how many sequences a sampling claim takes (newDists' unit).
const sampleBlock = 4

// sampleBlocks samples the sequences of group o of dec (split in groups
// groups), a block of sampleBlock at a time, as long as the group has
// unclaimed blocks; sc is the caller's scratch.
func (b *Batcher) sampleBlocks(dec []*batchSeq, groups, o int, sc *batchScratch) {
	grp := dec[o*len(dec)/groups : (o+1)*len(dec)/groups]
	for {
		j := int(b.claims[o].Add(1)-1) * sampleBlock
		if j >= len(grp) {
			return
		}
		blk := grp[j:min(j+sampleBlock, len(grp))]
		rows, ds := sc.rows[:len(blk)], sc.ds[:len(blk)]
		for i, s := range blk {
			rows[i] = s.logits
		}
		newDists(ds, rows)
		for i, s := range blk {
			b.sample(s, &ds[i])
		}
		clear(rows)
		clear(ds)
	}
}

// runPrefill runs the step's prompt chunks: packed into passes of up to
// chunkLen positions where the lane layout runs, else each chunk alone as
// Generate runs it.
func (b *Batcher) runPrefill(segs []prefillSeg) {
	if len(segs) == 0 {
		return
	}
	if !segs[0].st.canUseLanes(lanesMinPositions) {
		for _, sg := range segs {
			want := len(sg.tokens) // no logits before the prompt's last position
			if sg.logits {
				want-- // forward leaves them in logits[:VocabSize]
			}
			sg.st.forward(sg.tokens, sg.pos0, want)
		}
		return
	}
	for len(segs) > 0 {
		n, T := 0, 0
		for n < len(segs) && T+len(segs[n].tokens) <= chunkLen {
			T += len(segs[n].tokens)
			n++
		}
		prefillPacked(b.e.model, &b.pre, segs[:n], b.opts.Threads)
		segs = segs[n:]
	}
}

// stepGroups is how many groups a decoding step of n sequences runs in.
// With AVX-512 (and with the scalar kernels) every sequence keeps its own
// rows and a group of four costs four sequences' work: a group starts for
// every minGroup sequences. The AVX2 lane pass pays for eight lanes however
// few are used, so there a group starts for every groupLanes.
func stepGroups(c Config, n, threads int) int {
	if useAVX512 && useDecodeKernels() || !canBatchLanes(c) {
		return max(1, min(threads, n/minGroup))
	}
	return min(threads, (n+groupLanes-1)/groupLanes)
}

// groupLanes: with AVX2, a group starts for every eight decoding sequences,
// up to threads groups; a lane-layout pass of eight lanes costs half one of
// 16.
const groupLanes = 8

// minGroup is the fewest sequences worth sharing attention between goroutines.
const minGroup = 4

// sample chooses s's next token from its logits (d: their dist, or nil)
// and finishes it when done.
func (b *Batcher) sample(s *batchSeq, d *dist) {
	next, done, err := s.g.step(s.logits, d)
	s.logits = nil
	s.next = next
	if err == nil && !done {
		return
	}
	if err == nil {
		s.res, err = s.g.finish()
	}
	s.err = err
	close(s.finished)
}
