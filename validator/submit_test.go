package validator

import (
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/meritnet/merit/client/chain"
	"github.com/meritnet/merit/client/chain/chaintest"
	"github.com/meritnet/merit/client/identity"
	"github.com/meritnet/merit/validator/internal/validatortest"
	scoringtypes "github.com/meritnet/merit/x/scoring/types"
)

func newSubmitter(t *testing.T, f *chaintest.Chain, id *identity.Identity, home string, scores map[uint16]float64) (*Submitter, *CommitStore) {
	t.Helper()
	store, err := OpenCommitStore(home)
	if err != nil {
		t.Fatal(err)
	}
	return NewSubmitter(SubmitterConfig{Chain: f, ID: id, Store: store, Scores: func() map[uint16]float64 { return scores },
		Log: zap.NewNop(), Metrics: NewMetrics()}), store
}

func countMsgs[T sdk.Msg](msgs []sdk.Msg) int {
	n := 0
	for _, m := range msgs {
		if _, ok := m.(T); ok {
			n++
		}
	}
	return n
}

// step advances one block and steps the submitter on the new snapshot.
func step(t *testing.T, f *chaintest.Chain, s *Submitter) {
	f.Advance(1)
	s.Step(context.Background(), metagraph(t, f, s.cfg.ID.Address()))
}

func TestCommitPersistedBeforeBroadcastThenRevealed(t *testing.T) {
	id := validatortest.NewIdentity(t, "val")
	f := newFakeChain(10, true, id, 3)
	home := t.TempDir()
	s, store := newSubmitter(t, f, id, home, map[uint16]float64{1: 0.9, 2: 0.3, 3: 0})
	// At the moment of the broadcast the commit (with its salt) must already
	// be in the file on disk.
	f.SetHook(func(m sdk.Msg, _ int64) error {
		if c, ok := m.(*scoringtypes.MsgCommitWeights); ok {
			bz, err := os.ReadFile(filepath.Join(home, CommitsFile))
			if err != nil {
				t.Errorf("commit broadcast before the pending file exists: %v", err)
				return nil
			}
			if !strings.Contains(string(bz), hex.EncodeToString(c.CommitHash)) {
				t.Errorf("commit %x broadcast before it was persisted", c.CommitHash)
			}
		}
		return nil
	}, false)
	step(t, f, s)
	pcs := store.List()
	if len(pcs) != 1 || pcs[0].Status != CommitIncluded || pcs[0].CommitBlock == 0 || pcs[0].RevealFrom == 0 {
		t.Fatalf("after one step: %+v", pcs)
	}
	if got := countMsgs[*scoringtypes.MsgCommitWeights](f.Sent()); got != 1 {
		t.Fatalf("%d commits sent", got)
	}
	// Nothing more this epoch: no second commit, no early reveal. (The
	// snapshot of block RevealFrom-1 is the first that shows the new epoch;
	// a tx sent then lands in RevealFrom.)
	for chainState(f).Height < pcs[0].RevealFrom-2 {
		step(t, f, s)
	}
	if got := countMsgs[*scoringtypes.MsgCommitWeights](f.Sent()); got != 1 {
		t.Fatalf("%d commits sent within one epoch", got)
	}
	if got := countMsgs[*scoringtypes.MsgRevealWeights](f.Sent()); got != 0 {
		t.Fatalf("revealed before the window")
	}
	// The window opens: reveal, then the next epoch's commit.
	step(t, f, s)
	if got := countMsgs[*scoringtypes.MsgRevealWeights](f.Sent()); got != 1 {
		t.Fatalf("%d reveals sent in the window", got)
	}
	row, ok := chainState(f).Weights[0]
	if !ok || row.SetAt != pcs[0].CommitBlock {
		t.Fatalf("weights row %+v, want set at commit block %d", row, pcs[0].CommitBlock)
	}
	if len(row.Uids) != 2 || row.Uids[0] != 1 || row.Values[0] != 65535 || row.Uids[1] != 2 {
		t.Fatalf("revealed %v %v", row.Uids, row.Values)
	}
	for _, pc := range store.List() {
		if pc.Hash == pcs[0].Hash {
			t.Fatalf("revealed commit still pending")
		}
	}
	if got := countMsgs[*scoringtypes.MsgCommitWeights](f.Sent()); got != 2 {
		t.Fatalf("%d commits after the second epoch began, want 2", got)
	}
}

func TestRestartRevealsPendingCommit(t *testing.T) {
	id := validatortest.NewIdentity(t, "val")
	f := newFakeChain(10, true, id, 2)
	home := t.TempDir()
	s1, _ := newSubmitter(t, f, id, home, map[uint16]float64{1: 1, 2: 0.5})
	step(t, f, s1)
	if len(chainState(f).Commits[id.Address()]) != 1 {
		t.Fatal("no commit on chain")
	}
	// A new process on the same home, with no scores at all: it must still
	// reveal what the first one committed.
	s2, store := newSubmitter(t, f, id, home, nil)
	for i := 0; i < 25 && countMsgs[*scoringtypes.MsgRevealWeights](f.Sent()) == 0; i++ {
		step(t, f, s2)
	}
	if countMsgs[*scoringtypes.MsgRevealWeights](f.Sent()) != 1 {
		t.Fatal("restarted submitter did not reveal")
	}
	if st := chainState(f); len(st.Weights[0].Uids) == 0 || len(store.List()) != 0 || len(st.Commits[id.Address()]) != 0 {
		t.Fatalf("weights %v, pending %v, on chain %v", st.Weights, store.List(), st.Commits)
	}
}

func TestCrashAfterBroadcastIsNotRecommitted(t *testing.T) {
	id := validatortest.NewIdentity(t, "val")
	f := newFakeChain(10, true, id, 2)
	home := t.TempDir()
	s1, store := newSubmitter(t, f, id, home, map[uint16]float64{1: 1})
	// The tx lands but its result is lost (inclusion timeout).
	f.SetHook(func(sdk.Msg, int64) error { return chain.ErrInclusionTimeout }, true)
	step(t, f, s1)
	f.SetHook(nil, false)
	pcs := store.List()
	if len(pcs) != 1 || pcs[0].Status != CommitIncluded {
		t.Fatalf("lost result not reconciled from the Commits query: %+v", pcs)
	}
	// Simulate a crash between persisting and seeing inclusion: mark it
	// broadcasting again, restart, and check that it is found, not resent.
	if err := store.Update(pcs[0].Hash, func(p *PendingCommit) { p.Status = CommitBroadcasting; p.CommitBlock = 0 }); err != nil {
		t.Fatal(err)
	}
	s2, store2 := newSubmitter(t, f, id, home, map[uint16]float64{1: 1})
	step(t, f, s2)
	if got := countMsgs[*scoringtypes.MsgCommitWeights](f.Sent()); got != 1 {
		t.Fatalf("commit sent %d times", got)
	}
	if pcs := store2.List(); len(pcs) != 1 || pcs[0].Status != CommitIncluded || pcs[0].CommitBlock == 0 {
		t.Fatalf("after restart: %+v", pcs)
	}
}

func TestUnincludedCommitRetriedSameHash(t *testing.T) {
	id := validatortest.NewIdentity(t, "val")
	f := newFakeChain(20, true, id, 2)
	s, store := newSubmitter(t, f, id, t.TempDir(), map[uint16]float64{1: 1})
	fails := 1
	f.SetHook(func(m sdk.Msg, _ int64) error {
		if _, ok := m.(*scoringtypes.MsgCommitWeights); ok && fails > 0 {
			fails--
			return errors.New("connection reset")
		}
		return nil
	}, false)
	step(t, f, s)
	pcs := store.List()
	if len(pcs) != 1 || pcs[0].Status != CommitBroadcasting {
		t.Fatalf("after a transient failure: %+v", pcs)
	}
	s.backoffs["commit"].Reset() // skip the wait
	step(t, f, s)
	after := store.List()
	if len(after) != 1 || after[0].Hash != pcs[0].Hash || after[0].Status != CommitIncluded {
		t.Fatalf("retry made another commit or failed: before %+v after %+v", pcs, after)
	}
}

func TestExpiredCommitDropped(t *testing.T) {
	id := validatortest.NewIdentity(t, "val")
	f := newFakeChain(10, true, id, 2)
	s, store := newSubmitter(t, f, id, t.TempDir(), map[uint16]float64{1: 1})
	step(t, f, s)
	if len(store.List()) != 1 {
		t.Fatal("no commit")
	}
	// The validator is offline for two epochs.
	f.Advance(25)
	s.cfg.Scores = func() map[uint16]float64 { return nil }
	s.Step(context.Background(), metagraph(t, f, id.Address()))
	if len(store.List()) != 0 {
		t.Fatalf("expired commit kept: %+v", store.List())
	}
	if countMsgs[*scoringtypes.MsgRevealWeights](f.Sent()) != 0 {
		t.Fatal("revealed an expired commit")
	}
}

func TestSetWeightsRespectsRateLimitAndEpoch(t *testing.T) {
	id := validatortest.NewIdentity(t, "val")
	f := newFakeChain(10, false, id, 2)
	f.Update(func(s *chaintest.State) { s.Subnet.Hyperparams.WeightsRateLimit = 15 }) // longer than an epoch
	s, store := newSubmitter(t, f, id, t.TempDir(), map[uint16]float64{1: 1, 2: 1})
	var heights []int64
	f.SetHook(func(m sdk.Msg, height int64) error {
		if _, ok := m.(*scoringtypes.MsgSetWeights); ok {
			heights = append(heights, height)
		}
		return nil
	}, false)
	for range 40 {
		step(t, f, s)
	}
	if len(heights) < 2 {
		t.Fatalf("set weights %d times in 40 blocks", len(heights))
	}
	for i := 1; i < len(heights); i++ {
		if heights[i]-heights[i-1] < 15 {
			t.Fatalf("sets at %v break the rate limit of 15", heights)
		}
	}
	if len(store.List()) != 0 || countMsgs[*scoringtypes.MsgCommitWeights](f.Sent()) != 0 {
		t.Fatal("commit-reveal used on a subnet without it")
	}
	for _, m := range f.Sent() {
		if _, ok := m.(*scoringtypes.MsgSetWeights); !ok {
			t.Fatalf("unexpected %T", m)
		}
	}
}

func TestNoPermitNoWeights(t *testing.T) {
	id := validatortest.NewIdentity(t, "val")
	f := newFakeChain(10, true, id, 2)
	f.Update(func(s *chaintest.State) { s.Neurons[0].Neuron.ValidatorPermit = false })
	s, _ := newSubmitter(t, f, id, t.TempDir(), map[uint16]float64{1: 1})
	for range 15 {
		step(t, f, s)
	}
	if len(f.Sent()) != 0 {
		t.Fatalf("sent %d messages without a permit", len(f.Sent()))
	}
}

func TestTxErrKind(t *testing.T) {
	cases := map[string]error{
		"rate_limited":       &chain.TxError{Codespace: "scoring", Code: 5, Log: "x"},
		"no_matching_commit": scoringtypes.ErrNoMatchingCommit.Wrap("x"),
		"reveal_window":      errors.New("chain: tx failed: outside the reveal window"),
		"inclusion_timeout":  chain.ErrInclusionTimeout,
		"error":              errors.New("boom"),
	}
	for want, err := range cases {
		if got := txErrKind(err); got != want {
			t.Errorf("%v: got %s want %s", err, got, want)
		}
	}
}

// TestFullDiskBacksOff: the pending-commits file becomes unwritable right
// after a commit was persisted and broadcast (a full disk). Snapshots keep
// arriving at 10 Hz; the submitter must retry its writes with backoff (not
// on every block), log the condition rarely, and never broadcast a commit
// it could not persist.
func TestFullDiskBacksOff(t *testing.T) {
	id := validatortest.NewIdentity(t, "val")
	f := newFakeChain(1000, true, id, 2)
	home := filepath.Join(t.TempDir(), "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	s, store := newSubmitter(t, f, id, home, map[uint16]float64{1: 1})
	core, logs := observer.New(zap.WarnLevel)
	s.cfg.Log = zap.New(core)
	var writes atomic.Int32
	// The commit lands but its result is lost, and the disk fills at that
	// moment: marking it included cannot be written.
	f.SetHook(func(m sdk.Msg, _ int64) error {
		if _, ok := m.(*scoringtypes.MsgCommitWeights); ok {
			// A file where the directory was: every write fails.
			if err := os.RemoveAll(home); err != nil {
				t.Error(err)
			}
			if err := os.WriteFile(home, nil, 0o600); err != nil {
				t.Error(err)
			}
			return chain.ErrInclusionTimeout
		}
		return nil
	}, true)
	store.onWrite = func() { writes.Add(1) }
	const steps, every = 30, 100 * time.Millisecond
	for range steps {
		step(t, f, s)
		time.Sleep(every)
	}
	// 3 s at 1 s, 2 s, 4 s … backoff: a handful of attempts, not 30.
	if n := writes.Load(); n > 5 {
		t.Fatalf("%d write attempts in %d snapshots over %s: no backoff", n, steps, steps*every)
	}
	if n := logs.Len(); n > 3 {
		t.Fatalf("%d warnings in %s: %v", n, steps*every, logs.All())
	}
	if got := countMsgs[*scoringtypes.MsgCommitWeights](f.Sent()); got != 1 {
		t.Fatalf("%d commits broadcast; the persisted one only", got)
	}
	// The disk is back: the next attempt records the inclusion.
	if err := os.Remove(home); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	s.backoffs["store"].Reset() // skip the wait
	step(t, f, s)
	if pcs := store.List(); len(pcs) != 1 || pcs[0].Status != CommitIncluded {
		t.Fatalf("after the disk recovered: %+v", pcs)
	}
}
