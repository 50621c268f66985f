package validator

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/meritnet/merit/validator/miners"
	"github.com/meritnet/merit/validator/reference"
)

// Pacer is the validator's per-miner pacer (see Pacer): the gateway asks
// it before calling a miner.
func (v *Validator) Pacer() *Pacer { return v.asker.cfg.Pacer }

// maxExcusedRounds is how many rounds in a row a miner may sit out because
// its probes were refused while the validator's own traffic had emptied
// its bucket; then such refusals count again.
const maxExcusedRounds = 3

// probeJob is one miner's probes of one round.
type probeJob struct {
	m    miners.Miner
	reqs []Request
	exs  []Exchange
}

// schedule keeps each miner on its own probe schedule: a miner whose probes
// are still running (a slow or hanging miner) is skipped by the rounds
// that start meanwhile, and only its own rounds wait for it.
type schedule struct {
	mu      sync.Mutex
	running map[uint16]bool
	done    []*probeJob
	// suspect miners timed out last time: they probe under their own
	// concurrency bound, so hanging miners cannot take the slots of the
	// others.
	suspect             map[string]bool
	slots, suspectSlots chan struct{}
	// excused counts each miner's rounds in a row whose probes were all
	// excused as refused because of the validator's own traffic.
	excused map[string]int
	wg      sync.WaitGroup
}

func newSchedule(concurrency int) *schedule {
	return &schedule{running: map[uint16]bool{}, suspect: map[string]bool{}, excused: map[string]int{},
		slots: make(chan struct{}, concurrency), suspectSlots: make(chan struct{}, concurrency)}
}

// take returns the jobs finished since the last call and the miners whose
// jobs still run.
func (s *schedule) take() (done []*probeJob, running map[uint16]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	done, s.done = s.done, nil
	running = make(map[uint16]bool, len(s.running))
	for uid := range s.running {
		running[uid] = true
	}
	return done, running
}

// forgetGone drops what is remembered of hotkeys no longer registered.
func (s *schedule) forgetGone(registered map[uint16]string) {
	here := make(map[string]bool, len(registered))
	for _, hk := range registered {
		here[hk] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for hk := range s.suspect {
		if !here[hk] {
			delete(s.suspect, hk)
		}
	}
	for hk := range s.excused {
		if !here[hk] {
			delete(s.excused, hk)
		}
	}
}

// probeLoop starts a round every probe interval. At each tick it grades
// the probes that finished since the last one, closes the round, and
// starts the next probes of every miner that is not still busy with its
// previous ones. Verification thus runs between the probes of consecutive
// rounds, so the validator's own CPU work does not slow the streams it is
// timing (only a miner slower than the interval is read meanwhile).
func (v *Validator) probeLoop(ctx context.Context) {
	s := newSchedule(v.cfg.ProbeConcurrency)
	defer s.wg.Wait()
	t := time.NewTicker(v.cfg.ProbeInterval)
	defer t.Stop()
	opened := false
	for {
		opened = v.probeTick(ctx, s, opened)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// probeTick closes the round opened by the previous tick (when opened) and
// opens the next; it reports whether a round is open.
func (v *Validator) probeTick(ctx context.Context, s *schedule, opened bool) bool {
	mg := v.sync.Current()
	if mg == nil {
		return opened
	}
	if err := v.ensureReference(ctx, mg); err != nil {
		v.log.Error("cannot grade this round", zap.Error(err))
		return opened
	}
	ref := v.ref.Load()
	done, running := s.take()
	skip, ok := v.gradeJobs(ctx, s, ref, done, running)
	if !ok {
		return opened // shutting down mid-round: the round is not scored
	}
	budget := v.probeTokens(mg)
	s.forgetGone(mg.Registered())
	due := v.dueMiners(ctx, mg, ref, running)
	if ctx.Err() != nil {
		return opened
	}
	if opened {
		v.closeRound(mg, skip, len(done), len(running))
	}
	v.startJobs(ctx, s, ref, due, budget)
	return true
}

// gradeJobs grades the finished jobs into the round. skip lists the miners
// without an outcome this round that must not score zero for it: still
// being probed, or refused only by this validator's own traffic. ok is
// false when ctx ended meanwhile.
func (v *Validator) gradeJobs(ctx context.Context, s *schedule, ref *reference.Reference, done []*probeJob, running map[uint16]bool) (skip map[uint16]bool, ok bool) {
	skip = make(map[uint16]bool, len(running))
	for uid := range running {
		skip[uid] = true
	}
	for _, j := range done {
		// The pacer keeps the probes' share, so excuses should be rare:
		// past a few rounds in a row they are not believed any more.
		excuse := s.excused[j.m.Hotkey] < maxExcusedRounds
		graded := 0
		for k := range j.exs {
			if j.exs[k].Result == "" {
				return nil, false
			}
			if j.exs[k].OwnTraffic && excuse {
				v.metrics.Probes.WithLabelValues(miners.ResultSkipped).Inc()
				v.log.Debug("probe refused while this validator's own traffic used the miner's budget; not counted",
					zap.Uint16("uid", j.m.UID), zap.String("hotkey", j.m.Hotkey))
				continue
			}
			o := v.grade(ctx, ref, j.m, j.reqs[k], j.exs[k])
			if ctx.Err() != nil {
				return nil, false
			}
			v.record(o)
			graded++
		}
		switch {
		case graded == 0 && len(j.exs) > 0:
			skip[j.m.UID] = true
			s.excused[j.m.Hotkey]++
		case graded == 0:
			skip[j.m.UID] = true
		default:
			delete(s.excused, j.m.Hotkey)
		}
	}
	return skip, true
}

// dueMiners lists the miners to probe now: callable, serving the task's
// model (the others score zero at once) and not still busy.
func (v *Validator) dueMiners(ctx context.Context, mg *Metagraph, ref *reference.Reference, running map[uint16]bool) []miners.Miner {
	var due []miners.Miner
	for _, m := range v.callable(ctx, mg.Miners()) {
		if m.ModelID != "" && m.ModelID != ref.ModelID {
			v.record(miners.Outcome{UID: m.UID, Hotkey: m.Hotkey, Result: miners.ResultWrongModel, Reason: miners.ResultWrongModel,
				Detail: fmt.Sprintf("announces %s; the subnet's task is %s", m.ModelID, ref.ModelID)})
			continue
		}
		if !running[m.UID] {
			due = append(due, m)
		}
	}
	return due
}

// closeRound scores the open round and saves the scores.
func (v *Validator) closeRound(mg *Metagraph, skip map[uint16]bool, graded, busy int) {
	round := v.scorer.Round() + 1
	v.scorer.CloseRoundExcept(mg.Registered(), skip, time.Now())
	scores := v.scorer.Scores()
	v.metrics.Rounds.Inc()
	v.metrics.SetScores(scores)
	v.history.AddScores(time.Now(), scoresView(scores))
	v.saveState()
	v.log.Debug("round scored", zap.Uint64("round", round), zap.Int("graded", graded), zap.Int("busy", busy))
}

// startJobs starts the next round's probes of the due miners.
func (v *Validator) startJobs(ctx context.Context, s *schedule, ref *reference.Reference, due []miners.Miner, budget int) {
	round := v.scorer.Round() + 1
	for _, m := range due {
		j := &probeJob{m: m}
		for i := range v.cfg.PromptsPerProbe {
			req, err := NewProbeRequest(v.prompts.Prompt(round, m.UID, i), ref.ModelID, budget)
			if err != nil {
				v.log.Error("cannot build a probe", zap.Error(err))
				continue
			}
			j.reqs = append(j.reqs, req)
		}
		j.exs = make([]Exchange, len(j.reqs))
		s.mu.Lock()
		s.running[m.UID] = true
		sem := s.slots
		if s.suspect[m.Hotkey] {
			sem = s.suspectSlots
		}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			v.runProbeJob(ctx, j, sem)
			s.finish(j)
		}()
	}
}

// finish files a job that ended; a miner that timed out probes under the
// suspects' bound next time.
func (s *schedule) finish(j *probeJob) {
	timedOut := false
	for _, ex := range j.exs {
		timedOut = timedOut || ex.Result == miners.ResultTimeout
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.running, j.m.UID)
	s.done = append(s.done, j)
	if timedOut {
		s.suspect[j.m.Hotkey] = true
	} else {
		delete(s.suspect, j.m.Hotkey)
	}
}

// runProbeJob sends a miner its prompts one after another (a miner is
// never timed while it answers the validator's other probe), paced.
func (v *Validator) runProbeJob(ctx context.Context, j *probeJob, sem chan struct{}) {
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return
	}
	defer func() { <-sem }()
	for k := range j.reqs {
		j.exs[k] = v.asker.AskPaced(ctx, j.m, j.reqs[k])
	}
}

// grade turns an exchange into an outcome, verifying successful answers.
func (v *Validator) grade(ctx context.Context, ref *reference.Reference, m miners.Miner, req Request, ex Exchange) miners.Outcome {
	o := miners.Outcome{UID: m.UID, Hotkey: m.Hotkey, Result: ex.Result, Reason: ex.Reason, Detail: ex.Detail}
	if ex.Result == "" {
		o.Result, o.Reason = miners.ResultError, "cancelled"
		return o
	}
	if ex.Result != miners.ResultOK {
		lvl := zap.DebugLevel
		if v.changed(m.Hotkey, ex.Result) {
			lvl = zap.InfoLevel
		}
		v.log.Log(lvl, "probe failed", zap.Uint16("uid", m.UID), zap.String("hotkey", m.Hotkey), zap.String("address", m.Address),
			zap.String("result", ex.Result), zap.String("reason", ex.Reason), zap.String("detail", ex.Detail))
		return o
	}
	if v.changed(m.Hotkey, miners.ResultOK) {
		v.log.Info("miner answers", zap.Uint16("uid", m.UID), zap.String("hotkey", m.Hotkey), zap.String("address", m.Address))
	}
	res := ref.Verify(ctx, reference.Check{Request: req.Engine, Parts: ex.Parts})
	switch {
	case res.Err != nil && ctx.Err() != nil:
		o.Result, o.Reason = miners.ResultError, "cancelled"
	case res.Err != nil:
		o.Result, o.Reason, o.Detail = miners.ResultError, "verifier_error", res.Err.Error()
		v.log.Error("could not verify an answer", zap.Uint16("uid", m.UID), zap.Error(res.Err))
	case !res.OK:
		o.Result, o.Reason, o.Detail = miners.ResultFailedVerification, res.Reason, res.Detail
		v.log.Warn("answer failed verification; miner scores zero this round", zap.Uint16("uid", m.UID),
			zap.String("hotkey", m.Hotkey), zap.String("reason", res.Reason), zap.String("detail", res.Detail))
	default:
		o.TTFT, o.Latency, o.Tokens = ex.Timing.TTFT, ex.Timing.Latency, len(ex.Parts.Tokens)
		v.metrics.TTFT.Observe(o.TTFT.Seconds())
		v.metrics.ProbeLatency.Observe(o.Latency.Seconds())
		if g := o.GenTime(); g > 0 {
			v.metrics.TokensPerSecond.Observe(float64(o.Tokens) / g.Seconds())
		}
	}
	return o
}

// record counts an outcome and adds it to the round.
func (v *Validator) record(o miners.Outcome) {
	v.metrics.Probes.WithLabelValues(o.Result).Inc()
	switch o.Result {
	case miners.ResultFailedVerification:
		v.metrics.VerificationFailures.WithLabelValues(o.Reason).Inc()
	case miners.ResultWrongModel:
		v.metrics.VerificationFailures.WithLabelValues(miners.ResultWrongModel).Inc()
		if v.changed(o.Hotkey, miners.ResultWrongModel) {
			v.log.Warn("miner announces another model; it scores zero", zap.Uint16("uid", o.UID), zap.String("detail", o.Detail))
		}
	}
	v.scorer.Record(o)
}

// changed records a miner's latest result class and reports whether it
// differs from the previous one.
func (v *Validator) changed(hotkey, result string) bool {
	v.seenMu.Lock()
	defer v.seenMu.Unlock()
	if v.seen[hotkey] == result {
		return false
	}
	v.seen[hotkey] = result
	return true
}

// probeTokens is the probe budget: --max-tokens, capped by the task's limit.
func (v *Validator) probeTokens(mg *Metagraph) int {
	limit := int(mg.Subnet.Task.MaxTokens)
	if v.cfg.MaxTokens > 0 && (limit == 0 || v.cfg.MaxTokens < limit) {
		return v.cfg.MaxTokens
	}
	if limit == 0 {
		return 64
	}
	return limit
}
