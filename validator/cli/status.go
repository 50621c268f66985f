package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"
	"go.uber.org/zap"

	"github.com/meritnet/merit/client/chain"
	"github.com/meritnet/merit/internal/daemon"
	"github.com/meritnet/merit/validator"
	"github.com/meritnet/merit/validator/miners"
	scoringtypes "github.com/meritnet/merit/x/scoring/types"
)

func outputFlag() cli.Flag {
	return &cli.StringFlag{Name: flagOutput, Aliases: []string{"o"}, EnvVars: daemon.EnvOf(flagOutput), Value: "text",
		Usage: "output `FORMAT`: text or json"}
}

func statusCommand(dial daemon.Dialer) *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show the last scores, pending commits and the next commit and reveal blocks",
		Description: "Reads the state a running (or stopped) validator keeps in --home and asks the chain for " +
			"the schedule. Works without the chain too, showing what is saved locally.",
		Flags:  append(nodeFlags(), outputFlag()),
		Before: daemon.ApplyConfigFile,
		Action: func(c *cli.Context) error { return runStatus(c, dial) },
	}
}

func weightsCommand(dial daemon.Dialer) *cli.Command {
	return &cli.Command{
		Name:  "weights",
		Usage: "inspect weights",
		Subcommands: []*cli.Command{{
			Name:   "show",
			Usage:  "show the weights the saved scores give now, the pending commits, and the weights stored on chain",
			Flags:  append(nodeFlags(), outputFlag()),
			Before: daemon.ApplyConfigFile,
			Action: func(c *cli.Context) error { return runWeightsShow(c, dial) },
		}},
	}
}

// StatusReport is the output of `status`.
type StatusReport struct {
	Hotkey          string                 `json:"hotkey"`
	Netuid          uint32                 `json:"netuid"`
	UID             int                    `json:"uid"`
	Permit          bool                   `json:"validator_permit"`
	Stake           string                 `json:"stake_umerit,omitempty"`
	Chain           *ChainSchedule         `json:"chain,omitempty"`
	ChainError      string                 `json:"chain_error,omitempty"`
	PendingCommits  []CommitStatus         `json:"pending_commits"`
	LastWeights     *validator.Submission  `json:"last_weights,omitempty"`
	Round           uint64                 `json:"round"`
	ScoresUpdatedAt *time.Time             `json:"scores_updated_at,omitempty"`
	Scores          []validator.MinerScore `json:"scores"`
}

// ChainSchedule is the subnet's schedule as the chain reports it.
type ChainSchedule struct {
	ChainID          string `json:"chain_id"`
	Height           int64  `json:"height"`
	Epoch            uint64 `json:"epoch"`
	LastEpochBlock   int64  `json:"last_epoch_block"`
	NextEpochBlock   int64  `json:"next_epoch_block"`
	Tempo            uint64 `json:"tempo"`
	CommitReveal     bool   `json:"commit_reveal"`
	RevealPeriod     uint64 `json:"reveal_period"`
	WeightsRateLimit uint64 `json:"weights_rate_limit"`
	LastUpdate       int64  `json:"last_update"`
	NextSubmitBlock  int64  `json:"next_submit_block"`
}

// CommitStatus is a pending commit and where it stands.
type CommitStatus struct {
	Hash            string `json:"hash"`
	Status          string `json:"status"`
	CommitBlock     int64  `json:"commit_block,omitempty"`
	CommitEpoch     uint64 `json:"commit_epoch,omitempty"`
	RevealFrom      int64  `json:"reveal_from,omitempty"`
	RevealUntil     int64  `json:"reveal_until,omitempty"`
	NextRevealBlock int64  `json:"next_reveal_block,omitempty"`
	State           string `json:"state"`
	Uids            int    `json:"uids"`
}

// WeightPreview is one entry of the vector the scores give now.
type WeightPreview struct {
	UID    uint32  `json:"uid"`
	Hotkey string  `json:"hotkey,omitempty"`
	Score  float64 `json:"score"`
	Weight uint32  `json:"weight"`
	Share  float64 `json:"share"`
}

// gather collects the local state and, when the chain answers, its view;
// it also returns this hotkey's pending commits on the subnet. onChain, if
// set, runs while the chain is connected and the metagraph was read.
func gather(c *cli.Context, dial daemon.Dialer, onChain func(context.Context, chain.Chain, *validator.Metagraph)) (*StatusReport, *validator.Metagraph, []validator.PendingCommit, error) {
	netuid, err := netuidOf(c)
	if err != nil {
		return nil, nil, nil, err
	}
	home, err := daemon.HomeDir(c)
	if err != nil {
		return nil, nil, nil, err
	}
	st, err := validator.LoadState(home)
	if err != nil {
		return nil, nil, nil, err
	}
	store, err := validator.OpenCommitStore(home)
	if err != nil {
		return nil, nil, nil, err
	}
	rep := &StatusReport{Netuid: netuid, UID: -1, PendingCommits: []CommitStatus{}, Scores: []validator.MinerScore{}}
	if id, err := daemon.LoadHotkey(c); err == nil {
		rep.Hotkey = id.Address()
	} else if st != nil && st.Hotkey != "" {
		rep.Hotkey = st.Hotkey // the keyring may be locked; the saved state names the hotkey
	} else {
		return nil, nil, nil, err
	}
	if st != nil && st.Netuid == netuid && st.Hotkey == rep.Hotkey {
		rep.Round, rep.Scores, rep.LastWeights = st.Round, st.Scores, st.LastWeights
		t := st.UpdatedAt
		rep.ScoresUpdatedAt = &t
	}
	ctx, cancel := context.WithTimeout(c.Context, 15*time.Second)
	defer cancel()
	var mg *validator.Metagraph
	if ch, err := dial(ctx, daemon.ChainConfig(c)); err != nil {
		rep.ChainError = err.Error()
	} else {
		defer ch.Close()
		s := validator.NewSyncer(ch, netuid, rep.Hotkey, 0, zap.NewNop(), nil)
		if mg, err = s.Refresh(ctx); err != nil {
			rep.ChainError = err.Error()
		} else {
			h := mg.Hyperparams()
			rep.Chain = &ChainSchedule{ChainID: ch.ChainID(), Height: mg.Height, Epoch: mg.Epoch, LastEpochBlock: mg.LastEpochBlock,
				NextEpochBlock: mg.NextEpochBlock, Tempo: h.Tempo, CommitReveal: h.CommitRevealEnabled, RevealPeriod: h.RevealPeriod,
				WeightsRateLimit: h.WeightsRateLimit, NextSubmitBlock: validator.NextSubmitBlock(mg)}
			rep.UID, rep.Permit = mg.SelfUID(), mg.HasPermit()
			if mg.Self != nil {
				rep.Stake = mg.Self.Stake.String()
				rep.Chain.LastUpdate = mg.Self.Neuron.LastUpdate
			}
			if onChain != nil {
				onChain(ctx, ch, mg)
			}
		}
	}
	var mine []validator.PendingCommit
	for _, pc := range store.List() {
		if pc.Netuid != netuid || pc.Hotkey != rep.Hotkey {
			continue
		}
		mine = append(mine, pc)
		rep.PendingCommits = append(rep.PendingCommits, commitStatus(pc, mg))
	}
	return rep, mg, mine, nil
}

// commitStatus says where a commit stands at the snapshot (nil: unknown).
func commitStatus(pc validator.PendingCommit, mg *validator.Metagraph) CommitStatus {
	cs := CommitStatus{Hash: pc.Hash, Status: pc.Status, CommitBlock: pc.CommitBlock, CommitEpoch: pc.CommitEpoch,
		RevealFrom: pc.RevealFrom, RevealUntil: pc.RevealUntil, Uids: len(pc.Uids), State: "unknown (chain unreachable)"}
	if pc.Status == validator.CommitBroadcasting {
		cs.State = "broadcast, inclusion not yet seen"
		return cs
	}
	cs.NextRevealBlock = pc.RevealFrom
	if mg == nil {
		return cs
	}
	due := pc.CommitEpoch + mg.Hyperparams().RevealPeriod
	switch {
	case mg.Epoch < due:
		cs.State = fmt.Sprintf("waiting for epoch %d (now %d)", due, mg.Epoch)
	case mg.Epoch == due:
		cs.State = "reveal window open"
		cs.NextRevealBlock = mg.Height + 1
	default:
		cs.State = "expired"
		cs.NextRevealBlock = 0
	}
	return cs
}

func runStatus(c *cli.Context, dial daemon.Dialer) error {
	rep, _, _, err := gather(c, dial, nil)
	if err != nil {
		return err
	}
	if c.String(flagOutput) == "json" {
		return writeJSON(c.App.Writer, rep)
	}
	return printStatus(c.App.Writer, rep)
}

func printStatus(w io.Writer, r *StatusReport) error {
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	uid := "unregistered"
	if r.UID >= 0 {
		uid = fmt.Sprint(r.UID)
	}
	fmt.Fprintf(tw, "validator\t%s\tuid %s\tpermit %s\n", r.Hotkey, uid, yesNo(r.Permit))
	if r.Chain != nil {
		ch := r.Chain
		mode := "set weights directly"
		if ch.CommitReveal {
			mode = fmt.Sprintf("commit-reveal, reveal period %d epoch(s)", ch.RevealPeriod)
		}
		fmt.Fprintf(tw, "chain\t%s\theight %d\tepoch %d\n", ch.ChainID, ch.Height, ch.Epoch)
		fmt.Fprintf(tw, "subnet\t%d\ttempo %d\t%s, rate limit %d blocks\n", r.Netuid, ch.Tempo, mode, ch.WeightsRateLimit)
		fmt.Fprintf(tw, "schedule\tnext epoch at block %d\tlast submission at block %d\tnext submission at block %d\n",
			ch.NextEpochBlock, ch.LastUpdate, ch.NextSubmitBlock)
	} else {
		fmt.Fprintf(tw, "chain\tunreachable: %s\n", r.ChainError)
	}
	if r.LastWeights != nil {
		fmt.Fprintf(tw, "last weights\t%s at block %d\t%d uids\t%s\n", r.LastWeights.Kind, r.LastWeights.Height,
			len(r.LastWeights.Uids), r.LastWeights.At.Format(time.RFC3339))
	}
	tw.Flush()
	fmt.Fprintf(w, "\npending commits: %d\n", len(r.PendingCommits))
	if len(r.PendingCommits) > 0 {
		tw = tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
		fmt.Fprintln(tw, "  HASH\tSTATUS\tCOMMIT BLOCK\tREVEAL FROM\tREVEAL UNTIL\tNEXT REVEAL\tSTATE")
		for _, p := range r.PendingCommits {
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%d\t%d\t%s\n", shortHash(p.Hash), p.Status, p.CommitBlock, p.RevealFrom,
				p.RevealUntil, p.NextRevealBlock, p.State)
		}
		tw.Flush()
	}
	when := "never"
	if r.ScoresUpdatedAt != nil {
		when = r.ScoresUpdatedAt.Format(time.RFC3339)
	}
	fmt.Fprintf(w, "\nscores after round %d (saved %s):\n", r.Round, when)
	tw = tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "  UID\tHOTKEY\tSCORE\tLAST ROUND\tTTFT\tTOK/S\tLAST RESULT")
	for _, s := range r.Scores {
		res := s.LastResult
		if s.LastReason != "" && s.LastResult != miners.ResultOK {
			res = strings.TrimPrefix(res+": "+s.LastReason, ": ")
		}
		fmt.Fprintf(tw, "  %d\t%s\t%.4f\t%.4f\t%.0f ms\t%.1f\t%s\n", s.UID, s.Hotkey, s.Score, s.LastRound, s.TTFTMillis, s.TPS, res)
	}
	return tw.Flush()
}

func runWeightsShow(c *cli.Context, dial daemon.Dialer) error {
	out := weightsReport{PendingCommits: []validator.PendingCommit{}}
	storedRow := func(ctx context.Context, ch chain.Chain, mg *validator.Metagraph) {
		if mg.Self == nil {
			return
		}
		row, err := ch.Weights(ctx, mg.Netuid, mg.Self.Neuron.Uid)
		if err != nil {
			out.OnChainError = err.Error()
			return
		}
		out.OnChain = &onChainWeights{Uids: row.Uids, Values: row.Values, SetAt: row.SetAt}
	}
	rep, mg, mine, err := gather(c, dial, storedRow)
	if err != nil {
		return err
	}
	for _, pc := range mine {
		pc.Salt = "(hidden until revealed)"
		out.PendingCommits = append(out.PendingCommits, pc)
	}
	out.Preview, out.PreviewError = previewWeights(rep.Scores, mg)
	if c.String(flagOutput) == "json" {
		return writeJSON(c.App.Writer, out)
	}
	printWeights(c.App.Writer, rep, &out)
	return nil
}

// weightsReport is what `weights show` reports.
type weightsReport struct {
	Preview        []WeightPreview           `json:"preview"`
	PreviewError   string                    `json:"preview_error,omitempty"`
	PendingCommits []validator.PendingCommit `json:"pending_commits"`
	OnChain        *onChainWeights           `json:"on_chain,omitempty"`
	OnChainError   string                    `json:"on_chain_error,omitempty"`
}

// onChainWeights is the validator's weight row as the chain stores it.
type onChainWeights struct {
	Uids   []uint32 `json:"uids"`
	Values []uint32 `json:"values"`
	SetAt  int64    `json:"set_at"`
}

// previewWeights normalizes the saved scores as the validator would submit
// them now: under the subnet's rules when the chain answered (mg), else
// bare, with a note saying so.
func previewWeights(saved []validator.MinerScore, mg *validator.Metagraph) (preview []WeightPreview, note string) {
	scores := map[uint16]float64{}
	hotkeys := map[uint16]string{}
	for _, s := range saved {
		scores[s.UID], hotkeys[s.UID] = s.Score, s.Hotkey
	}
	var lim validator.WeightLimits
	if mg != nil {
		lim = mg.Limits()
	} else {
		// Without the chain: the bare normalization, no subnet rules.
		lim = validator.WeightLimits{Self: -1, MaxWeightLimit: scoringtypes.U16Max}
		for uid := range scores {
			lim.N = max(lim.N, uint32(uid)+1)
		}
		note = "chain unreachable; shown without the subnet's min_allowed_weights and max_weight_limit"
	}
	uids, ws, err := validator.NormalizeWeights(scores, lim)
	if err != nil {
		return nil, err.Error()
	}
	var sum float64
	for _, w := range ws {
		sum += float64(w)
	}
	for i, u := range uids {
		preview = append(preview, WeightPreview{UID: u, Hotkey: hotkeys[uint16(u)], Score: scores[uint16(u)],
			Weight: ws[i], Share: float64(ws[i]) / sum})
	}
	return preview, note
}

// printWeights writes the report for people.
func printWeights(w io.Writer, rep *StatusReport, out *weightsReport) {
	fmt.Fprintf(w, "weights the saved scores give now (validator %s, subnet %d):\n", rep.Hotkey, rep.Netuid)
	if out.PreviewError != "" {
		fmt.Fprintf(w, "  note: %s\n", out.PreviewError)
	}
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "  UID\tHOTKEY\tSCORE\tWEIGHT\tSHARE")
	for _, p := range out.Preview {
		fmt.Fprintf(tw, "  %d\t%s\t%.4f\t%d\t%.2f%%\n", p.UID, p.Hotkey, p.Score, p.Weight, 100*p.Share)
	}
	tw.Flush()
	fmt.Fprintf(w, "\npending commits: %d\n", len(out.PendingCommits))
	for _, pc := range out.PendingCommits {
		fmt.Fprintf(w, "  %s %s commit block %d, reveal %d..%d: uids %v weights %v\n", shortHash(pc.Hash), pc.Status,
			pc.CommitBlock, pc.RevealFrom, pc.RevealUntil, pc.Uids, pc.Weights)
	}
	switch {
	case out.OnChain != nil:
		fmt.Fprintf(w, "\non chain (set at block %d): uids %v values %v\n", out.OnChain.SetAt, out.OnChain.Uids, out.OnChain.Values)
	case out.OnChainError != "":
		fmt.Fprintf(w, "\non chain: %s\n", out.OnChainError)
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func shortHash(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}
