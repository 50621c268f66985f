package validator

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/client/chain"
	"github.com/meritnet/merit/client/identity"
	"github.com/meritnet/merit/internal/backoff"
	"github.com/meritnet/merit/internal/logthrottle"
	scoringtypes "github.com/meritnet/merit/x/scoring/types"
)

// saltBytes is the size of a commit's random salt.
const saltBytes = 16

// broadcastTimeout bounds one weights transaction, inclusion included.
const broadcastTimeout = 90 * time.Second

// Submitter turns scores into weight transactions on the subnet's schedule:
// MsgSetWeights when commit-reveal is off; otherwise one MsgCommitWeights
// per epoch, persisted before it is broadcast, and its MsgRevealWeights in
// the reveal window, also after a restart. Step is called on every new
// metagraph snapshot and never runs concurrently with itself.
type Submitter struct {
	cfg SubmitterConfig

	mu       sync.Mutex // serializes Step
	backoffs map[string]*backoff.Backoff
	notes    *logthrottle.Throttle
	// revealed holds commits revealed on chain whose removal from the file
	// failed: they are not revealed again while the file cannot be written.
	revealed map[string]bool
}

// SubmitterConfig is what a Submitter works with.
type SubmitterConfig struct {
	Chain   SubmitChain
	ID      *identity.Identity
	Store   *CommitStore
	Scores  func() map[uint16]float64
	Log     *zap.Logger
	Metrics *Metrics
	// OnSubmit, if set, sees every successful submission.
	OnSubmit func(Submission)
}

// NewSubmitter returns a submitter.
func NewSubmitter(cfg SubmitterConfig) *Submitter {
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	return &Submitter{cfg: cfg, backoffs: map[string]*backoff.Backoff{}, notes: logthrottle.New(time.Minute),
		revealed: map[string]bool{}}
}

// SubmitChain is what a Submitter needs from the chain: its pending
// commits, and a way to send weights.
type SubmitChain interface {
	commitsReader
	chain.Broadcaster
}

// Step does whatever the schedule asks for at this snapshot.
func (s *Submitter) Step(ctx context.Context, mg *Metagraph) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.PendingCommits.Set(float64(len(s.mine(mg))))
	}
	if mg.Self == nil {
		s.note("unregistered", "hotkey is not registered on the subnet; not setting weights", zap.String("hotkey", s.cfg.ID.Address()))
		return
	}
	if !mg.HasPermit() {
		s.note("nopermit", "no validator permit yet (top max_validators by stake get one at each epoch); not setting weights",
			zap.Uint32("uid", mg.Self.Neuron.Uid), zap.String("stake", mg.Self.Stake.String()))
		return
	}
	if mg.Hyperparams().CommitRevealEnabled {
		// After a failed write of the commits file (a full disk) the steps
		// that write it wait for the backoff instead of failing on every
		// block; reveals go on, their salts are already on disk.
		writable := s.storeReady()
		if writable {
			s.reconcile(ctx, mg)
		}
		s.reveal(ctx, mg)
		if writable {
			s.commit(ctx, mg)
		}
		return
	}
	s.set(ctx, mg)
}

// mine lists the stored commits of this hotkey and subnet.
func (s *Submitter) mine(mg *Metagraph) []PendingCommit {
	var out []PendingCommit
	for _, c := range s.cfg.Store.List() {
		if c.Netuid == mg.Netuid && c.Hotkey == s.cfg.ID.Address() {
			out = append(out, c)
		}
	}
	return out
}

// reconcile settles commits whose fate is unknown (broadcast before a crash
// or an error) with the chain's Commits query, and drops expired ones.
func (s *Submitter) reconcile(ctx context.Context, mg *Metagraph) {
	mine := s.mine(mg)
	if len(mine) == 0 {
		return
	}
	var onChain []scoringtypes.CommitInfo
	needChain := false
	for _, c := range mine {
		needChain = needChain || c.Status == CommitBroadcasting || c.CommitEpoch == 0 && c.CommitBlock == 0
	}
	if needChain {
		var err error
		if onChain, err = commitsOf(ctx, s.cfg.Chain, mg.Netuid, s.cfg.ID.Address()); err != nil {
			if s.notes.Allow("commits-query", time.Now()) {
				s.cfg.Log.Warn("commits query failed; will retry", zap.Error(err))
			}
			s.chainErr("commits")
			return
		}
	}
	rp := mg.Hyperparams().RevealPeriod
	for _, c := range mine {
		if s.revealed[c.Hash] {
			s.remove(c.Hash) // revealed while the file could not be written
			continue
		}
		switch c.Status {
		case CommitBroadcasting:
			if info, ok := findCommit(onChain, c.Hash); ok {
				s.markIncluded(c.Hash, info)
				s.cfg.Log.Info("commit found on chain", zap.String("hash", c.Hash), zap.Int64("block", info.Commit.CommitBlock))
				continue
			}
			if c.CreatedEpoch != mg.Epoch {
				// Built for an epoch that is over and never included: its
				// weights are stale, and revealing it is impossible anyway.
				s.cfg.Log.Warn("dropping a commit that never reached the chain", zap.String("hash", c.Hash),
					zap.Uint64("built_in_epoch", c.CreatedEpoch), zap.Uint64("epoch", mg.Epoch))
				s.remove(c.Hash)
			}
			// Same epoch: commit() re-broadcasts it (same hash) when allowed.
		case CommitIncluded:
			if due := c.CommitEpoch + rp; mg.Epoch > due {
				s.cfg.Log.Warn("dropping an expired commit: its reveal window has passed", zap.String("hash", c.Hash),
					zap.Int64("commit_block", c.CommitBlock), zap.Int64("reveal_until", c.RevealUntil),
					zap.Uint64("reveal_epoch", due), zap.Uint64("epoch", mg.Epoch), zap.Int64("height", mg.Height))
				s.remove(c.Hash)
				if s.cfg.Metrics != nil {
					s.cfg.Metrics.WeightSubmissions.WithLabelValues("reveal", "expired").Inc()
				}
			}
		}
	}
}

func findCommit(infos []scoringtypes.CommitInfo, hash string) (scoringtypes.CommitInfo, bool) {
	want, err := hex.DecodeString(hash)
	if err != nil {
		return scoringtypes.CommitInfo{}, false
	}
	for _, ci := range infos {
		if bytes.Equal(ci.Commit.CommitHash, want) {
			return ci, true
		}
	}
	return scoringtypes.CommitInfo{}, false
}

func (s *Submitter) markIncluded(hash string, info scoringtypes.CommitInfo) {
	err := s.cfg.Store.Update(hash, func(c *PendingCommit) {
		c.Status = CommitIncluded
		c.CommitBlock = info.Commit.CommitBlock
		c.CommitEpoch = info.Commit.CommitEpoch
		c.RevealFrom, c.RevealUntil = info.RevealFrom, info.RevealUntil
	})
	s.stored("record the commit's inclusion", err)
}

func (s *Submitter) remove(hash string) bool {
	err := s.cfg.Store.Remove(hash)
	s.stored("remove a commit", err)
	if err == nil {
		delete(s.revealed, hash)
	}
	return err == nil
}

// stored notes the result of a write of the commits file: a failure
// starts (or lengthens) the backoff of every step that writes it and is
// logged when it starts and then at most once a minute; a success ends it.
func (s *Submitter) stored(what string, err error) {
	bo := s.retries("store")
	if err == nil {
		if bo.Fails() > 0 {
			bo.Reset()
			s.notes.Clear("store")
			s.cfg.Log.Info("pending commits file writable again", zap.String("file", s.cfg.Store.Path()))
		}
		return
	}
	d := bo.Fail(time.Now())
	if s.notes.Allow("store", time.Now()) {
		s.cfg.Log.Error("cannot write the pending commits file; retrying with backoff", zap.String("what", what),
			zap.String("file", s.cfg.Store.Path()), zap.Duration("retry_in", d), zap.Error(err))
	}
}

func (s *Submitter) storeReady() bool { return s.retries("store").Ready(time.Now()) }

// reveal opens every included commit whose reveal epoch has come. The
// chain accepts a reveal while its epoch counter equals the commit's epoch
// plus reveal_period; the blocks the Commits query reports are that range
// as the current tempo tells, kept for status display.
func (s *Submitter) reveal(ctx context.Context, mg *Metagraph) {
	rp := mg.Hyperparams().RevealPeriod
	for _, c := range s.mine(mg) {
		if c.Status != CommitIncluded || mg.Epoch != c.CommitEpoch+rp || s.revealed[c.Hash] {
			continue
		}
		bo := s.retries("reveal:" + c.Hash)
		if !bo.Ready(time.Now()) {
			continue
		}
		salt, err := hex.DecodeString(c.Salt)
		if err != nil {
			s.cfg.Log.Error("pending commit has a corrupt salt; dropping it", zap.String("hash", c.Hash))
			s.remove(c.Hash)
			continue
		}
		_ = s.cfg.Store.Update(c.Hash, func(p *PendingCommit) { p.RevealAttempts++ })
		msg := &scoringtypes.MsgRevealWeights{Hotkey: s.cfg.ID.Address(), Netuid: mg.Netuid, Uids: c.Uids,
			Weights: c.Weights, Salt: salt, VersionKey: c.VersionKey}
		res, err := s.broadcast(ctx, msg)
		if err == nil {
			s.cfg.Log.Info("weights revealed", zap.String("hash", c.Hash), zap.Int64("height", res.Height),
				zap.Int64("commit_block", c.CommitBlock), zap.Int("uids", len(c.Uids)))
			s.count("reveal", "ok")
			if !s.remove(c.Hash) {
				s.revealed[c.Hash] = true // reconcile drops it once writable
			}
			bo.Reset()
			s.submitted(Submission{Kind: "reveal", Height: res.Height, TxHash: res.Hash, Uids: c.Uids, Weights: c.Weights})
			continue
		}
		kind := txErrKind(err)
		s.count("reveal", kind)
		if ctx.Err() != nil {
			return
		}
		switch kind {
		case "no_matching_commit":
			// An earlier attempt may have landed after all (its result was
			// lost), or the chain pruned the commit: either way it is gone.
			if infos, qerr := commitsOf(ctx, s.cfg.Chain, mg.Netuid, s.cfg.ID.Address()); qerr == nil {
				if _, ok := findCommit(infos, c.Hash); !ok {
					s.cfg.Log.Warn("commit no longer on chain (revealed earlier or pruned); dropping it", zap.String("hash", c.Hash))
					s.remove(c.Hash)
					continue
				}
			}
		case "reveal_window", "no_permit", "version_key", "invalid_weights", "wrong_mode":
			// reconcile() drops it once the epoch passes; until then retry
			// slowly in case the chain's view was a block behind ours.
		}
		d := bo.Fail(time.Now())
		s.cfg.Log.Warn("reveal failed; will retry", zap.String("hash", c.Hash), zap.String("kind", kind), zap.Duration("retry_in", d), zap.Error(err))
	}
}

// alreadySubmitted reports whether the validator set or committed weights
// since the subnet's last epoch (LastUpdate is the block of its last set or
// commit), which is what "once per epoch" means across restarts.
func alreadySubmitted(mg *Metagraph) bool {
	n := mg.Self.Neuron
	return n.LastUpdate > n.RegisteredAt && n.LastUpdate > mg.LastEpochBlock
}

// rateLimitOK reports whether a submission landing in the next block passes
// weights_rate_limit, and the first block that would.
func rateLimitOK(mg *Metagraph) (bool, int64) {
	n := mg.Self.Neuron
	if n.LastUpdate <= n.RegisteredAt {
		return true, mg.Height + 1
	}
	next := n.LastUpdate + int64(mg.Hyperparams().WeightsRateLimit)
	return mg.Height+1 >= next, max(next, mg.Height+1)
}

// NextSubmitBlock is the first block at which the validator will set or
// commit weights again (schedule only; it also needs scores and a permit).
func NextSubmitBlock(mg *Metagraph) int64 {
	if mg.Self == nil {
		return 0
	}
	_, next := rateLimitOK(mg)
	if alreadySubmitted(mg) {
		next = max(next, mg.NextEpochBlock+1)
	}
	return next
}

// commit makes this epoch's commit, or re-broadcasts one built this epoch
// whose inclusion was never seen.
func (s *Submitter) commit(ctx context.Context, mg *Metagraph) {
	var retry *PendingCommit
	for _, c := range s.mine(mg) {
		if c.Status == CommitIncluded && c.CommitEpoch == mg.Epoch {
			return // done for this epoch
		}
		if c.Status == CommitBroadcasting && c.CreatedEpoch == mg.Epoch {
			retry = &c
		}
	}
	// When something landed this epoch and it was not our retry (reconcile
	// would have found that), another submission would only hit the rate
	// limit; the retry is dropped at the next epoch.
	bo, ok := s.due(mg, "commit")
	if !ok {
		return
	}
	var pc PendingCommit
	if retry != nil {
		// reconcile() has just checked it is not on chain.
		pc = *retry
		s.cfg.Log.Info("re-broadcasting a commit whose inclusion was not seen", zap.String("hash", pc.Hash))
	} else if pc, ok = s.newCommit(mg, bo); !ok {
		return
	}
	hash, _ := hex.DecodeString(pc.Hash)
	res, err := s.broadcast(ctx, &scoringtypes.MsgCommitWeights{Hotkey: s.cfg.ID.Address(), Netuid: mg.Netuid, CommitHash: hash})
	if ctx.Err() != nil {
		return // shutting down: the next run reconciles it
	}
	s.committed(ctx, mg, bo, pc, res, err)
}

// newCommit salts and hashes the current weights into a commit and
// persists it; ok is false when there is nothing to commit or it could not
// be written.
func (s *Submitter) newCommit(mg *Metagraph, bo *backoff.Backoff) (pc PendingCommit, ok bool) {
	uids, weights, ok := s.vector(mg, "commit")
	if !ok {
		return PendingCommit{}, false
	}
	salt := make([]byte, saltBytes)
	_, _ = rand.Read(salt) // does not fail since Go 1.24
	vk := mg.Hyperparams().WeightsVersionKey
	hash := scoringtypes.CommitHash(s.cfg.ID.AccAddress(), mg.Netuid, uids, weights, salt, vk)
	pc = PendingCommit{Hash: hex.EncodeToString(hash), Netuid: mg.Netuid, Hotkey: s.cfg.ID.Address(),
		Uids: uids, Weights: weights, Salt: hex.EncodeToString(salt), VersionKey: vk, Status: CommitBroadcasting,
		CreatedHeight: mg.Height, CreatedEpoch: mg.Epoch, CreatedAt: time.Now().UTC()}
	// On disk before it is on the wire: a crash after the broadcast must
	// not lose the salt, or the commit could never be revealed.
	if err := s.cfg.Store.Add(pc); err != nil {
		s.stored("persist a new commit (not broadcasting it)", err)
		bo.Fail(time.Now())
		return PendingCommit{}, false
	}
	s.stored("", nil)
	return pc, true
}

// committed settles a broadcast commit by what the chain holds: included,
// pending a lagging node, or failed (retried, or dropped when refused).
func (s *Submitter) committed(ctx context.Context, mg *Metagraph, bo *backoff.Backoff, pc PendingCommit, res *chain.TxResult, err error) {
	// Included or not, the chain's Commits query is the truth about it.
	infos, qerr := commitsOf(ctx, s.cfg.Chain, mg.Netuid, s.cfg.ID.Address())
	if qerr == nil {
		if info, ok := findCommit(infos, pc.Hash); ok {
			s.markIncluded(pc.Hash, info)
			s.count("commit", "ok")
			bo.Reset()
			h := info.Commit.CommitBlock
			txh := ""
			if res != nil {
				txh = res.Hash
			}
			s.cfg.Log.Info("weights committed", zap.String("hash", pc.Hash), zap.Int64("block", h),
				zap.Int64("reveal_from", info.RevealFrom), zap.Int64("reveal_until", info.RevealUntil), zap.Int("uids", len(pc.Uids)))
			s.submitted(Submission{Kind: "commit", Height: h, TxHash: txh, Uids: pc.Uids, Weights: pc.Weights})
			return
		}
	}
	if err == nil {
		// Included, yet the query did not show it (a lagging node): keep it
		// as broadcasting; reconcile() finds it on the next block.
		s.cfg.Log.Warn("commit included but not yet visible in the Commits query", zap.String("hash", pc.Hash), zap.Error(qerr))
		return
	}
	kind := txErrKind(err)
	s.count("commit", kind)
	d := bo.Fail(time.Now())
	if permanentCommitError(kind) {
		s.cfg.Log.Warn("commit refused; dropping it", zap.String("kind", kind), zap.Duration("retry_in", d), zap.Error(err))
		s.remove(pc.Hash)
		return
	}
	s.cfg.Log.Warn("commit failed; will retry the same commit", zap.String("kind", kind), zap.Duration("retry_in", d), zap.Error(err))
}

// set sends MsgSetWeights once per epoch within the rate limit.
func (s *Submitter) set(ctx context.Context, mg *Metagraph) {
	bo, ok := s.due(mg, "set")
	if !ok {
		return
	}
	uids, weights, ok := s.vector(mg, "set")
	if !ok {
		return
	}
	msg := &scoringtypes.MsgSetWeights{Hotkey: s.cfg.ID.Address(), Netuid: mg.Netuid, Uids: uids, Weights: weights,
		VersionKey: mg.Hyperparams().WeightsVersionKey}
	res, err := s.broadcast(ctx, msg)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		kind := txErrKind(err)
		s.count("set", kind)
		d := bo.Fail(time.Now())
		s.cfg.Log.Warn("set weights failed", zap.String("kind", kind), zap.Duration("retry_in", d), zap.Error(err))
		return
	}
	bo.Reset()
	s.count("set", "ok")
	s.cfg.Log.Info("weights set", zap.Int64("height", res.Height), zap.Int("uids", len(uids)))
	s.submitted(Submission{Kind: "set", Height: res.Height, TxHash: res.Hash, Uids: uids, Weights: weights})
}

// due reports whether a set or commit (kind) may go out at this snapshot:
// nothing was submitted since the last epoch, the rate limit allows it, and
// the backoff after the last failure has passed.
func (s *Submitter) due(mg *Metagraph, kind string) (*backoff.Backoff, bool) {
	if alreadySubmitted(mg) {
		return nil, false
	}
	if ok, next := rateLimitOK(mg); !ok {
		s.note("ratelimit-"+kind, "waiting for the weights rate limit", zap.Int64("next_block", next))
		return nil, false
	}
	bo := s.retries(kind)
	ready := bo.Ready(time.Now())
	return bo, ready
}

// vector is the weight vector the scores give now, for a set or commit
// (kind). Checking it against the chain's rules catches a normalization bug
// before it costs a transaction.
func (s *Submitter) vector(mg *Metagraph, kind string) (uids, weights []uint32, ok bool) {
	lim := mg.Limits()
	uids, weights, err := NormalizeWeights(s.cfg.Scores(), lim)
	if err != nil {
		s.note("noscores-"+kind, "nothing to "+kind+" yet", zap.Error(err))
		return nil, nil, false
	}
	if err := scoringtypes.CheckWeights(uids, weights, lim.Rules()); err != nil {
		s.cfg.Log.Error("computed weights break the subnet's rules; not sending them", zap.String("kind", kind), zap.Error(err))
		return nil, nil, false
	}
	return uids, weights, true
}

func (s *Submitter) broadcast(ctx context.Context, msg sdk.Msg) (*chain.TxResult, error) {
	bctx, cancel := context.WithTimeout(ctx, broadcastTimeout)
	defer cancel()
	res, err := s.cfg.Chain.Broadcast(bctx, s.cfg.ID, msg)
	if err == nil && res != nil && res.Code != 0 {
		err = fmt.Errorf("tx %s failed with code %d: %s", res.Hash, res.Code, res.Log)
	}
	if err == nil && res == nil {
		res = &chain.TxResult{}
	}
	return res, err
}

func (s *Submitter) submitted(sub Submission) {
	sub.At = time.Now().UTC()
	if s.cfg.OnSubmit != nil {
		s.cfg.OnSubmit(sub)
	}
}

func (s *Submitter) count(kind, result string) {
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.WeightSubmissions.WithLabelValues(kind, result).Inc()
	}
}

func (s *Submitter) chainErr(what string) {
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.ChainErrors.WithLabelValues(what).Inc()
	}
}

// note logs a recurring condition at most once a minute.
func (s *Submitter) note(key, msg string, fields ...zap.Field) {
	if s.notes.Allow(key, time.Now()) {
		s.cfg.Log.Info(msg, fields...)
	}
}

// retries is the backoff of one kind of failing transaction: 1 s, 2 s,
// 4 s … 1 min.
func (s *Submitter) retries(key string) *backoff.Backoff {
	b := s.backoffs[key]
	if b == nil {
		b = backoff.New(time.Second, time.Minute)
		s.backoffs[key] = b
	}
	return b
}

// txErrKind names a refused weights transaction. Registered x/scoring
// errors match by code (chain.TxError implements errors.Is); the message
// test covers errors that lost their type on the way.
func txErrKind(err error) string {
	has := func(target error, text string) bool {
		return errors.Is(err, target) || strings.Contains(err.Error(), text)
	}
	switch {
	case has(scoringtypes.ErrRateLimited, "weights rate limit"):
		return "rate_limited"
	case has(scoringtypes.ErrNoPermit, "no validator permit"):
		return "no_permit"
	case has(scoringtypes.ErrTooManyCommits, "too many unrevealed commits"):
		return "too_many_commits"
	case has(scoringtypes.ErrRevealWindow, "outside the reveal window"):
		return "reveal_window"
	case has(scoringtypes.ErrNoMatchingCommit, "no commit matches"):
		return "no_matching_commit"
	case has(scoringtypes.ErrInvalidWeights, "invalid weights"):
		return "invalid_weights"
	case has(scoringtypes.ErrVersionKey, "version key below"):
		return "version_key"
	case has(scoringtypes.ErrCommitRevealOn, "commit-reveal is enabled"), has(scoringtypes.ErrCommitRevealOff, "commit-reveal is disabled"):
		return "wrong_mode"
	case errors.Is(err, chain.ErrInclusionTimeout):
		return "inclusion_timeout"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "error"
}

// permanentCommitError: retrying the same commit cannot succeed (or must
// wait for a new epoch and new weights anyway).
func permanentCommitError(kind string) bool {
	switch kind {
	case "rate_limited", "no_permit", "too_many_commits", "invalid_weights", "version_key", "wrong_mode":
		return true
	}
	return false
}
